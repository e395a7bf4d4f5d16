"""Background upkeep of the check-in store: daily partitions ahead of time, and retention.

Retention deletes check-ins older than `checkin_retention_days` (30 by default): deleted means
gone, not hidden. The daily counts stay; they name nobody.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import text

from phongdich.checkins import storage
from phongdich.config import get_settings
from phongdich.db import Database, utcnow
from phongdich.worker import periodic

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=15)  # the job runs on every worker cycle; the work at most this often
DAYS_AHEAD = 3
_last_run: dict[str, float] = {}
_lock = threading.Lock()


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=get_settings().checkin_retention_days)


def purge_expired(database: Database, *, now: datetime | None = None) -> int:
    """Delete every check-in older than the retention window; returns how many went.

    Each step is its own short transaction, so ingest is never blocked for long.
    """
    cutoff = retention_cutoff(now or utcnow())
    total = 0
    more = True
    while more:
        with database.transaction() as session:
            deleted, more = storage.purge_before(session, cutoff)
        total += deleted
    if total and database.dialect == "sqlite":
        # Deleted pages are zeroed (secure_delete); the checkpoint also empties the WAL file,
        # which may still hold copies of those pages.
        with database.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    if total:
        log.info("retention: %d check-ins older than %s deleted", total, cutoff.date())
    return total


def prepare_partitions(database: Database, *, now: datetime | None = None) -> None:
    """Every day's partition from the oldest kept to a few days ahead, made before any scan of
    that day arrives: a late batch then never has to create one (which locks the table)."""
    if database.dialect != "postgresql":
        return
    now = now or utcnow()
    first = retention_cutoff(now).date()
    days = (now.date() - first).days + DAYS_AHEAD
    with database.transaction() as session:
        storage.ensure_partitions(session, [first + timedelta(days=n) for n in range(days)])


@periodic("checkins.upkeep")
def upkeep(database: Database) -> None:
    with _lock:
        last = _last_run.get(database.url)
        if last is not None and time.monotonic() - last < EVERY.total_seconds():
            return
        _last_run[database.url] = time.monotonic()
    prepare_partitions(database)
    purge_expired(database)
