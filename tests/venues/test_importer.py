"""Bulk import of a unit's venue register."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.errors import Forbidden, Invalid
from phongdich.venues.importer import COLUMNS, import_venues
from phongdich.venues.models import Venue
from phongdich.venues.service import APPROVED
from tests.factories import PHUC_XA, TAN_DINH, TRUC_BACH, audit_entries, make_user

ADMIN = system_actor("tests")
HEADER = ",".join(COLUMNS)


def csv(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def venue(session: Session, code: str) -> Venue:
    return session.execute(select(Venue).where(Venue.code == code)).scalar_one()


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Venue)) or 0


def test_good_rows_are_kept_and_bad_rows_reported_with_line_and_reason(session: Session) -> None:
    source = csv(
        f"hx-01,Chợ Hòe Nhai,market,{PHUC_XA},Số 2 Hòe Nhai,",
        f"HX-02,Nhà thuốc Long Châu,pharmacy,{PHUC_XA},Số 9 Hòe Nhai,20",
        f"!,Quán lỗi mã,cafe,{PHUC_XA},,",
        f"HX-03,Sở thú,zoo,{PHUC_XA},,",
        "HX-04,Quán không xã,cafe,99999,,",
        f"HX-05,Quán phút chữ,cafe,{PHUC_XA},,mười",
        f"HX-06,Quán phút ít,cafe,{PHUC_XA},,1",
        f"HX-07,,cafe,{PHUC_XA},,",
        f"HX-02,Nhà thuốc khác,pharmacy,{PHUC_XA},Số 9 Hòe Nhai,20",
        f"HX-01,Chợ Hòe Nhai,market,{PHUC_XA},Số 2 Hòe Nhai,",
        f"HX-08,Quán phút số mũ,cafe,{PHUC_XA},,²",
    )
    report = import_venues(session=session, actor=ADMIN, source=source)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 1)
    assert [(e.line, e.field) for e in report.errors] == [
        (4, "code"),
        (5, "category"),
        (6, "unit_code"),
        (7, "default_visit_minutes"),
        (8, "default_visit_minutes"),
        (9, "name"),
        (10, "code"),
        (12, "default_visit_minutes"),
    ]
    reasons = [e.reason for e in report.errors]
    assert reasons[0] == "3 to 32 letters, digits, '-' or '_'"
    assert reasons[1].startswith("one of restaurant, cafe, ")
    assert reasons[2] == "no admin unit with code 99999"
    assert reasons[3] == "a whole number"
    assert "greater than or equal to 5" in reasons[4]
    assert reasons[5] == "required"
    assert reasons[6] == "the same code is on line 3 with other details"
    assert reasons[7] == "a whole number"
    market = venue(session, "HX-01")
    assert (market.name, market.category, market.unit_code, market.address) == (
        "Chợ Hòe Nhai",
        "market",
        PHUC_XA,
        "Số 2 Hòe Nhai",
    )
    assert (market.status, market.default_visit_minutes, market.manager_id) == (APPROVED, 60, None)
    assert venue(session, "HX-02").default_visit_minutes == 20
    details = {e.object_id: e.detail for e in audit_entries(session, action="import")}
    assert details == {
        str(market.id): "created by venue import",
        str(venue(session, "HX-02").id): "created by venue import",
    }


def test_re_importing_the_same_file_changes_nothing(session: Session) -> None:
    source = csv(
        f"HX-11,Chợ Hòe Nhai,market,{PHUC_XA},Số 2 Hòe Nhai,",
        f"TB-11,Cà phê Trúc Bạch,cafe,{TRUC_BACH},Số 1 Trúc Bạch,45",
        "BAD,Quán không xã,cafe,99999,,",
    )
    first = import_venues(session=session, actor=ADMIN, source=source)
    assert (first.created, len(first.errors)) == (2, 1)
    venues, entries = count(session), len(audit_entries(session))
    again = import_venues(session=session, actor=ADMIN, source=source.encode())
    assert (again.created, again.updated, again.unchanged, len(again.errors)) == (0, 0, 2, 1)
    assert (count(session), len(audit_entries(session))) == (venues, entries)


def test_a_corrected_row_updates_its_venue(session: Session) -> None:
    import_venues(
        session=session, actor=ADMIN, source=csv(f"HX-21,Chợ Hòe Nhai,market,{PHUC_XA},,")
    )
    report = import_venues(
        session=session,
        actor=ADMIN,
        source=csv(
            f"HX-21,Chợ Hòe Nhai mới,market,{PHUC_XA},Số 2,90",
            header=HEADER,
        ),
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    market = venue(session, "HX-21")
    assert (market.name, market.name_folded, market.address, market.default_visit_minutes) == (
        "Chợ Hòe Nhai mới",
        "cho hoe nhai moi",
        "Số 2",
        90,
    )
    assert [e.detail for e in audit_entries(session, action="import")][-1] == "updated by import"


def test_the_optional_capacity_column(session: Session) -> None:
    report = import_venues(
        session=session,
        actor=ADMIN,
        source=csv(
            f"HX-31,Trường Phúc Xá,school,{PHUC_XA},,,1200",
            f"HX-32,Trường khác,school,{PHUC_XA},,,many",
            header=HEADER + ",capacity",
        ),
    )
    assert report.created == 1
    assert [(e.line, e.field) for e in report.errors] == [(3, "capacity")]
    assert venue(session, "HX-31").capacity == 1200


def test_an_official_imports_inside_their_jurisdiction_only(session: Session) -> None:
    import_venues(session=session, actor=ADMIN, source=csv(f"TB-41,Cà phê,cafe,{TRUC_BACH},,"))
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    report = import_venues(
        session=session,
        actor=officer,
        source=csv(
            f"HX-41,Chợ Hòe Nhai,market,{PHUC_XA},,",
            f"HX-42,Quán Sài Gòn,cafe,{TAN_DINH},,",
            f"TB-41,Cà phê của tôi,cafe,{PHUC_XA},,",
        ),
    )
    assert report.created == 1
    assert [(e.line, e.field, e.reason) for e in report.errors] == [
        (3, "unit_code", "outside your jurisdiction"),
        (4, "code", "this code belongs to a venue outside your jurisdiction"),
    ]
    assert venue(session, "TB-41").name == "Cà phê"
    assert venue(session, "HX-41").decided_by == officer.username


def test_managers_do_not_import_and_bad_files_are_refused(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    with pytest.raises(Forbidden):
        import_venues(session=session, actor=manager, source=csv(f"HX-51,Chợ,market,{PHUC_XA},,"))
    with pytest.raises(Invalid) as missing:
        import_venues(session=session, actor=ADMIN, source="code,name\nHX-52,Chợ\n")
    assert missing.value.field == "file"
    assert "missing columns: category, unit_code" in missing.value.reason
    with pytest.raises(Invalid) as empty:
        import_venues(session=session, actor=ADMIN, source=b"")
    assert empty.value.reason == "empty file"
