"""The demo's venues and check-ins: every category, the manager's market, two weeks of scans
up to now that the daily counts agree with, and the same rows for the same seed.

`build_demo` commits, so these tests use databases of their own, as in test_city.py. The
current time is fixed, so that two builds can be compared row for row.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from phongdich.auth.models import User
from phongdich.checkins import presence
from phongdich.checkins.models import CheckinDailyCount, CheckinEvent
from phongdich.checkins.service import local_day
from phongdich.db import Database, utcnow
from phongdich.demo import checkins as demo_checkins
from phongdich.demo import venues as demo_venues
from phongdich.demo.city import DemoResult, build_demo
from phongdich.venues.models import Venue
from phongdich.venues.service import APPROVED, CATEGORIES, PENDING
from tests.demo.helpers import Built, Snapshot

PEOPLE = 300
SEED = 7
NOW = utcnow().replace(microsecond=0)


def build(database: Database, seed: int = SEED) -> DemoResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_checkins, "utcnow", lambda: NOW)
        return build_demo(database, people=PEOPLE, seed=seed)


@pytest.fixture(scope="module")
def built(fresh_database: Callable[[], Database]) -> Built:
    database = fresh_database()
    return Built(database, build(database))


def snapshot(database: Database) -> tuple[Snapshot, Snapshot]:
    with database.transaction() as session:
        places = session.execute(
            select(
                Venue.id,
                Venue.code,
                Venue.name,
                Venue.category,
                Venue.unit_code,
                Venue.status,
                Venue.capacity,
            ).order_by(Venue.code)
        ).all()
        events = session.execute(
            select(
                CheckinEvent.id,
                CheckinEvent.at,
                CheckinEvent.venue_id,
                CheckinEvent.person_id,
                CheckinEvent.direction,
                CheckinEvent.source,
                CheckinEvent.received_at,
            ).order_by(CheckinEvent.at, CheckinEvent.id)
        ).all()
    return [tuple(r) for r in places], [tuple(r) for r in events]


def test_every_category_is_present_mostly_approved_some_pending(built: Built) -> None:
    with built.database.transaction() as session:
        rows = session.execute(select(Venue.category, Venue.status)).all()
    assert {category for category, _ in rows} == set(CATEGORIES)
    statuses = Counter(status for _, status in rows)
    assert set(statuses) == {APPROVED, PENDING}
    assert statuses[APPROVED] > statuses[PENDING]
    assert built.result.venues == len(rows)


def test_the_venue_manager_runs_the_market(built: Built) -> None:
    with built.database.transaction() as session:
        manager = session.scalars(select(User).where(User.username == "quanly.cho")).one()
        market = session.scalars(select(Venue).where(Venue.manager_id == manager.id)).one()
        assert (market.code, market.category, market.status) == (
            demo_venues.MANAGED_CODE,
            "market",
            APPROVED,
        )
        assert market.unit_code == manager.unit_code
        visits = presence.visits_at(session, market.id, NOW - timedelta(days=14), NOW)
    assert visits  # the manager's pages have people to count


def test_checkins_span_two_weeks_up_to_now(built: Built) -> None:
    _, events = snapshot(built.database)
    assert len(events) == built.result.checkins > PEOPLE
    times = [at for _, at, *_ in events if isinstance(at, datetime)]
    assert NOW - timedelta(days=14) <= min(times) < NOW - timedelta(days=13)
    assert NOW - timedelta(hours=12) < max(times) <= NOW
    directions = Counter(e[4] for e in events)
    assert 0.5 < directions["out"] / directions["in"] < 1.0  # most visits have a check-out
    assert {e[5] for e in events} == {"device", "phone"}


def test_the_daily_counts_agree_with_the_events(built: Built) -> None:
    with built.database.transaction() as session:
        units = dict(session.execute(select(Venue.id, Venue.unit_code)).all())
        counted = {
            (c.venue_id, c.day): (c.unit_code, c.checkins, c.checkouts)
            for c in session.scalars(select(CheckinDailyCount))
        }
        events = session.execute(
            select(CheckinEvent.venue_id, CheckinEvent.at, CheckinEvent.direction)
        ).all()
    expected: dict[tuple[uuid.UUID, date], list[int]] = {}
    for venue_id, at, direction in events:
        entry = expected.setdefault((venue_id, local_day(at)), [0, 0])
        entry[direction == "out"] += 1
    assert counted == {key: (units[key[0]], n[0], n[1]) for key, n in expected.items()}


def test_the_same_seed_builds_the_same_venues_and_checkins(
    built: Built, fresh_database: Callable[[], Database]
) -> None:
    database = fresh_database()
    again = build(database)
    assert again == built.result
    assert again.checkins == built.result.checkins
    assert snapshot(database) == snapshot(built.database)


def test_another_seed_builds_other_checkins(
    built: Built, fresh_database: Callable[[], Database]
) -> None:
    database = fresh_database()
    build(database, seed=SEED + 1)
    places, events = snapshot(database)
    first_places, first_events = snapshot(built.database)
    assert {p[1] for p in places} != {p[1] for p in first_places}
    assert {e[0] for e in events}.isdisjoint({e[0] for e in first_events})


def test_the_tracing_indexes_are_there_after_the_bulk_load(built: Built) -> None:
    names = {
        index["name"] for index in inspect(built.database.engine).get_indexes("checkin_events")
    }
    assert {"ix_checkin_events_venue_at", "ix_checkin_events_person_at"} <= names
