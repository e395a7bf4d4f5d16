from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from phongdich.persons import service
from phongdich.persons.models import Household, IdentityDocument, Person
from phongdich.persons.schemas import DocumentInput, PersonUpdate
from tests.factories import (
    BA_DINH,
    HA_NOI,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    audit_entries,
    cccd,
    make_person,
    make_user,
    person_input,
)

ADMIN = system_actor("tests")


def count_persons(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def test_register_normalises_and_audits(session: Session) -> None:
    number = cccd(sex="female", born=1990)
    data = person_input(
        document_number=f" {number[:3]} {number[3:]} ",
        full_name="  trần   Thị  Bình ",
        sex="Nữ",
        born=date(1990, 5, 6),
        phone="+84 912 000 111",
        household_code="HB-01",
    )
    person, created = service.register_person(session=session, actor=ADMIN, data=data)
    assert created
    assert (person.full_name, person.name_folded) == ("trần Thị Bình", "tran thi binh")
    assert (person.birth_date, person.birth_year, person.sex) == (date(1990, 5, 6), 1990, "female")
    assert (person.phone, person.nationality, person.unit_code) == ("0912000111", "VNM", PHUC_XA)
    assert person.address_folded == "so 1 pho hoe nhai"
    assert [(d.kind, d.number) for d in person.documents] == [("cccd", number)]
    assert person.household_code == "HB-01"
    assert person.household is not None
    assert person.household.unit_code == PHUC_XA
    [entry] = audit_entries(session, action="create", object_id=person.id)
    assert (entry.object_type, entry.unit_code, entry.detail) == ("person", PHUC_XA, "")


def test_register_the_same_document_again_returns_the_same_person(session: Session) -> None:
    data = person_input()
    first, created = service.register_person(session=session, actor=ADMIN, data=data)
    before = count_persons(session)
    again, created_again = service.register_person(
        session=session, actor=ADMIN, data=data.model_copy(update={"phone": "0999999999"})
    )
    assert (created, created_again, again.id) == (True, False, first.id)
    assert count_persons(session) == before
    assert again.phone == first.phone
    assert len(audit_entries(session, action="create", object_id=first.id)) == 1


def test_passport_and_year_only_birth(session: Session) -> None:
    person = make_person(
        session,
        document_number="m12345678",
        nationality="kor",
        full_name="Kim Min Jun",
        birth_date="1979",
        sex=None,
        phone=None,
    )
    assert [(d.kind, d.number, d.nationality) for d in person.documents] == [
        ("passport", "M12345678", "KOR")
    ]
    assert (person.nationality, person.birth_date, person.birth_year, person.sex) == (
        "KOR",
        None,
        1979,
        None,
    )


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"document_number": ""}, "document_number", "required"),
        ({"document_number": "12345"}, "document_number", "a CCCD has 12 digits"),
        ({"document_number": "999085012345"}, "document_number", "province code"),
        ({"document_number": "B1234567"}, "nationality", "required with a passport"),
        ({"full_name": " "}, "full_name", "required"),
        ({"full_name": "An2"}, "full_name", "no digits"),
        ({"birth_date": "30/02/1985"}, "birth_date", "not a real date"),
        ({"birth_date": "1986-01-01"}, "birth_date", "the CCCD number says born in 1985"),
        ({"sex": "khác"}, "sex", "male or female"),
        ({"phone": "12345"}, "phone", "10 digits"),
        ({"permanent_unit_code": "99999"}, "permanent_unit_code", "no admin unit with code"),
        ({"temporary_unit_code": "99999"}, "temporary_unit_code", "no admin unit with code"),
        # Hangul folds into two or three letters a syllable: longer than the search column.
        ({"full_name": "김" * 150}, "full_name", "too long"),
        ({"permanent_address": "서울" * 100}, "permanent_address", "too long"),
    ],
)
def test_register_rejects_bad_input(
    session: Session, overrides: dict[str, object], field: str, reason: str
) -> None:
    before = count_persons(session)
    with pytest.raises(Invalid) as exc:
        make_person(session, None, **overrides)
    assert exc.value.field == field
    assert reason in exc.value.reason
    assert count_persons(session) == before


def test_cccd_sex_must_match(session: Session) -> None:
    with pytest.raises(Invalid) as exc:
        make_person(session, document_number=cccd(sex="male", born=1985), sex="female")
    assert (exc.value.field, exc.value.reason) == ("sex", "the CCCD number says male")


def test_officers_register_only_people_of_their_jurisdiction(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert make_person(session, officer, permanent_unit_code=PHUC_XA).unit_code == PHUC_XA
    staying = make_person(
        session, officer, permanent_unit_code=TAN_DINH, temporary_unit_code=PHUC_XA
    )
    assert staying.unit_code == PHUC_XA
    with pytest.raises(Invalid) as exc:
        make_person(session, officer, permanent_unit_code=TRUC_BACH)
    assert exc.value.field == "permanent_unit_code"
    assert "your jurisdiction" in exc.value.reason
    with pytest.raises(Invalid):
        make_person(session, officer, permanent_unit_code=None)


def test_re_registering_someone_outside_the_jurisdiction_is_a_conflict(session: Session) -> None:
    elsewhere = make_person(session, permanent_unit_code=TRUC_BACH)
    number = elsewhere.documents[0].number
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(Conflict, match="outside your jurisdiction"):
        make_person(session, officer, document_number=number, permanent_unit_code=PHUC_XA)


@pytest.mark.parametrize("role", [Role.CHECKPOINT_OFFICER, Role.LAB_TECHNICIAN, Role.VENUE_MANAGER])
def test_roles_without_write_may_not_register(session: Session, role: Role) -> None:
    _, actor = make_user(session, role, PHUC_XA)
    with pytest.raises(Forbidden):
        make_person(session, actor)


def test_get_person_follows_the_subtree(session: Session) -> None:
    person = make_person(session, permanent_unit_code=PHUC_XA)
    for role, unit in (
        (Role.COMMUNE_OFFICER, PHUC_XA),
        (Role.DISTRICT_OFFICER, BA_DINH),
        (Role.PROVINCE_OFFICER, HA_NOI),
        (Role.CHECKPOINT_OFFICER, PHUC_XA),
    ):
        _, actor = make_user(session, role, unit)
        assert service.get_person(session=session, actor=actor, person_id=person.id) is person
    for role, unit in (
        (Role.COMMUNE_OFFICER, TRUC_BACH),
        (Role.PROVINCE_OFFICER, "79"),
        (Role.LAB_TECHNICIAN, PHUC_XA),
        (Role.VENUE_MANAGER, PHUC_XA),
    ):
        _, actor = make_user(session, role, unit)
        with pytest.raises(NotFound, match=f"person {person.id} not found"):
            service.get_person(session=session, actor=actor, person_id=person.id)


def test_get_person_unknown_id(session: Session) -> None:
    with pytest.raises(NotFound):
        service.get_person(session=session, actor=ADMIN, person_id=uuid.uuid4())


def test_a_citizen_sees_only_themselves(session: Session) -> None:
    me = make_person(session)
    other = make_person(session, full_name="Lê Văn Cường")
    _, citizen = make_user(session, Role.CITIZEN, person_id=me.id)
    assert service.get_person(session=session, actor=citizen, person_id=me.id) is me
    with pytest.raises(NotFound):
        service.get_person(session=session, actor=citizen, person_id=other.id)
    with pytest.raises(Forbidden):
        service.search_persons(session=session, actor=citizen, query="le van cuong")


def test_get_person_writes_a_read_entry(session: Session) -> None:
    person = make_person(session)
    user, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    service.get_person(session=session, actor=officer, person_id=person.id)
    service.get_person(session=session, actor=officer, person_id=person.id, audit_read=False)
    session.flush()
    [entry] = audit_entries(session, action="read", object_id=person.id)
    assert (entry.username, entry.user_id, entry.unit_code, entry.origin) == (
        user.username,
        user.id,
        PHUC_XA,
        "tests",
    )


def test_find_by_document(session: Session) -> None:
    person = make_person(session, permanent_unit_code=TRUC_BACH)
    number = person.documents[0].number
    assert service.find_by_document(session=session, actor=ADMIN, number=number) is person
    session.flush()
    [entry] = audit_entries(session, action="read", object_id=person.id)
    assert entry.detail == "lookup by document"
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        service.find_by_document(session=session, actor=officer, number=number)
    with pytest.raises(NotFound):
        service.find_by_document(session=session, actor=ADMIN, number=cccd())
    with pytest.raises(Invalid) as exc:
        service.find_by_document(session=session, actor=ADMIN, number="12")
    assert exc.value.field == "document_number"


def test_search_by_name_document_and_phone(session: Session) -> None:
    an = make_person(session, full_name="Nguyễn Văn Ánh", phone="0912000222")
    binh = make_person(session, full_name="Trần Văn Bình", phone="0912000333")
    passport = make_person(
        session, document_number="C7654321", nationality="USA", full_name="John Smith", phone=None
    )

    def found(query: str) -> list[uuid.UUID]:
        people, total = service.search_persons(session=session, actor=ADMIN, query=query)
        assert total == len(people)
        return [p.id for p in people]

    assert found("nguyen van anh") == [an.id]
    assert found("VĂN") == [an.id, binh.id]
    assert found(an.documents[0].number) == [an.id]
    assert found("+84 912 000 333") == [binh.id]
    assert found("0912000333") == [binh.id]
    assert found("c7654321") == [passport.id]
    assert found("nobody at all") == []


def test_search_is_scoped_paged_and_audited_with_masked_digits(session: Session) -> None:
    here = [make_person(session, full_name=f"Phạm Văn {n}") for n in ("An", "Ba", "Ca")]
    make_person(session, full_name="Phạm Văn Da", permanent_unit_code=TRUC_BACH)
    user, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    people, total = service.search_persons(
        session=session, actor=officer, query="pham van", limit=2, offset=1
    )
    assert total == 3
    assert [p.id for p in people] == [here[1].id, here[2].id]
    only_unit, total = service.search_persons(
        session=session, actor=ADMIN, query="pham van", unit_code=TRUC_BACH
    )
    assert (total, [p.full_name for p in only_unit]) == (1, ["Phạm Văn Da"])
    number = here[0].documents[0].number
    service.search_persons(session=session, actor=officer, query=number)
    session.flush()
    entries = [e for e in audit_entries(session, action="search") if e.username == user.username]
    assert [e.detail for e in entries] == [
        "q='pham van' results=3 shown=2",
        f"q='{number[:3]}{'*' * 7}{number[-2:]}' results=1 shown=1",
    ]
    assert all(number not in e.detail for e in entries)


def test_update_person_changes_fields_and_audits_their_names(session: Session) -> None:
    person = make_person(session)
    user, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    updated = service.update_person(
        session=session,
        actor=officer,
        person_id=person.id,
        data=PersonUpdate(
            full_name="Nguyễn Văn Anh", phone="0987 654 321", temporary_address="Nhà trọ 5"
        ),
    )
    assert (updated.full_name, updated.name_folded, updated.phone) == (
        "Nguyễn Văn Anh",
        "nguyen van anh",
        "0987654321",
    )
    assert updated.address_folded == "nha tro 5"
    [entry] = audit_entries(session, action="update", object_id=person.id)
    assert entry.detail == "fields=full_name,phone,temporary_address"
    assert entry.username == user.username


def test_update_without_changes_writes_nothing(session: Session) -> None:
    person = make_person(session)
    service.update_person(
        session=session, actor=ADMIN, person_id=person.id, data=PersonUpdate(sex="Nam")
    )
    assert audit_entries(session, action="update", object_id=person.id) == []


def test_update_can_clear_optional_fields(session: Session) -> None:
    person = make_person(session, temporary_unit_code=TRUC_BACH, temporary_address="Nhà trọ")
    service.update_person(
        session=session,
        actor=ADMIN,
        person_id=person.id,
        data=PersonUpdate(
            phone="", permanent_address="", temporary_unit_code=None, temporary_address=""
        ),
    )
    assert (person.phone, person.permanent_address, person.temporary_unit_code) == (None, "", None)
    assert person.temporary_address == ""
    assert person.address_folded == ""


def test_update_keeps_what_is_not_given(session: Session) -> None:
    person = make_person(session, document_number="P1234567", nationality="FRA", sex="female")
    service.update_person(
        session=session, actor=ADMIN, person_id=person.id, data=PersonUpdate(full_name=None)
    )
    service.update_person(
        session=session, actor=ADMIN, person_id=person.id, data=PersonUpdate(phone="0911111111")
    )
    assert (person.full_name, person.sex, person.birth_date, person.nationality) == (
        "Nguyễn Văn An",
        "female",
        date(1985, 4, 2),
        "FRA",
    )
    assert person.phone == "0911111111"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"full_name": ""}, "full_name", "required"),
        ({"birth_date": "1990"}, "birth_date", "the CCCD number says born in 1985"),
        ({"sex": "female"}, "sex", "the CCCD number says male"),
        ({"phone": "123"}, "phone", "10 digits"),
        ({"permanent_unit_code": "nope"}, "permanent_unit_code", "no admin unit"),
    ],
)
def test_update_rejects_bad_input(
    session: Session, change: dict[str, str], field: str, reason: str
) -> None:
    person = make_person(session)
    with pytest.raises(Invalid) as exc:
        service.update_person(
            session=session, actor=ADMIN, person_id=person.id, data=PersonUpdate(**change)
        )
    assert exc.value.field == field
    assert reason in exc.value.reason
    assert person.full_name == "Nguyễn Văn An"


def test_officers_update_only_inside_and_may_not_move_people_out(session: Session) -> None:
    here = make_person(session, permanent_unit_code=PHUC_XA)
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        service.update_person(
            session=session, actor=officer, person_id=there.id, data=PersonUpdate(phone=None)
        )
    with pytest.raises(Invalid) as exc:
        service.update_person(
            session=session,
            actor=officer,
            person_id=here.id,
            data=PersonUpdate(permanent_unit_code=TRUC_BACH),
        )
    assert exc.value.field == "permanent_unit_code"
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    with pytest.raises(Forbidden):
        service.update_person(
            session=session, actor=checkpoint, person_id=here.id, data=PersonUpdate(phone=None)
        )


def test_update_household_join_and_leave(session: Session) -> None:
    person = make_person(session)
    service.update_person(
        session=session, actor=ADMIN, person_id=person.id, data=PersonUpdate(household_code="H-9")
    )
    assert person.household_code == "H-9"
    household = session.scalars(select(Household).where(Household.code == "H-9")).one()
    assert (household.unit_code, household.address) == (PHUC_XA, "Số 1 phố Hòe Nhai")
    service.update_person(
        session=session, actor=ADMIN, person_id=person.id, data=PersonUpdate(household_code="")
    )
    assert person.household_id is None
    details = [e.detail for e in audit_entries(session, action="update", object_id=person.id)]
    assert details == ["fields=household", "fields=household"]


def test_add_document(session: Session) -> None:
    person = make_person(session)
    service.add_document(
        session=session,
        actor=ADMIN,
        person_id=person.id,
        data=DocumentInput(number="123456789"),
    )
    service.add_document(
        session=session,
        actor=ADMIN,
        person_id=person.id,
        data=DocumentInput(number="N1234567", nationality="VNM"),
    )
    assert sorted(d.kind for d in person.documents) == ["cccd", "cmnd", "passport"]
    assert person.main_document is not None
    assert person.main_document.kind == "cccd"
    # The same document again changes nothing.
    service.add_document(
        session=session, actor=ADMIN, person_id=person.id, data=DocumentInput(number="123456789")
    )
    assert len(person.documents) == 3
    details = [e.detail for e in audit_entries(session, action="update", object_id=person.id)]
    assert details == ["added cmnd document", "added passport document"]


def test_add_document_conflicts_and_mismatches(session: Session) -> None:
    person = make_person(session)
    other = make_person(session, full_name="Lý Văn Tư")
    with pytest.raises(Conflict, match="belongs to another person"):
        service.add_document(
            session=session,
            actor=ADMIN,
            person_id=person.id,
            data=DocumentInput(number=other.documents[0].number),
        )
    with pytest.raises(Invalid) as exc:
        service.add_document(
            session=session,
            actor=ADMIN,
            person_id=person.id,
            data=DocumentInput(number=cccd(sex="female", born=1985)),
        )
    assert (exc.value.field, exc.value.reason) == ("number", "the CCCD number says female")
    with pytest.raises(Invalid) as exc:
        service.add_document(
            session=session, actor=ADMIN, person_id=person.id, data=DocumentInput(number="1")
        )
    assert exc.value.field == "number"
    stored = session.scalar(
        select(func.count())
        .select_from(IdentityDocument)
        .where(IdentityDocument.person_id == person.id)
    )
    assert stored == 1


def test_household_members_are_scoped_and_audited(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    head = make_person(session, household_code="HK-TEST-1", permanent_unit_code=PHUC_XA)
    spouse = make_person(
        session,
        household_code="HK-TEST-1",
        permanent_unit_code=PHUC_XA,
        full_name="Lê Thị Hoa",
        sex="female",
    )
    # A member registered in another commune stays invisible to this commune's officer.
    elsewhere = make_person(session, household_code="HK-TEST-1", permanent_unit_code=TRUC_BACH)
    members = service.household_members(session=session, actor=officer, person=head)
    assert [m.id for m in members] == [spouse.id]
    everyone = service.household_members(session=session, actor=ADMIN, person=head)
    assert {m.id for m in everyone} == {spouse.id, elsewhere.id}
    session.flush()
    reads = audit_entries(session, object_id=str(spouse.id))
    assert any(e.action == "read" and e.username == officer.username for e in reads)
