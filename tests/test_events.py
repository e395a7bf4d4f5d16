"""The outbox commits for real: these tests use the database directly and delete what they wrote."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.db import Database, utcnow
from phongdich.errors import NotFound
from phongdich.events import EventDelivery, OutboxEvent


@pytest.fixture
def outbox(database: Database) -> Iterator[Database]:
    """The shared database, emptied of outbox rows afterwards; handlers registered here are
    removed again."""
    before = set(events._REGISTRY)
    yield database
    for name in set(events._REGISTRY) - before:
        events.unregister(name)
    with database.transaction() as session:
        session.execute(delete(EventDelivery))
        session.execute(delete(OutboxEvent))


def topic() -> str:
    return f"test.{uuid.uuid4().hex[:8]}"


def deliveries(database: Database, event_id: uuid.UUID) -> list[EventDelivery]:
    with database.transaction() as session:
        return list(
            session.scalars(select(EventDelivery).where(EventDelivery.event_id == event_id))
        )


def test_record_writes_in_the_callers_transaction(session: Session) -> None:
    event_id = events.record(session, "person.moved", {"to": "00001"}, unit_code="00001")
    stored = session.get_one(OutboxEvent, event_id)
    assert (stored.topic, stored.payload, stored.unit_code, stored.dispatched) == (
        "person.moved",
        {"to": "00001"},
        "00001",
        False,
    )


def test_an_event_rolled_back_with_its_transaction_leaves_nothing(outbox: Database) -> None:
    name = topic()
    recorded: list[uuid.UUID] = []

    def announce_then_fail() -> None:
        with outbox.transaction() as session:
            recorded.append(events.record(session, name, {"n": 1}))
            raise RuntimeError("the fact it announces failed")

    with pytest.raises(RuntimeError):
        announce_then_fail()
    [event_id] = recorded
    with outbox.transaction() as session:
        assert session.get(OutboxEvent, event_id) is None
    assert events.process_pending(outbox) == 0


def test_a_handler_runs_once_and_its_effects_commit_with_the_delivery(outbox: Database) -> None:
    name = topic()
    seen: list[tuple[str, dict[str, object], str | None]] = []

    @events.on(name, name=f"{name}.count")
    def count(session: Session, event: events.Event) -> None:
        seen.append((event.topic, event.payload, event.unit_code))
        events.record(session, f"{name}.followup", {"from": str(event.id)})

    assert events.handlers_for(name) == [f"{name}.count"]
    with outbox.transaction() as session:
        event_id = events.record(session, name, {"case": 7}, unit_code="00001")
    assert events.process_pending(outbox) == 1
    assert events.process_pending(outbox) == 0
    assert seen == [(name, {"case": 7}, "00001")]
    [delivery] = deliveries(outbox, event_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("done", 1, "")
    with outbox.transaction() as session:
        followup = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == f"{name}.followup")
        )
        assert [e.payload for e in followup] == [{"from": str(event_id)}]


def test_each_handler_of_a_topic_gets_its_own_delivery(outbox: Database) -> None:
    name = topic()
    calls: Counter[str] = Counter()
    for handler in ("a", "b"):

        def run(session: Session, event: events.Event, handler: str = handler) -> None:
            calls[handler] += 1

        events.on(name, name=f"{name}.{handler}")(run)
    with outbox.transaction() as session:
        event_id = events.record(session, name, {})
    assert events.process_pending(outbox) == 2
    assert calls == Counter({"a": 1, "b": 1})
    assert sorted(d.handler for d in deliveries(outbox, event_id)) == [f"{name}.a", f"{name}.b"]


def test_a_handler_name_is_registered_once() -> None:
    name = topic()

    def first(session: Session, event: events.Event) -> None: ...

    def second(session: Session, event: events.Event) -> None: ...

    events.on(name, name=name)(first)
    try:
        events.on(name, name=name)(first)  # importing a module twice is harmless
        with pytest.raises(ValueError, match="already registered"):
            events.on(name, name=name)(second)
    finally:
        events.unregister(name)
    assert events.handlers_for(name) == []


def test_a_failing_handler_backs_off_then_goes_dead_and_can_be_revived(outbox: Database) -> None:
    name = topic()
    broken = True
    calls: list[int] = []

    @events.on(name, name=f"{name}.flaky")
    def flaky(session: Session, event: events.Event) -> None:
        calls.append(1)
        # A write the failure must undo: the handler's savepoint rolls back with it.
        events.record(session, f"{name}.partial", {})
        if broken:
            raise ConnectionError("lab system down for 001085012345")

    with outbox.transaction() as session:
        event_id = events.record(session, name, {})
    now = utcnow() + timedelta(seconds=1)
    assert events.process_pending(outbox, now=now) == 1
    [delivery] = deliveries(outbox, event_id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "ConnectionError: lab system down for 001085012345"
    assert delivery.next_attempt_at == now + timedelta(seconds=events.BACKOFF_BASE_SECONDS)
    # Not due yet: nothing runs.
    assert events.process_pending(outbox, now=now + timedelta(seconds=1)) == 0
    waits = []
    while delivery.status == "pending":
        waits.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
        assert events.process_pending(outbox, now=now) == 1
        [delivery] = deliveries(outbox, event_id)
    assert waits == [timedelta(seconds=2 * 2**n) for n in range(events.MAX_ATTEMPTS - 1)]
    assert (delivery.status, delivery.attempts, len(calls)) == (
        "dead",
        events.MAX_ATTEMPTS,
        events.MAX_ATTEMPTS,
    )
    assert events.process_pending(outbox, now=now + timedelta(days=1)) == 0
    with outbox.transaction() as session:
        assert (
            session.scalars(select(OutboxEvent).where(OutboxEvent.topic == f"{name}.partial")).all()
            == []
        )
        [(dead, event)] = [(d, e) for d, e in events.dead_letters(session) if e.id == event_id]
        assert (dead.handler, event.topic) == (f"{name}.flaky", name)
        events.retry_dead(session, dead.id)
    broken = False
    assert events.process_pending(outbox) == 1
    [delivery] = deliveries(outbox, event_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("done", 1, "")
    with outbox.transaction() as session:
        assert events.dead_letters(session) == []
        with pytest.raises(NotFound):
            events.retry_dead(session, delivery.id)  # only dead deliveries are revived
        with pytest.raises(NotFound):
            events.retry_dead(session, uuid.uuid4())


def test_the_backoff_is_capped() -> None:
    assert events._backoff(1) == timedelta(seconds=2)
    assert events._backoff(5) == timedelta(seconds=32)
    assert events._backoff(30) == timedelta(seconds=events.BACKOFF_CAP_SECONDS)


def test_a_delivery_whose_handler_is_gone_is_dead_at_once(outbox: Database) -> None:
    name = topic()
    events.on(name, name=f"{name}.gone")(lambda session, event: None)
    with outbox.transaction() as session:
        event_id = events.record(session, name, {})
    events.dispatch(outbox)
    events.unregister(f"{name}.gone")
    assert events.process_pending(outbox) == 1
    [delivery] = deliveries(outbox, event_id)
    assert delivery.status == "dead"
    assert delivery.last_error == f"no handler named '{name}.gone' is registered"


def test_an_event_without_handlers_is_dispatched_and_forgotten(outbox: Database) -> None:
    with outbox.transaction() as session:
        event_id = events.record(session, topic(), {})
    assert events.dispatch(outbox) == 1
    assert events.dispatch(outbox) == 0
    with outbox.transaction() as session:
        assert session.get_one(OutboxEvent, event_id).dispatched is True
    assert deliveries(outbox, event_id) == []


def test_concurrent_workers_handle_each_delivery_once(outbox: Database) -> None:
    if outbox.dialect != "postgresql":
        pytest.skip("several workers run only on PostgreSQL (SQLite has a single writer)")
    name = topic()
    handled: Counter[uuid.UUID] = Counter()
    lock = threading.Lock()

    @events.on(name, name=f"{name}.once")
    def once(session: Session, event: events.Event) -> None:
        with lock:
            handled[event.id] += 1
        threading.Event().wait(0.002)  # widen the window in which a second worker could grab it

    with outbox.transaction() as session:
        ids = [events.record(session, name, {"n": n}) for n in range(60)]
    start = threading.Barrier(4)
    ran: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            total = 0
            for _ in range(5):
                total += events.process_pending(outbox)
            with lock:
                ran.append(total)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    ran.append(events.process_pending(outbox))  # whatever the workers left for a last cycle
    assert sum(ran) == 60
    assert handled == Counter(dict.fromkeys(ids, 1))
    with outbox.transaction() as session:
        statuses = session.scalars(
            select(EventDelivery.status).where(EventDelivery.event_id.in_(ids))
        ).all()
    assert Counter(statuses) == Counter({"done": 60})
