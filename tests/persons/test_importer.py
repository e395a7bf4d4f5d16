from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.errors import Forbidden, Invalid
from phongdich.persons.documents import parse_document
from phongdich.persons.importer import COLUMNS, import_persons
from phongdich.persons.models import Household, Person
from phongdich.persons.service import document_owner
from tests.factories import (
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    audit_entries,
    cccd,
    make_person,
    make_user,
)

ADMIN = system_actor("tests")
HEADER = ",".join(COLUMNS)


def csv(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def person_of(session: Session, number: str) -> Person:
    person = document_owner(session, parse_document(number))
    assert person is not None
    return person


def count(session: Session, model: type[Person] | type[Household]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_good_rows_are_kept_and_bad_rows_reported_with_line_and_reason(session: Session) -> None:
    a, b = cccd(born=1980), cccd(sex="female", born=1992)
    source = csv(
        f"{a},Nguyễn Văn Hải,12/03/1980,Nam,0912 111 222,{PHUC_XA},Số 3 Hòe Nhai,HX-1",
        f"{cccd()},Lê Văn Sai,30/02/1985,Nam,,{PHUC_XA},,",
        f"{b},Trần Thị Mai,1992,Nữ,,{TRUC_BACH},Số 4 Trúc Bạch,",
        f"{cccd()},Phạm Văn Khách,1985,Nam,,99999,,",
        f"{cccd()},Vũ Văn Số,1985,Nam,12345,{PHUC_XA},,",
        f"12345,Đỗ Văn Thiếu,1985,Nam,,{PHUC_XA},,",
        f"{cccd()},,1985,Nam,,{PHUC_XA},,",
        f"{cccd()},{'A' * 201},1985,Nam,,{PHUC_XA},,",
        f"{cccd(born=1985)},Hồ Văn Lệch,1986,Nam,,{PHUC_XA},,",
    )
    report = import_persons(session=session, actor=ADMIN, source=source)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "birth_date"),
        (5, "unit_code"),
        (6, "phone"),
        (7, "document_number"),
        (8, "full_name"),
        (9, "full_name"),
        (10, "birth_date"),
    ]
    assert report.errors[0].reason == "30/02/1985 is not a real date"
    assert report.errors[1].reason == "no admin unit with code 99999"
    assert "at most 200 characters" in report.errors[5].reason
    assert report.errors[6].reason == "the CCCD number says born in 1985"
    hai = person_of(session, a)
    assert (hai.full_name, hai.birth_date, hai.sex, hai.phone) == (
        "Nguyễn Văn Hải",
        date(1980, 3, 12),
        "male",
        "0912111222",
    )
    assert (hai.permanent_unit_code, hai.permanent_address, hai.household_code) == (
        PHUC_XA,
        "Số 3 Hòe Nhai",
        "HX-1",
    )
    mai = person_of(session, b)
    assert (mai.birth_date, mai.birth_year, mai.household_id) == (None, 1992, None)
    details = {e.object_id: e.detail for e in audit_entries(session, action="import")}
    assert details == {
        str(hai.id): "created by resident-list import",
        str(mai.id): "created by resident-list import",
    }
    assert report.as_dict()["rejected"] == 7


def test_re_importing_the_same_file_changes_nothing(session: Session) -> None:
    source = csv(
        f"{cccd(born=1980)},Nguyễn Văn Hải,1980-01-01,male,0912111222,{PHUC_XA},Số 3,HX-2",
        f"{cccd(sex='female')},Trần Thị Mai,,female,,{PHUC_XA},Số 3,HX-2",
        "B7654321,John Smith,,,,,,",  # a passport without nationality: rejected both times
    )
    first = import_persons(session=session, actor=ADMIN, source=source)
    assert (first.created, len(first.errors)) == (2, 1)
    persons, households = count(session, Person), count(session, Household)
    entries = len(audit_entries(session))
    again = import_persons(session=session, actor=ADMIN, source=source.encode())
    assert (again.created, again.updated, again.unchanged, len(again.errors)) == (0, 0, 2, 1)
    assert (count(session, Person), count(session, Household)) == (persons, households)
    assert len(audit_entries(session)) == entries


def test_a_changed_row_updates_only_what_it_gives(session: Session) -> None:
    person = make_person(session, phone="0911000001", household_code=None)
    number = person.documents[0].number
    report = import_persons(
        session=session,
        actor=ADMIN,
        source=csv(f"{number},Nguyễn Văn An,,,0911000002,,,"),
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert (person.phone, person.permanent_address, person.birth_date) == (
        "0911000002",
        "Số 1 phố Hòe Nhai",
        date(1985, 4, 2),
    )
    [entry] = audit_entries(session, action="import", object_id=person.id)
    assert entry.detail == "updated by resident-list import"


def test_an_existing_person_joins_a_household_new_in_the_file(session: Session) -> None:
    person = make_person(session)
    number = person.documents[0].number
    newcomer = cccd(sex="female", born=1990)
    report = import_persons(
        session=session,
        actor=ADMIN,
        source=csv(
            f"{number},Nguyễn Văn An,,,,,,HX-NEW",
            f"{newcomer},Lê Thị Hoa,1990,Nữ,,{PHUC_XA},Số 9,HX-NEW",
        ),
    )
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    session.refresh(person)
    hoa = person_of(session, newcomer)
    assert person.household_code == "HX-NEW"
    assert person.household_id == hoa.household_id
    assert session.scalar(select(func.count()).where(Household.code == "HX-NEW")) == 1


def test_a_household_shared_by_rows_and_one_already_stored(session: Session) -> None:
    make_person(session, household_code="HX-OLD")
    rows = [
        f"{cccd(born=1970 + i)},Ngô Văn Tám,{1970 + i},Nam,,{PHUC_XA},,HX-OLD" for i in range(3)
    ]
    report = import_persons(session=session, actor=ADMIN, source=csv(*rows))
    assert report.created == 3
    members = session.scalar(
        select(func.count())
        .select_from(Person)
        .join(Household, Household.id == Person.household_id)
        .where(Household.code == "HX-OLD")
    )
    assert members == 4


def test_duplicate_rows_in_one_file(session: Session) -> None:
    number = cccd()
    report = import_persons(
        session=session,
        actor=ADMIN,
        source=csv(
            f"{number},Nguyễn Văn An,1985,Nam,,{PHUC_XA},,",
            f"{number},Nguyễn  Văn An,1985,male,,{PHUC_XA},,",
            f"{number},Nguyễn Văn Bình,1985,Nam,,{PHUC_XA},,",
        ),
    )
    assert (report.created, report.unchanged) == (1, 1)
    assert [(e.line, e.field, e.reason) for e in report.errors] == [
        (4, "document_number", "the same document is on line 2 with other details")
    ]
    assert person_of(session, number).full_name == "Nguyễn Văn An"


def test_optional_columns_temporary_residence_and_passports(session: Session) -> None:
    header = HEADER + ",residence,nationality"
    report = import_persons(
        session=session,
        actor=ADMIN,
        source=csv(
            f"{cccd()},Đinh Văn Trú,1985,Nam,,{TAN_DINH},Phòng 12,,tạm trú,",
            f"P9876543,Anna Müller,1990-02-03,female,,{PHUC_XA},Khách sạn,,temporary,deu",
            header=header,
        ),
    )
    assert (report.created, report.errors) == (2, [])
    anna = document_owner(session, parse_document("P9876543", nationality="DEU"))
    assert anna is not None
    assert (anna.temporary_unit_code, anna.temporary_address, anna.permanent_unit_code) == (
        PHUC_XA,
        "Khách sạn",
        None,
    )
    assert anna.nationality == "DEU"


def test_semicolons_bom_and_a_file_path(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    text = csv(f"{cccd()};Mai Văn Hùng;1985;Nam;;{PHUC_XA};;", header=HEADER.replace(",", ";"))
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    report = import_persons(session=session, actor=ADMIN, source=path)
    assert (report.created, report.errors) == (1, [])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (b"", "empty file"),
        (b"document_number,full_name\n1,2\n", "missing columns: birth_date, sex"),
        ("document_number,full_name\nĐào".encode("utf-16"), "not UTF-8"),
    ],
)
def test_bad_files_are_refused_whole(session: Session, source: bytes, reason: str) -> None:
    with pytest.raises(Invalid) as exc:
        import_persons(session=session, actor=ADMIN, source=source)
    assert exc.value.field == "file"
    assert reason in exc.value.reason


def test_a_missing_file_is_invalid_not_a_crash(session: Session, tmp_path: Path) -> None:
    with pytest.raises(Invalid) as exc:
        import_persons(session=session, actor=ADMIN, source=tmp_path / "nope.csv")
    assert exc.value.field == "file"
    assert "No such file" in exc.value.reason


def test_officers_import_only_their_own_people(session: Session) -> None:
    outsider = make_person(session, permanent_unit_code=TRUC_BACH)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    report = import_persons(
        session=session,
        actor=officer,
        source=csv(
            f"{cccd()},Hà Văn Một,1985,Nam,,{PHUC_XA},,",
            f"{cccd()},Hà Văn Hai,1985,Nam,,{TRUC_BACH},,",
            f"{outsider.documents[0].number},Nguyễn Văn An,1985,Nam,,{PHUC_XA},,",
        ),
    )
    assert report.created == 1
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "unit_code"),
        (4, "document_number"),
    ]
    assert "outside your jurisdiction" in report.errors[1].reason
    assert outsider.permanent_unit_code == TRUC_BACH


@pytest.mark.parametrize("role", [Role.CHECKPOINT_OFFICER, Role.SAMPLING_STAFF])
def test_roles_without_import_permission(session: Session, role: Role) -> None:
    _, actor = make_user(session, role, PHUC_XA)
    with pytest.raises(Forbidden):
        import_persons(session=session, actor=actor, source=csv())
