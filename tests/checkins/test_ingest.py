"""Device batches: idempotent, order-independent, late events, one answer per event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.checkins import service
from phongdich.checkins.models import CheckinDailyCount, CheckinEvent
from phongdich.checkins.schemas import MAX_BATCH, CheckinBatch, CheckinEventIn
from phongdich.errors import Forbidden
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import SUSPENDED, decide, register_venue
from tests.factories import BA_DINH, PHUC_XA, TRUC_BACH, audit_entries, make_person, make_user

NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)
HANOI = timezone(timedelta(hours=7))


def make_venue(session: Session, actor: Actor, unit: str = PHUC_XA, **overrides: object) -> Venue:
    values: dict[str, object] = {"name": "Chợ Hòe Nhai", "category": "market", "unit_code": unit}
    values.update(overrides)
    return register_venue(session=session, actor=actor, data=VenueInput.model_validate(values))


def event(venue: Venue, person: Person | None, at: datetime, **overrides: object) -> CheckinEventIn:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "venue_code": venue.code,
        "person_id": person.id if person is not None else None,
        "at": at,
    }
    values.update(overrides)
    return CheckinEventIn.model_validate(values)


def stored(session: Session) -> list[tuple[uuid.UUID, datetime, uuid.UUID, str, str]]:
    return [
        (row.id, row.at, row.person_id, row.direction, row.source)
        for row in session.scalars(select(CheckinEvent).order_by(CheckinEvent.at, CheckinEvent.id))
    ]


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]


def test_a_batch_sent_again_in_any_order_is_stored_once(session: Session, officer: Actor) -> None:
    venue = make_venue(session, officer)
    a, b = make_person(session), make_person(session)
    events = [
        event(venue, a, NOW - timedelta(hours=2)),
        event(venue, b, NOW - timedelta(hours=1, minutes=50)),
        event(venue, a, NOW - timedelta(hours=1), direction="out"),
    ]
    first = service.ingest(session=session, actor=officer, events=events, now=NOW)
    assert first.statuses == ["accepted"] * 3
    assert first.ids == [e.id for e in events]
    rows = stored(session)
    assert len(rows) == 3
    assert {r[4] for r in rows} == {"device"}

    reordered = list(reversed(events))
    again = service.ingest(session=session, actor=officer, events=reordered, now=NOW)
    assert again.statuses == ["duplicate"] * 3
    assert again.ids == [e.id for e in reordered]
    # A mix of old and new: only the new one is added.
    late = event(venue, b, NOW - timedelta(minutes=30), direction="out")
    mixed = service.ingest(session=session, actor=officer, events=[late, *events], now=NOW)
    assert mixed.statuses == ["accepted", "duplicate", "duplicate", "duplicate"]
    assert (mixed.count("accepted"), mixed.count("duplicate"), mixed.count("rejected")) == (1, 3, 0)
    assert stored(session) == sorted(
        [*rows, (late.id, late.at, b.id, "out", "device")], key=lambda r: (r[1], r[0])
    )


def test_the_same_instant_with_another_offset_is_the_same_event(
    session: Session, officer: Actor
) -> None:
    venue = make_venue(session, officer)
    person = make_person(session)
    local = event(venue, person, datetime(2021, 9, 1, 14, 30, tzinfo=HANOI))
    service.ingest(session=session, actor=officer, events=[local], now=NOW)
    as_utc = local.model_copy(update={"at": datetime(2021, 9, 1, 7, 30, tzinfo=UTC)})
    report = service.ingest(session=session, actor=officer, events=[as_utc], now=NOW)
    assert report.statuses == ["duplicate"]
    [row] = stored(session)
    assert row[1] == datetime(2021, 9, 1, 7, 30, tzinfo=UTC)
    assert row[1].tzinfo is not None


def test_events_days_late_are_accepted_until_the_retention_window(
    session: Session, officer: Actor
) -> None:
    venue = make_venue(session, officer)
    person = make_person(session)
    events = [
        event(venue, person, NOW - timedelta(days=6)),
        event(venue, person, NOW - timedelta(days=29, hours=23)),
        event(venue, person, NOW - timedelta(days=30, minutes=1)),
        event(venue, person, NOW + timedelta(minutes=50)),  # a device clock running fast
        event(venue, person, NOW + timedelta(hours=2)),
    ]
    report = service.ingest(session=session, actor=officer, events=events, now=NOW)
    assert report.statuses == ["accepted", "accepted", "rejected", "accepted", "rejected"]
    assert report.rejections[2] == service.Rejection("at", "older than the retention window")
    assert report.rejections[4] == service.Rejection("at", "in the future")
    assert len(stored(session)) == 3


def test_each_bad_event_is_rejected_with_field_and_reason(session: Session, officer: Actor) -> None:
    venue = make_venue(session, officer)
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    managed = make_venue(session, manager, name="Quán của người khác")
    closed = make_venue(session, officer, name="Quán đóng cửa")
    decide(session=session, actor=officer, code=closed.code, status=SUSPENDED)
    person = make_person(session)
    number = person.documents[0].number
    at = NOW - timedelta(hours=1)
    reused = event(venue, person, at)
    _, stranger = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    events = [
        event(venue, None, at, document_number=number),
        event(venue, None, at, venue_code="NOPE-1", person_id=person.id),
        event(venue, None, at, person_id=uuid.uuid4()),
        event(venue, None, at, document_number="001099999999"),
        event(venue, None, at, document_number="12"),
        event(venue, None, at, document_number="B1234567"),
        event(closed, person, at),
        reused,
        reused.model_copy(update={"direction": "out"}),
        reused,
    ]
    report = service.ingest(session=session, actor=officer, events=events, now=NOW)
    assert report.statuses == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
        "duplicate",
    ]
    reasons = {i: (r.field, r.reason) for i, r in report.rejections.items()}
    assert reasons == {
        1: ("venue_code", "no venue with this code"),
        2: ("person_id", "no person with this id"),
        3: ("document_number", "no person registered with this document"),
        4: ("document_number", "a CCCD has 12 digits and a CMND 9 or 12"),
        5: ("nationality", "required with a passport number"),
        6: ("venue_code", "this venue is suspended and takes no check-ins"),
        8: ("id", "this id is used twice in the batch with other details"),
    }
    # The document number found its holder.
    assert {row[2] for row in stored(session)} == {person.id}
    # A manager records for their own venues only.
    theirs = service.ingest(
        session=session,
        actor=stranger,
        events=[event(managed, person, at), event(venue, person, at)],
        now=NOW,
    )
    assert theirs.statuses == ["rejected", "rejected"]
    assert theirs.rejections[0].reason == "not a venue you record check-ins for"
    mine = service.ingest(
        session=session, actor=manager, events=[event(managed, person, at)], now=NOW
    )
    assert mine.statuses == ["accepted"]


def test_a_merged_person_is_recorded_on_the_surviving_record(
    session: Session, officer: Actor
) -> None:
    venue = make_venue(session, officer)
    survivor, duplicate = make_person(session), make_person(session)
    duplicate.merged_into_id = survivor.id
    session.flush()
    report = service.ingest(
        session=session,
        actor=officer,
        events=[
            event(venue, duplicate, NOW - timedelta(hours=1)),
            event(venue, None, NOW, document_number=duplicate.documents[0].number),
        ],
        now=NOW,
    )
    assert report.statuses == ["accepted", "accepted"]
    assert {row[2] for row in stored(session)} == {survivor.id}


def test_only_new_events_are_counted_and_the_batch_is_audited(
    session: Session, officer: Actor
) -> None:
    venue = make_venue(session, officer)
    person = make_person(session)
    # 23:30 UTC is already the next day in Hà Nội.
    events = [
        event(venue, person, datetime(2021, 8, 31, 10, 0, tzinfo=UTC)),
        event(venue, person, datetime(2021, 8, 31, 11, 0, tzinfo=UTC), direction="out"),
        event(venue, person, datetime(2021, 8, 31, 23, 30, tzinfo=UTC)),
    ]
    service.ingest(session=session, actor=officer, events=events, now=NOW)
    service.ingest(session=session, actor=officer, events=events, now=NOW)
    counts = {
        (c.day.isoformat(), c.unit_code): (c.checkins, c.checkouts)
        for c in session.scalars(select(CheckinDailyCount))
    }
    assert counts == {("2021-08-31", PHUC_XA): (1, 1), ("2021-09-01", PHUC_XA): (1, 0)}
    details = [e.detail for e in audit_entries(session, action="ingest")]
    assert details == [
        "source=device accepted=3 duplicate=0 rejected=0 venues=1",
        "source=device accepted=0 duplicate=3 rejected=0 venues=1",
    ]
    # The audit trail names no one: the batch is one entry.
    assert all(e.object_id is None for e in audit_entries(session, action="ingest"))


def test_a_full_batch_of_ten_thousand(session: Session) -> None:
    _, officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    venues = [make_venue(session, officer), make_venue(session, officer, TRUC_BACH)]
    people = [make_person(session) for _ in range(20)]
    events = [
        event(
            venues[n % 2],
            people[n % 20],
            NOW - timedelta(days=3, seconds=n * 7),
            direction="in" if n % 3 else "out",
        )
        for n in range(MAX_BATCH)
    ]
    first = service.ingest(session=session, actor=officer, events=events, now=NOW)
    assert first.count("accepted") == MAX_BATCH
    again = service.ingest(session=session, actor=officer, events=events[::-1], now=NOW)
    assert again.count("duplicate") == MAX_BATCH
    total = session.scalar(select(func.count()).select_from(CheckinEvent))
    assert total == MAX_BATCH
    counted = session.scalar(
        select(func.sum(CheckinDailyCount.checkins + CheckinDailyCount.checkouts))
    )
    assert counted == MAX_BATCH
    with pytest.raises(ValidationError):
        CheckinBatch(events=[*events, events[0]])


def test_the_event_shape(session: Session) -> None:
    base = {"id": str(uuid.uuid4()), "venue_code": "HX-01", "at": "2021-09-01T08:00:00+07:00"}
    for broken in (
        {},  # neither person_id nor document_number
        {"person_id": str(uuid.uuid4()), "document_number": "001085000001"},
        {"person_id": str(uuid.uuid4()), "at": "2021-09-01T08:00:00"},  # no offset
        {"person_id": str(uuid.uuid4()), "direction": "sideways"},
    ):
        with pytest.raises(ValidationError):
            CheckinEventIn.model_validate({**base, **broken})


def test_roles_that_record_nothing(session: Session) -> None:
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    with pytest.raises(Forbidden):
        service.ingest(session=session, actor=checkpoint, events=[], now=NOW)
