"""Retention: check-ins older than the window are deleted, gone, on both databases.

These tests commit, so each runs on a fresh database of its own (dropped afterwards).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.checkins import jobs, service, storage
from phongdich.checkins.models import CheckinDailyCount, CheckinEvent
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.config import get_settings
from phongdich.db import Database
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.conftest import _load_reference_tree, migrated_database
from tests.factories import PHUC_XA, make_person

SYSTEM = system_actor("tests")
# Ten days of check-ins, the last one at T.
T = datetime(2021, 9, 10, 8, 0, tzinfo=UTC)
DAYS = 10
PER_DAY = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        _load_reference_tree(database)
        yield database


def fill(database: Database) -> dict[int, list[uuid.UUID]]:
    """PER_DAY check-ins on each of the DAYS days up to T; their ids by days before T."""
    ids: dict[int, list[uuid.UUID]] = {}
    with database.transaction() as session:
        venue = register_venue(
            session=session,
            actor=SYSTEM,
            data=VenueInput(name="Chợ Hòe Nhai", category="market", unit_code=PHUC_XA),
        )
        people = [make_person(session) for _ in range(PER_DAY)]
        events = []
        for days in range(DAYS):
            ids[days] = [uuid.uuid4() for _ in people]
            events += [
                CheckinEventIn(
                    id=event_id,
                    venue_code=venue.code,
                    person_id=person.id,
                    at=T - timedelta(days=days),
                )
                for event_id, person in zip(ids[days], people, strict=True)
            ]
        report = service.ingest(session=session, actor=SYSTEM, events=events, now=T)
        assert report.count("accepted") == DAYS * PER_DAY
    return ids


def times(session: Session) -> list[datetime]:
    return list(session.scalars(select(CheckinEvent.at).order_by(CheckinEvent.at)))


def partitions(session: Session) -> list[date]:
    return sorted(storage.existing_partitions(session))


def test_the_purge_deletes_what_is_older_than_the_window(fresh: Database) -> None:
    fill(fresh)
    with fresh.transaction() as session:
        counted = session.scalar(select(func.sum(CheckinDailyCount.checkins)))
        if fresh.dialect == "postgresql":
            assert (
                partitions(session) == [(T - timedelta(days=d)).date() for d in range(DAYS)][::-1]
            )
    # The clock moved forward: 25 days after T the 30-day window starts 5 days before T.
    later = T + timedelta(days=25)
    cutoff = jobs.retention_cutoff(later)
    assert cutoff == T - timedelta(days=5)
    deleted = jobs.purge_expired(fresh, now=later)
    assert deleted == 4 * PER_DAY
    with fresh.transaction() as session:
        assert times(session) == sorted(
            T - timedelta(days=d) for d in range(6) for _ in range(PER_DAY)
        )
        assert session.scalar(select(func.count()).where(CheckinEvent.at < cutoff)) == 0
        if fresh.dialect == "postgresql":
            # Whole daily partitions were dropped; none is left before the cutoff's day.
            assert partitions(session) == [(T - timedelta(days=d)).date() for d in range(6)][::-1]
        # The daily counts name nobody: they stay.
        assert session.scalar(select(func.sum(CheckinDailyCount.checkins))) == counted
    # Nothing more to do the second time.
    assert jobs.purge_expired(fresh, now=later) == 0
    # Everything goes once the window has passed the last day.
    assert jobs.purge_expired(fresh, now=T + timedelta(days=31)) == 6 * PER_DAY
    with fresh.transaction() as session:
        assert times(session) == []
        if fresh.dialect == "postgresql":
            assert partitions(session) == []


def test_a_partition_straddling_the_cutoff_keeps_its_newer_rows(fresh: Database) -> None:
    fill(fresh)
    # Cutoff at 20:00 on T's day: the rows at 08:00 that day go, the partition itself stays.
    later = T + timedelta(days=30, hours=12)
    assert jobs.purge_expired(fresh, now=later) == DAYS * PER_DAY
    with fresh.transaction() as session:
        assert times(session) == []
        if fresh.dialect == "postgresql":
            assert partitions(session) == [T.date()]


def test_deleted_means_gone_from_the_sqlite_file(tmp_path: Path) -> None:
    """PostgreSQL drops whole partitions; SQLite overwrites the deleted rows' bytes."""
    with migrated_database("sqlite", tmp_path) as fresh:
        _load_reference_tree(fresh)
        gone_from_the_file(fresh, tmp_path)


def gone_from_the_file(fresh: Database, tmp_path: Path) -> None:
    ids = fill(fresh)
    files = [tmp_path / "test.db", tmp_path / "test.db-wal"]
    old = [i.hex.encode() for d in range(6, DAYS) for i in ids[d]]
    kept = [i.hex.encode() for i in ids[0]]
    with fresh.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    content = b"".join(f.read_bytes() for f in files if f.exists())
    assert all(i in content for i in old + kept)
    jobs.purge_expired(fresh, now=T + timedelta(days=25))
    content = b"".join(f.read_bytes() for f in files if f.exists())
    assert not any(i in content for i in old)
    assert all(i in content for i in kept)


def test_the_window_follows_the_setting(fresh: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(fresh)
    monkeypatch.setenv("PHONGDICH_CHECKIN_RETENTION_DAYS", "7")
    get_settings.cache_clear()
    try:
        assert jobs.purge_expired(fresh, now=T) == 2 * PER_DAY
    finally:
        get_settings.cache_clear()
    with fresh.transaction() as session:
        assert min(times(session)) == T - timedelta(days=7)


def test_partitions_are_made_ahead(fresh: Database) -> None:
    jobs.prepare_partitions(fresh, now=T)
    with fresh.transaction() as session:
        if fresh.dialect == "postgresql":
            # Every day still kept (a late batch never has to make one) and three ahead.
            first = jobs.retention_cutoff(T).date()
            days = (T.date() - first).days + 3
            assert partitions(session) == [first + timedelta(days=n) for n in range(days)]
            # Made once: a second run finds them.
            jobs.prepare_partitions(fresh, now=T)
            assert len(partitions(session)) == days
        else:
            assert times(session) == []
