"""Reactions to checkpoint events: passages or rapid tests arrived, so the days they fall in
are aggregated again. Recomputing is an upsert of the whole day, so a repeated delivery (or a
late passage arriving after the worker's evening run) leaves one report with the right figures.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.checkpoints import reports
from phongdich.checkpoints.models import DailyReport
from phongdich.checkpoints.sync import RECEIVED
from phongdich.events import EventDelivery, OutboxEvent

# A report computed this long after the event was written already holds the event's passages
# (they were committed with it, and a station's batch commits within seconds). A station back
# from a day offline sends a hundred batches: the first delivery computes the day, the others
# find it fresh and skip, instead of reading the growing day a hundred times.
SETTLED = timedelta(minutes=2)
HANDLER = "checkpoints.daily_reports"


def _superseded(
    session: Session, event: events.Event, checkpoint_id: uuid.UUID, dates: set[date]
) -> bool:
    """A later batch of the same checkpoint covering these days is waiting: its delivery will
    recompute them, with this batch's passages too (committed before it). A station sending a
    day's backlog in a hundred batches then costs one recompute, not a hundred, and does not
    hold SQLite's single writer while the station waits."""
    # Only a later event whose delivery has yet to run counts: one already run may have read
    # the day before this batch committed (two stations at once), and one dead never will.
    waiting = or_(
        OutboxEvent.dispatched.is_(False),
        and_(EventDelivery.handler == HANDLER, EventDelivery.status == "pending"),
    )
    later = session.scalars(
        select(OutboxEvent.payload)
        .outerjoin(EventDelivery, EventDelivery.event_id == OutboxEvent.id)
        .where(
            OutboxEvent.topic == RECEIVED,
            OutboxEvent.created_at > event.created_at,
            OutboxEvent.unit_code == event.unit_code,
            waiting,
        )
    ).all()
    for payload in later:
        if str(payload.get("checkpoint_id")) != str(checkpoint_id):
            continue
        try:
            covered = {date.fromisoformat(str(day)) for day in payload.get("days") or ()}
        except ValueError:
            continue
        if dates <= covered:
            return True
    return False


@events.on(RECEIVED, name=HANDLER)
def recompute_reports(session: Session, event: events.Event) -> None:
    """The event names UTC dates; each overlaps two local days, and both are recomputed."""
    payload = event.payload
    try:
        checkpoint_id = uuid.UUID(str(payload["checkpoint_id"]))
        dates = [date.fromisoformat(str(day)) for day in payload.get("days") or ()]
    except (KeyError, ValueError):
        return  # a malformed event cannot become valid by retrying
    days = reports.local_days_of_utc_dates(dates)
    if not days or _superseded(session, event, checkpoint_id, set(dates)):
        return
    fresh = set(
        session.scalars(
            select(DailyReport.day).where(
                DailyReport.checkpoint_id == checkpoint_id,
                DailyReport.day.in_(days),
                DailyReport.computed_at >= event.created_at + SETTLED,
            )
        )
    )
    reports.recompute(session, checkpoint_id, [day for day in days if day not in fresh])
