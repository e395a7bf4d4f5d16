"""The worker's share of the daily reports: yesterday's and today's, for every checkpoint.

Passages arriving by station sync recompute their days at once (see `handlers.py`); this job
covers the rest: a checkpoint whose stations sent nothing still gets its (empty) day, and
yesterday is settled after midnight. Runs on every worker cycle but works at most once every
EVERY per database.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from phongdich.checkpoints import reports
from phongdich.db import Database, utcnow
from phongdich.worker import periodic

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=15)
_last_run: dict[str, float] = {}
_lock = threading.Lock()


def run_reports(database: Database, *, now: datetime | None = None) -> int:
    """Store yesterday's and today's reports (local days); returns how many were stored."""
    today = reports.local_day(now or utcnow())
    with database.transaction() as session:
        stored = reports.recompute_all(session, [today - timedelta(days=1), today])
    log.debug("checkpoints: %d daily reports stored", stored)
    return stored


@periodic("checkpoints.daily_reports")
def daily_reports(database: Database) -> None:
    with _lock:
        last = _last_run.get(database.url)
        if last is not None and time.monotonic() - last < EVERY.total_seconds():
            return
        _last_run[database.url] = time.monotonic()
    run_reports(database)
