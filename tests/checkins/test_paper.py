"""Paper logbooks typed up as CSV: bad rows reported, good rows kept, uploads idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.checkins.models import CheckinDailyCount, CheckinEvent
from phongdich.checkins.paper import COLUMNS, import_paper_log, parse_local_time
from phongdich.errors import Forbidden, Invalid
from phongdich.persons.documents import parse_document
from phongdich.persons.models import Person
from phongdich.persons.service import document_owner
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.factories import PHUC_XA, audit_entries, cccd, make_person, make_user

# 15:00 in Hà Nội on 1 September 2021.
NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)
HEADER = ",".join(COLUMNS)


def csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]


@pytest.fixture
def venue(session: Session, officer: Actor) -> Venue:
    data = VenueInput(name="Chợ Hòe Nhai", category="market", unit_code=PHUC_XA)
    return register_venue(session=session, actor=officer, data=data)


def events(session: Session) -> list[tuple[datetime, str, str]]:
    return [
        (e.at, e.direction, e.source)
        for e in session.scalars(select(CheckinEvent).order_by(CheckinEvent.at))
    ]


def people(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def test_a_log_with_bad_rows_uploaded_twice(session: Session, officer: Actor, venue: Venue) -> None:
    known = make_person(session, full_name="Nguyễn Văn An")
    new_number = cccd(sex="female", born=1990)
    code = venue.code
    source = csv(
        f"{code},{known.documents[0].number},Nguyễn Văn An,,2021-09-01 08:30,2021-09-01 09:15",
        f"{code},{new_number},Trần Thị Bình,0912 345 678,01/09/2021 10:00,",
        f"{code},12,Lê Văn Sai,,2021-09-01 10:00,",
        f"NOPE-1,{cccd()},Lê Văn Sai,,2021-09-01 10:00,",
        f"{code},{cccd()},Lê Văn Sai,,hôm qua,",
        f"{code},{cccd()},Lê Văn Sai,,2021-09-01 10:00,2021-09-01 09:00",
        f"{code},{cccd()},Lê Văn Sai,,2021-08-30 10:00,2021-08-31 10:01",
        f"{code},{cccd()},,,2021-09-01 10:00,",
        f"{code},{cccd()},Lê Văn Sai,123,2021-09-01 10:00,",
        f"{code},{cccd()},Lê Văn Sai,,2021-07-01 10:00,",
        f"{code},{cccd()},Lê Văn Sai,,2021-09-02 10:00,",
        f",{cccd()},Lê Văn Sai,,2021-09-01 10:00,",
    )
    report = import_paper_log(session=session, actor=officer, source=source, now=NOW)
    assert (report.created, report.updated, report.unchanged, report.people_registered) == (
        2,
        0,
        0,
        1,
    )
    # Rows that fail when their person is registered come after the others: sorted here.
    assert sorted((e.line, e.field, e.reason) for e in report.errors) == [
        (4, "document_number", "a CCCD has 12 digits and a CMND 9 or 12"),
        (5, "venue_code", "no venue with this code"),
        (6, "checkin_at", "a date and time such as 2021-08-01 08:30 or 01/08/2021 08:30"),
        (7, "checkout_at", "before the check-in time"),
        (8, "checkout_at", "more than 24 hours after the check-in time"),
        (9, "full_name", "required for a document number not registered yet"),
        (10, "phone", "a Vietnamese phone number: 10 digits starting with 0 (or +84)"),
        (11, "checkin_at", "older than the retention window"),
        (12, "checkin_at", "in the future"),
        (13, "venue_code", "required"),
    ]
    # Local times: 08:30 in Hà Nội is 01:30 UTC.
    assert events(session) == [
        (datetime(2021, 9, 1, 1, 30, tzinfo=UTC), "in", "paper"),
        (datetime(2021, 9, 1, 2, 15, tzinfo=UTC), "out", "paper"),
        (datetime(2021, 9, 1, 3, 0, tzinfo=UTC), "in", "paper"),
    ]
    binh = document_owner(session, parse_document(new_number))
    assert binh is not None
    assert (binh.full_name, binh.phone, binh.temporary_unit_code, binh.sex) == (
        "Trần Thị Bình",
        "0912345678",
        PHUC_XA,
        None,
    )
    [registration] = audit_entries(session, action="create", object_id=binh.id)
    assert registration.detail == "registered from a paper log"
    assert {e.person_id for e in session.scalars(select(CheckinEvent))} == {known.id, binh.id}

    before = (events(session), people(session), list(session.scalars(select(CheckinDailyCount))))
    again = import_paper_log(session=session, actor=officer, source=source.encode(), now=NOW)
    assert (again.created, again.unchanged, again.people_registered) == (0, 2, 0)
    assert again.errors == report.errors
    assert (events(session), people(session)) == before[:2]
    assert [(c.checkins, c.checkouts) for c in session.scalars(select(CheckinDailyCount))] == [
        (c.checkins, c.checkouts) for c in before[2]
    ]


def test_rows_repeated_in_one_log(session: Session, officer: Actor, venue: Venue) -> None:
    person = make_person(session)
    number = person.documents[0].number
    report = import_paper_log(
        session=session,
        actor=officer,
        source=csv(
            f"{venue.code},{number},,,2021-09-01 08:30,2021-09-01 09:00",
            f"{venue.code},{number},,,2021-09-01 08:30,2021-09-01 09:00",
            f"{venue.code},{number},,,2021-09-01 08:30,2021-09-01 10:00",
        ),
        now=NOW,
    )
    assert (report.created, report.unchanged) == (1, 1)
    assert [(e.line, e.field, e.reason) for e in report.errors] == [
        (4, "checkout_at", "the same check-in is on line 2 with another check-out time")
    ]
    assert len(events(session)) == 2


def test_a_check_out_added_later_adds_only_the_check_out(
    session: Session, officer: Actor, venue: Venue
) -> None:
    person = make_person(session)
    number = person.documents[0].number
    first = csv(f"{venue.code},{number},,,2021-09-01 08:30,")
    import_paper_log(session=session, actor=officer, source=first, now=NOW)
    completed = csv(f"{venue.code},{number},,,2021-09-01 08:30,2021-09-01 09:00")
    report = import_paper_log(session=session, actor=officer, source=completed, now=NOW)
    assert (report.created, report.unchanged) == (1, 0)
    assert [d for _, d, _ in events(session)] == ["in", "out"]


def test_the_same_unknown_person_on_several_rows_is_registered_once(
    session: Session, officer: Actor, venue: Venue
) -> None:
    number = cccd()
    before = people(session)
    report = import_paper_log(
        session=session,
        actor=officer,
        source=csv(
            f"{venue.code},{number},Phạm Văn Cường,,2021-09-01 08:00,2021-09-01 08:20",
            f"{venue.code},{number},Phạm Văn Cường,,2021-09-01 11:00,",
        ),
        now=NOW,
    )
    assert (report.created, report.people_registered) == (2, 1)
    assert people(session) == before + 1


def test_times_as_written_on_paper() -> None:
    hanoi = datetime(2021, 8, 1, 1, 30, tzinfo=UTC)
    for written in (
        "2021-08-01 08:30",
        "2021-08-01T08:30:00",
        "01/08/2021 08:30",
        "01-08-2021 08:30",
        "  2021-08-01   08:30 ",
        "2021-08-01 01:30+00:00",
    ):
        assert parse_local_time(written, "checkin_at") == hanoi, written
    for wrong in ("", "08:30", "32/08/2021 08:30"):
        with pytest.raises(Invalid) as bad:
            parse_local_time(wrong, "checkin_at")
        assert bad.value.field == "checkin_at"


def test_who_may_upload(session: Session, venue: Venue) -> None:
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    source = csv(f"{venue.code},{cccd()},Lê Văn Ba,,2021-09-01 08:30,")
    with pytest.raises(Forbidden):
        import_paper_log(session=session, actor=checkpoint, source=source, now=NOW)
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    report = import_paper_log(session=session, actor=manager, source=source, now=NOW)
    assert [(e.field, e.reason) for e in report.errors] == [
        ("venue_code", "not a venue you record check-ins for")
    ]
    with pytest.raises(Invalid) as missing:
        import_paper_log(session=session, actor=manager, source="venue_code\nX\n", now=NOW)
    assert missing.value.field == "file"
