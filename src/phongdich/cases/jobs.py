"""Daily upkeep of cases: quarantine orders that have ended, and today's zone levels.

Runs on every worker cycle but works at most once every EVERY per database."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from phongdich.auth.actor import system_actor
from phongdich.cases import quarantine, zones
from phongdich.db import Database, utcnow
from phongdich.worker import periodic

log = logging.getLogger(__name__)

EVERY = timedelta(hours=1)
_last_run: dict[str, float] = {}
_lock = threading.Lock()


def run_daily(database: Database, *, now: datetime | None = None) -> tuple[int, int]:
    """(orders released, zone rows added)."""
    now = now or utcnow()
    actor = system_actor("worker")
    with database.transaction() as session:
        released = quarantine.release_due(session, actor, now)
    with database.transaction() as session:
        added = zones.compute(session=session, actor=actor, day=quarantine.local_day(now))
    if released:
        log.info("cases: %d quarantine orders ended", released)
    return released, added


@periodic("cases.daily")
def daily(database: Database) -> None:
    with _lock:
        last = _last_run.get(database.url)
        if last is not None and time.monotonic() - last < EVERY.total_seconds():
            return
        _last_run[database.url] = time.monotonic()
    run_daily(database)
