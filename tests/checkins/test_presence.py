"""Who was where: check-in events paired into visits, read by officials only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.checkins import presence, service
from phongdich.checkins.presence import Visit, pair, visits_at, visits_of, who_was_there
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.factories import BA_DINH, PHUC_XA, TRUC_BACH, audit_entries, make_person, make_user

NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)
T0 = datetime(2021, 9, 1, 1, 0, tzinfo=UTC)
V, P, Q = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
DEFAULT = {V: timedelta(minutes=60)}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rows(*events: tuple[uuid.UUID, float, str]) -> list[tuple[uuid.UUID, uuid.UUID, datetime, str]]:
    """(person, minutes after T0, direction) in the order the query gives: person, then time."""
    return sorted(((V, p, at(m), d) for p, m, d in events), key=lambda r: (str(r[1]), r[2]))


def spans(visits: list[Visit]) -> list[tuple[uuid.UUID, datetime, datetime, bool]]:
    return [(v.person_id, v.arrived_at, v.left_at, v.left_recorded) for v in visits]


# -- pairing (no database) ----------------------------------------------------------------------


def test_an_in_pairs_with_the_next_out() -> None:
    visits = pair(rows((P, 0, "in"), (P, 45, "out"), (P, 120, "in"), (P, 150, "out")), DEFAULT)
    assert spans(visits) == [(P, at(0), at(45), True), (P, at(120), at(150), True)]


def test_a_missing_check_out_lasts_the_venues_default_visit() -> None:
    visits = pair(rows((P, 0, "in"), (Q, 10, "in"), (Q, 30, "out")), DEFAULT)
    assert sorted(spans(visits)) == sorted([(P, at(0), at(60), False), (Q, at(10), at(30), True)])
    # Two entries and no exit: the first visit ends by default, the second too.
    again = pair(rows((P, 0, "in"), (P, 200, "in")), DEFAULT)
    assert spans(again) == [(P, at(0), at(60), False), (P, at(200), at(260), False)]


def test_an_out_without_an_in_ends_a_default_length_visit() -> None:
    visits = pair(rows((P, 100, "out")), DEFAULT)
    assert spans(visits) == [(P, at(40), at(100), True)]
    # An out more than MAX_VISIT after the in does not close it.
    late = presence.MAX_VISIT.total_seconds() / 60 + 30
    split = pair(rows((P, 0, "in"), (P, late, "out")), DEFAULT)
    assert spans(split) == [(P, at(0), at(60), False), (P, at(late - 60), at(late), True)]


def test_double_scans_are_one_visit() -> None:
    visits = pair(rows((P, 0, "in"), (P, 0.5, "in"), (P, 30, "out"), (P, 30.5, "out")), DEFAULT)
    assert spans(visits) == [(P, at(0), at(30.5), True)]


def test_a_second_check_out_ends_the_visit_later() -> None:
    # A paper log uploaded again with a corrected (later or earlier) check-out time.
    later = pair(rows((P, 0, "in"), (P, 40, "out"), (P, 95, "out")), DEFAULT)
    assert spans(later) == [(P, at(0), at(95), True)]
    earlier = pair(rows((P, 0, "in"), (P, 25, "out"), (P, 40, "out")), DEFAULT)
    assert spans(earlier) == [(P, at(0), at(40), True)]
    # Past MAX_VISIT from the entry it is another visit, whose entry was not scanned.
    late = presence.MAX_VISIT.total_seconds() / 60 + 30
    split = pair(rows((P, 0, "in"), (P, 40, "out"), (P, late, "out")), DEFAULT)
    assert spans(split) == [(P, at(0), at(40), True), (P, at(late - 60), at(late), True)]


def test_visit_overlap() -> None:
    a = Visit(V, P, at(0), at(60), True)
    b = Visit(V, Q, at(45), at(90), True)
    assert a.overlap(b) == b.overlap(a) == timedelta(minutes=15)
    assert a.overlap(Visit(V, Q, at(60), at(90), True)) == timedelta(0)
    assert a.overlaps(at(59), at(120))
    assert not a.overlaps(at(60), at(120))


# -- reading stored events ----------------------------------------------------------------------


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)[1]


@pytest.fixture
def venue(session: Session, officer: Actor) -> Venue:
    data = VenueInput(name="Quán Phở Đức", category="restaurant", unit_code=PHUC_XA)
    return register_venue(session=session, actor=officer, data=data)


def send(
    session: Session,
    actor: Actor,
    venue: Venue,
    person: Person,
    minutes: float,
    direction: str,
    event_id: uuid.UUID | None = None,
) -> None:
    item = CheckinEventIn(
        id=event_id or uuid.uuid4(),
        venue_code=venue.code,
        person_id=person.id,
        at=at(minutes),
        direction=direction,
    )
    report = service.ingest(session=session, actor=actor, events=[item], now=NOW)
    assert report.statuses == ["accepted"]


def test_events_arriving_out_of_order_pair_the_same(
    session: Session, officer: Actor, venue: Venue
) -> None:
    a, b = make_person(session), make_person(session)
    # The exits reach the server before the entries (two devices, one offline for a while).
    send(session, officer, venue, a, 50, "out")
    send(session, officer, venue, b, 200, "out")
    send(session, officer, venue, b, 20, "in")
    send(session, officer, venue, a, 10, "in")
    send(session, officer, venue, b, 150, "in")
    found = spans(visits_at(session, venue.id, at(0), at(300)))
    assert sorted(found, key=lambda v: (v[1], str(v[0]))) == [
        (a.id, at(10), at(50), True),
        (b.id, at(20), at(110), False),  # restaurant: 90 minutes by default
        (b.id, at(150), at(200), True),
    ]
    # Only visits overlapping the window.
    assert spans(visits_at(session, venue.id, at(120), at(140))) == []
    assert spans(visits_at(session, venue.id, at(60), at(120))) == [(b.id, at(20), at(110), False)]


def test_a_check_in_and_out_at_the_same_moment(
    session: Session, officer: Actor, venue: Venue
) -> None:
    person = make_person(session)
    # The out's id sorts before the in's: pairing must not depend on the ids.
    send(session, officer, venue, person, 30, "out", uuid.UUID(int=1))
    send(session, officer, venue, person, 30, "in", uuid.UUID(int=2**128 - 1))
    assert spans(visits_at(session, venue.id, at(0), at(100))) == [
        (person.id, at(30), at(30), True)
    ]


def test_a_persons_visits_across_venues(session: Session, officer: Actor, venue: Venue) -> None:
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    other = register_venue(
        session=session,
        actor=district,
        data=VenueInput(name="Cà phê", category="cafe", unit_code=TRUC_BACH),
    )
    person = make_person(session)
    send(session, officer, venue, person, 0, "in")
    send(session, officer, venue, person, 40, "out")
    send(session, district, other, person, 60, "in")
    visits = visits_of(session, person.id, at(-60), at(600))
    assert [(v.venue_id, v.arrived_at, v.left_at, v.left_recorded) for v in visits] == [
        (venue.id, at(0), at(40), True),
        (other.id, at(60), at(120), False),
    ]
    assert visits_of(session, uuid.uuid4(), at(0), at(60)) == []


def test_officials_of_the_unit_read_who_was_there_and_it_is_audited(
    session: Session, officer: Actor, venue: Venue
) -> None:
    a = make_person(session, full_name="Nguyễn Văn An")
    b = make_person(session, full_name="Trần Thị Bình", sex="female")
    send(session, officer, venue, b, 5, "in")
    send(session, officer, venue, a, 5, "in")
    send(session, officer, venue, a, 35, "out")
    found_venue, found = who_was_there(
        session=session, actor=officer, venue_code=venue.code.lower(), start=at(0), end=at(60)
    )
    assert found_venue.id == venue.id
    assert [(p.person.full_name, p.visit.left_at) for p in found] == [
        ("Nguyễn Văn An", at(35)),
        ("Trần Thị Bình", at(95)),
    ]
    [entry] = audit_entries(session, action="read", object_id=venue.id)
    assert (entry.object_type, entry.unit_code) == ("venue_presence", PHUC_XA)
    assert entry.detail.endswith(": 2 visits")
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    assert (
        len(
            who_was_there(
                session=session, actor=district, venue_code=venue.code, start=at(0), end=at(60)
            )[1]
        )
        == 2
    )


def test_nobody_else_reads_who_was_there(session: Session, officer: Actor) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    own = register_venue(
        session=session,
        actor=manager,
        data=VenueInput(name="Quán của tôi", category="cafe", unit_code=PHUC_XA),
    )
    send(session, manager, own, make_person(session), 5, "in")
    with pytest.raises(Forbidden):
        who_was_there(session=session, actor=manager, venue_code=own.code, start=at(0), end=at(60))
    _, elsewhere = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    with pytest.raises(NotFound):
        who_was_there(
            session=session, actor=elsewhere, venue_code=own.code, start=at(0), end=at(60)
        )
    with pytest.raises(NotFound):
        who_was_there(session=session, actor=officer, venue_code="NOPE-1", start=at(0), end=at(60))
    assert audit_entries(session, action="read") == []


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2021, 9, 1, 8, 0), at(60), "start"),  # noqa: DTZ001
        (at(0), datetime(2021, 9, 1, 8, 0), "end"),  # noqa: DTZ001
        (at(60), at(60), "end"),
        (at(0), at(0) + timedelta(days=32), "end"),
    ],
)
def test_the_window_is_checked(
    session: Session, officer: Actor, venue: Venue, start: datetime, end: datetime, field: str
) -> None:
    with pytest.raises(Invalid) as bad:
        who_was_there(session=session, actor=officer, venue_code=venue.code, start=start, end=end)
    assert bad.value.field == field
