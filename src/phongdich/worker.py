"""Background work: outbox deliveries and periodic jobs (retention, as domains add them)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from phongdich import events
from phongdich.db import Database

log = logging.getLogger(__name__)

PeriodicJob = Callable[[Database], None]
_PERIODIC: dict[str, PeriodicJob] = {}


def periodic(name: str) -> Callable[[PeriodicJob], PeriodicJob]:
    """Register a job run on every worker cycle (it must be cheap when there is nothing to do)."""

    def decorator(func: PeriodicJob) -> PeriodicJob:
        _PERIODIC[name] = func
        return func

    return decorator


def run_once(database: Database) -> int:
    ran = events.process_pending(database)
    for name, job in list(_PERIODIC.items()):
        try:
            job(database)
        except Exception:  # one failing job must not stop the outbox
            log.exception("periodic job %s failed", name)
    return ran


def run_forever(database: Database, stop: threading.Event, poll_seconds: float) -> None:
    events.load_handlers()
    while not stop.is_set():
        try:
            ran = run_once(database)
        except Exception:  # keep the worker alive through a database hiccup
            log.exception("worker cycle failed")
            ran = 0
        if ran == 0:
            stop.wait(poll_seconds)


def start_in_thread(
    database: Database, poll_seconds: float
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        args=(database, stop, poll_seconds),
        name="phongdich-worker",
        daemon=True,
    )
    thread.start()
    return thread, stop
