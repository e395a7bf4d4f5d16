"""Domain events through a durable outbox.

A lower domain records an event in the same transaction as the fact it announces; a worker
later hands it to the handlers that higher domains registered. Each (event, handler) pair is a
delivery, done in its own transaction together with the handler's effects, so an effect and
its "done" mark commit or vanish together. Handlers must still be idempotent: a crash between
a handler's external side effect and the commit repeats the call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from phongdich.db import Base, Database, new_id, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "dispatched", "created_at"),
        # Handlers looking for later events of their topic (checkpoints' report coalescing).
        Index("ix_outbox_events_topic_created_at", "topic", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    unit_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)


OUTBOX: Table = OutboxEvent.__table__  # type: ignore[assignment]  # for bulk inserts


class EventDelivery(Base):
    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "handler"),
        Index("ix_event_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@dataclass(frozen=True)
class Event:
    """What a handler receives: a read-only view of the stored event."""

    id: uuid.UUID
    topic: str
    payload: dict[str, Any]
    unit_code: str | None
    created_at: datetime


Handler = Callable[[Session, Event], None]


@dataclass(frozen=True)
class _Registration:
    topic: str
    name: str
    func: Handler


_REGISTRY: dict[str, _Registration] = {}


def on(topic: str, *, name: str) -> Callable[[Handler], Handler]:
    """Register a handler under a stable name (the name is stored in deliveries: never rename)."""

    def decorator(func: Handler) -> Handler:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"event handler name {name!r} is already registered")
        _REGISTRY[name] = _Registration(topic, name, func)
        return func

    return decorator


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def handlers_for(topic: str) -> list[str]:
    return sorted(r.name for r in _REGISTRY.values() if r.topic == topic)


def load_handlers() -> None:
    """Import every domain's `handlers` and `jobs` modules (outbox handlers, periodic jobs)."""
    from phongdich.domains import load

    load("handlers")
    load("jobs")


def record(
    session: Session, topic: str, payload: dict[str, Any], *, unit_code: str | None = None
) -> uuid.UUID:
    """Write an event in the caller's transaction; it exists only if the caller commits."""
    event = OutboxEvent(topic=topic, payload=payload, unit_code=unit_code)
    session.add(event)
    session.flush()
    return event.id


def record_many(
    session: Session, topic: str, items: Sequence[tuple[dict[str, Any], str | None]]
) -> int:
    """Many events of one topic at once (payload, unit code), written with one bulk insert.

    For imports that change thousands of people in one transaction.
    """
    if not items:
        return 0
    now = utcnow()
    session.execute(
        insert(OUTBOX),
        [
            {
                "id": uuid.uuid4(),
                "topic": topic,
                "payload": payload,
                "unit_code": unit,
                "created_at": now,
                "dispatched": False,
            }
            for payload, unit in items
        ],
    )
    return len(items)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_CAP_SECONDS))


def dispatch(database: Database, *, batch: int = 500) -> int:
    """Turn undispatched events into one pending delivery per handler registered now."""
    with database.transaction() as session:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched.is_(False))
            .order_by(OutboxEvent.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for event in events:
            for name in handlers_for(event.topic):
                session.add(EventDelivery(event_id=event.id, handler=name))
            event.dispatched = True
        return len(events)


def _run_one(database: Database, now: datetime) -> bool:
    """Claim one due delivery and run it; False when nothing is due."""
    with database.transaction() as session:
        delivery = session.scalars(
            select(EventDelivery)
            .where(EventDelivery.status == "pending", EventDelivery.next_attempt_at <= now)
            .order_by(EventDelivery.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if delivery is None:
            return False
        stored = session.get_one(OutboxEvent, delivery.event_id)
        event = Event(
            stored.id, stored.topic, dict(stored.payload), stored.unit_code, stored.created_at
        )
        registration = _REGISTRY.get(delivery.handler)
        delivery.attempts += 1
        if registration is None:
            delivery.status = "dead"
            delivery.last_error = f"no handler named {delivery.handler!r} is registered"
            return True
        try:
            with session.begin_nested():
                registration.func(session, event)
        except Exception as exc:  # a handler's failure must not stop the others
            log.warning(
                "event handler %s failed on %s (attempt %d): %s",
                delivery.handler,
                event.topic,
                delivery.attempts,
                type(exc).__name__,
            )
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "dead"
            else:
                delivery.next_attempt_at = now + _backoff(delivery.attempts)
        else:
            delivery.status = "done"
            delivery.last_error = ""
        return True


def process_pending(database: Database, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Dispatch new events and run due deliveries; returns how many deliveries ran."""
    dispatch(database)
    ran = 0
    while ran < limit and _run_one(database, now or utcnow()):
        ran += 1
    return ran


def dead_letters(session: Session, *, limit: int = 200) -> list[tuple[EventDelivery, OutboxEvent]]:
    rows = session.execute(
        select(EventDelivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
        .where(EventDelivery.status == "dead")
        .order_by(EventDelivery.updated_at.desc())
        .limit(limit)
    ).all()
    return [(d, e) for d, e in rows]


def retry_dead(session: Session, delivery_id: uuid.UUID) -> None:
    """An admin fixed the cause: give the delivery a fresh set of attempts."""
    from phongdich.errors import NotFound

    delivery = session.get(EventDelivery, delivery_id)
    if delivery is None or delivery.status != "dead":
        raise NotFound("dead-letter delivery", delivery_id)
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    session.flush()
