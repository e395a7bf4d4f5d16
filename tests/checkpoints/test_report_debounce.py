"""A station's backlog arrives in many batches: only the last batch's event recomputes the day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.checkpoints import handlers, reports
from phongdich.checkpoints.sync import RECEIVED
from phongdich.db import utcnow
from phongdich.events import OutboxEvent


def received(
    session: Session, checkpoint_id: uuid.UUID, days: list[str], seconds: int
) -> events.Event:
    event_id = events.record(
        session, RECEIVED, {"checkpoint_id": str(checkpoint_id), "days": days}, unit_code="001"
    )
    row = session.get(OutboxEvent, event_id)
    assert row is not None
    row.created_at = utcnow() + timedelta(seconds=seconds)
    session.flush()
    return events.Event(row.id, row.topic, row.payload, row.unit_code, row.created_at)


def test_only_the_last_batch_recomputes(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[uuid.UUID, list[date]]] = []
    monkeypatch.setattr(reports, "recompute", lambda s, c, days: calls.append((c, list(days))))
    checkpoint, other = uuid.uuid4(), uuid.uuid4()
    first = received(session, checkpoint, ["2021-09-10"], 1)
    other_checkpoint = received(session, other, ["2021-09-10"], 2)
    second = received(session, checkpoint, ["2021-09-10", "2021-09-11"], 3)
    handlers.recompute_reports(session, first)
    assert calls == []  # the second batch covers the same day and will recompute it
    handlers.recompute_reports(session, other_checkpoint)
    handlers.recompute_reports(session, second)
    assert [c for c, _ in calls] == [other, checkpoint]
    narrower = received(session, checkpoint, ["2021-09-11"], 4)
    handlers.recompute_reports(session, second)  # a later batch covers only one of its days
    assert [c for c, _ in calls] == [other, checkpoint, checkpoint]
    assert narrower.created_at > second.created_at


def test_a_later_batch_already_handled_does_not_excuse_this_one(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stations at once: the later batch's recompute may have run before this one
    committed, so this one still recomputes."""
    from phongdich.events import EventDelivery

    calls: list[uuid.UUID] = []
    monkeypatch.setattr(reports, "recompute", lambda s, c, days: calls.append(c))
    checkpoint = uuid.uuid4()
    first = received(session, checkpoint, ["2021-09-10"], 1)
    second = received(session, checkpoint, ["2021-09-10"], 2)
    row = session.get(OutboxEvent, second.id)
    assert row is not None
    row.dispatched = True
    session.add(EventDelivery(event_id=second.id, handler=handlers.HANDLER, status="done"))
    session.flush()
    handlers.recompute_reports(session, first)
    assert calls == [checkpoint]
