"""Quarantine (F1) and monitoring (F2) orders: dates, scheduled tests, daily checks, release.

One open order per person: a new exposure moves the dates of the open order (and its tests)
instead of adding a second order. An F1's order records `quarantine_started`, which turns their
pass red by the default colour rules; release records `quarantine_ended`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.cases.models import Contact, HealthCheck, QuarantineOrder, ScheduledTest
from phongdich.cases.policy import PLACES, Policy
from phongdich.config import get_settings
from phongdich.credentials.status import HealthFact, NewFact, record_facts
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.models import Person

OPEN = "active"
FACTS_DOMAIN = "cases"
ORDERS: Table = QuarantineOrder.__table__  # type: ignore[assignment]  # for bulk inserts
TESTS: Table = ScheduledTest.__table__  # type: ignore[assignment]  # for bulk inserts


def local_day(moment: datetime) -> date:
    return moment.astimezone(get_settings().tz).date()


def _schedule(policy: Policy, kind: str, starts_at: datetime) -> tuple[date, dict[date, int]]:
    first = local_day(starts_at)
    if kind == "quarantine":
        days, length = policy.quarantine_test_days, policy.quarantine_days
    else:
        days, length = policy.monitoring_test_days, policy.monitoring_days
    return first + timedelta(days=length), {first + timedelta(days=d): d for d in days}


@dataclass(frozen=True)
class Need:
    """A contact that must be followed: F1 → quarantine, F2 → monitoring."""

    person_id: uuid.UUID
    contact_id: uuid.UUID
    kind: str  # quarantine | monitoring
    last_exposure_at: datetime
    unit_code: str | None


def ensure_orders(
    *, session: Session, actor: Actor, needs: Sequence[Need], policy: Policy, now: datetime
) -> int:
    """Give every contact an open order, or move the open one to a later exposure; returns how
    many orders were issued. Bulk: tracing one F0 may need thousands of F2 orders."""
    if not needs:
        return 0
    by_person: dict[uuid.UUID, Need] = {}
    for need in needs:  # quarantine outranks monitoring; the latest exposure counts
        held = by_person.get(need.person_id)
        if held is None or (need.kind, need.last_exposure_at) > (held.kind, held.last_exposure_at):
            by_person[need.person_id] = need
    open_orders: dict[uuid.UUID, QuarantineOrder] = {}
    people = sorted(by_person)
    for first in range(0, len(people), 1000):
        # Two traces sharing a contact wait for each other here (in one order: no deadlock).
        # NO KEY UPDATE: the contacts just inserted hold KEY SHARE locks on these rows, which
        # a plain FOR UPDATE would wait on in both transactions at once. The partial unique
        # index refuses a second open order should anything slip past.
        session.execute(
            select(Person.id)
            .where(Person.id.in_(people[first : first + 1000]))
            .order_by(Person.id)
            .with_for_update(key_share=True)
        )
    for first in range(0, len(people), 1000):
        for order in session.scalars(
            select(QuarantineOrder).where(
                QuarantineOrder.person_id.in_(people[first : first + 1000]),
                QuarantineOrder.status == OPEN,
            )
        ):
            open_orders[order.person_id] = order
    new_orders: list[dict[str, object]] = []
    new_tests: list[dict[str, object]] = []
    started: list[NewFact] = []
    moving = [o.id for p, o in open_orders.items() if _moves(o, by_person[p])]
    scheduled: dict[uuid.UUID, dict[date, ScheduledTest]] = {o: {} for o in moving}
    for first in range(0, len(moving), 1000):
        for test in session.scalars(
            select(ScheduledTest).where(ScheduledTest.order_id.in_(moving[first : first + 1000]))
        ):
            scheduled[test.order_id][test.due_on] = test
    for person_id, need in by_person.items():
        held_order = open_orders.get(person_id)
        if held_order is not None:
            if held_order.id in scheduled:
                _move(session, held_order, need, policy, now, scheduled[held_order.id])
            if need.kind == "quarantine" and held_order.kind == "quarantine":
                started.append(_started_fact(held_order.id, person_id, held_order.issued_at))
            continue
        order_id = uuid.uuid4()
        ends_on, tests = _schedule(policy, need.kind, need.last_exposure_at)
        new_orders.append(
            {
                "id": order_id,
                "person_id": person_id,
                "contact_id": need.contact_id,
                "kind": need.kind,
                "place": policy.quarantine_place,
                "unit_code": need.unit_code,
                "starts_at": need.last_exposure_at,
                "ends_on": ends_on,
                "status": OPEN,
                "closed_by": "",
                "issued_at": now,
                "policy_version": policy.version,
            }
        )
        new_tests.extend(
            {
                "id": uuid.uuid4(),
                "order_id": order_id,
                "day_number": number,
                "due_on": day,
                "status": "due",
            }
            for day, number in tests.items()
        )
        if need.kind == "quarantine":
            started.append(_started_fact(order_id, person_id, now))
    if new_orders:
        session.execute(insert(ORDERS), new_orders)
    if new_tests:
        session.execute(insert(TESTS), new_tests)
    if started:
        record_facts(session=session, actor=actor, domain=FACTS_DOMAIN, facts=started)
    return len(new_orders)


def _started_fact(order_id: uuid.UUID, person_id: uuid.UUID, at: datetime) -> NewFact:
    return NewFact(person_id, "quarantine_started", at, {}, f"quarantine:{order_id}:start")


def _moves(order: QuarantineOrder, need: Need) -> bool:
    """Does this need change the open order: monitoring becoming quarantine, or a later
    exposure of the same kind? (An F2 exposure asks for monitoring, which a quarantine
    already exceeds.)"""
    if need.kind == "quarantine" and order.kind == "monitoring":
        return True
    if need.kind == "monitoring" and order.kind == "quarantine":
        return False
    return need.last_exposure_at > order.starts_at


def _move(
    session: Session,
    order: QuarantineOrder,
    need: Need,
    policy: Policy,
    now: datetime,
    scheduled: dict[date, ScheduledTest],
) -> None:
    """A later exposure, or monitoring becoming quarantine: new dates, tests rescheduled.

    Monitoring does not confine: a quarantine that follows it is issued now, which is where
    the person's exposure-to-quarantine window (and, should they turn positive, their
    infectious window in the community) ends."""
    upgrade = need.kind == "quarantine" and order.kind == "monitoring"
    if upgrade:
        order.kind = "quarantine"
        order.contact_id = need.contact_id
        order.issued_at = now
    order.starts_at = max(order.starts_at, need.last_exposure_at)
    order.ends_on, tests = _schedule(policy, order.kind, order.starts_at)
    for day, test in scheduled.items():
        if test.status == "due" and day not in tests:
            test.status = "cancelled"
    for day, number in tests.items():
        if day in scheduled:
            if scheduled[day].status == "cancelled":
                scheduled[day].status = "due"
            continue
        session.add(ScheduledTest(order_id=order.id, day_number=number, due_on=day))


def close_orders(
    *, session: Session, actor: Actor, person_id: uuid.UUID, status: str, now: datetime
) -> list[QuarantineOrder]:
    """End a person's open orders (converted to a case, released, cancelled)."""
    orders = list(
        session.scalars(
            select(QuarantineOrder).where(
                QuarantineOrder.person_id == person_id, QuarantineOrder.status == OPEN
            )
        )
    )
    ended: list[NewFact] = []
    for order in orders:
        order.status = status
        order.closed_at = now
        order.closed_by = actor.username[:64]
        for test in session.scalars(
            select(ScheduledTest).where(
                ScheduledTest.order_id == order.id, ScheduledTest.status == "due"
            )
        ):
            test.status = "cancelled"
        if order.kind == "quarantine":
            ended.append(
                NewFact(person_id, "quarantine_ended", now, {}, f"quarantine:{order.id}:end")
            )
    if ended:
        record_facts(session=session, actor=actor, domain=FACTS_DOMAIN, facts=ended)
    session.flush()
    return orders


# Test results reaching scheduled tests


def apply_results(session: Session, person_ids: Sequence[uuid.UUID]) -> int:
    """Mark scheduled tests done from the person's individual test results (health facts).

    A result counts for the latest scheduled test due by the day after it was taken (a test a
    day early counts); earlier tests still due are then `missed`. Idempotent.
    """
    changed = 0
    orders = session.scalars(
        select(QuarantineOrder).where(
            QuarantineOrder.person_id.in_(list(person_ids)), QuarantineOrder.status == OPEN
        )
    ).all()
    for order in orders:
        due = list(
            session.scalars(
                select(ScheduledTest)
                .where(ScheduledTest.order_id == order.id, ScheduledTest.status == "due")
                .order_by(ScheduledTest.due_on)
            )
        )
        if not due:
            continue
        facts = session.execute(
            select(HealthFact.occurred_at, HealthFact.value)
            .where(
                HealthFact.person_id == order.person_id,
                HealthFact.kind == "test_result",
                HealthFact.occurred_at >= order.starts_at,
            )
            .order_by(HealthFact.occurred_at)
        ).all()
        for occurred_at, value in facts:
            day = local_day(occurred_at)
            reached = [t for t in due if t.due_on <= day + timedelta(days=1)]
            if not reached:
                continue
            for test in reached[:-1]:
                test.status = "missed"
            test = reached[-1]
            test.status = "done"
            test.result = str(value.get("result", ""))[:8] or None
            test.tested_at = occurred_at
            due = [t for t in due if t not in reached]
            changed += len(reached)
    session.flush()
    return changed


# The commune's day


@dataclass(frozen=True)
class Due:
    order: QuarantineOrder
    person: Person
    tests: tuple[ScheduledTest, ...]  # due today or overdue
    checked_today: bool
    release_due: bool  # the order ends today or has ended
    last_result: str | None


def due_today(*, session: Session, actor: Actor, day: date) -> list[Due]:
    """Every open order in the actor's units with what it needs today."""
    actor.require(Permission.CASES_READ)
    rows = session.execute(
        select(QuarantineOrder, Person)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(QuarantineOrder.status == OPEN, in_jurisdiction(actor, QuarantineOrder.unit_code))
        .order_by(QuarantineOrder.unit_code, Person.name_folded)
    ).all()
    order_ids = [o.id for o, _ in rows]
    tests: dict[uuid.UUID, list[ScheduledTest]] = {}
    checked: set[uuid.UUID] = set()
    for first in range(0, len(order_ids), 1000):
        part = order_ids[first : first + 1000]
        for test in session.scalars(
            select(ScheduledTest)
            .where(ScheduledTest.order_id.in_(part), ScheduledTest.status.in_(("due", "done")))
            .order_by(ScheduledTest.due_on)
        ):
            tests.setdefault(test.order_id, []).append(test)
        checked.update(
            session.scalars(
                select(HealthCheck.order_id).where(
                    HealthCheck.order_id.in_(part), HealthCheck.day == day
                )
            )
        )
    found = []
    for order, person in rows:
        mine = tests.get(order.id, [])
        done = [t for t in mine if t.status == "done"]
        found.append(
            Due(
                order=order,
                person=person,
                tests=tuple(t for t in mine if t.status == "due" and t.due_on <= day),
                checked_today=order.id in checked,
                release_due=order.ends_on <= day,
                last_result=done[-1].result if done else None,
            )
        )
    audit.record(
        session,
        actor,
        "read",
        "quarantine_list",
        None,
        unit_code=actor.unit_code,
        detail=f"{day.isoformat()}: {len(found)} orders",
    )
    return found


def get_order(*, session: Session, actor: Actor, order_id: uuid.UUID) -> QuarantineOrder:
    actor.require(Permission.CASES_READ)
    order = session.scalar(
        select(QuarantineOrder).where(
            QuarantineOrder.id == order_id, in_jurisdiction(actor, QuarantineOrder.unit_code)
        )
    )
    if order is None:
        raise NotFound("quarantine order", order_id)
    return order


def record_check(
    *,
    session: Session,
    actor: Actor,
    order_id: uuid.UUID,
    day: date,
    temperature: float | None = None,
    symptoms: Sequence[str] = (),
    note: str = "",
) -> tuple[HealthCheck, bool]:
    """The team's daily check; the same day twice keeps the first (a retried form)."""
    actor.require(Permission.CASES_MANAGE)
    order = get_order(session=session, actor=actor, order_id=order_id)
    if order.status != OPEN:
        raise Conflict("the order is closed")
    if temperature is not None and not 30.0 <= temperature <= 45.0:
        raise Invalid("temperature", "degrees Celsius from 30 to 45")
    if day < local_day(order.issued_at) or day > local_day(utcnow()):
        raise Invalid("day", "a day from the order's issue until today")
    existing = session.scalar(
        select(HealthCheck).where(HealthCheck.order_id == order.id, HealthCheck.day == day)
    )
    if existing is not None:
        return existing, False
    check = HealthCheck(
        order_id=order.id,
        day=day,
        temperature=temperature,
        symptoms=[s.strip()[:40] for s in symptoms if s.strip()][:20],
        note=note.strip()[:300],
        checked_by=actor.username[:64],
    )
    session.add(check)
    session.flush()
    audit.record(session, actor, "create", "health_check", check.id, unit_code=order.unit_code)
    return check, True


def release(
    *, session: Session, actor: Actor, order_id: uuid.UUID, now: datetime | None = None
) -> QuarantineOrder:
    """End a quarantine at its end date when the last scheduled test came back negative."""
    actor.require(Permission.CASES_MANAGE)
    now = now or utcnow()
    order = get_order(session=session, actor=actor, order_id=order_id)
    if order.status != OPEN:
        raise Conflict(f"the order is already {order.status}")
    blocker = release_blocker(session, order, local_day(now))
    if blocker:
        raise Conflict(blocker)
    _release(session, actor, order, now)
    return order


def release_blocker(session: Session, order: QuarantineOrder, today: date) -> str:
    """Why the order cannot end today ('' when it can)."""
    if order.ends_on > today:
        return f"the order runs until {order.ends_on.isoformat()}"
    tests = list(
        session.scalars(
            select(ScheduledTest)
            .where(ScheduledTest.order_id == order.id, ScheduledTest.status != "cancelled")
            .order_by(ScheduledTest.due_on)
        )
    )
    if tests and (tests[-1].status != "done" or tests[-1].result != "negative"):
        return "the last scheduled test has no negative result yet"
    return ""


def _release(session: Session, actor: Actor, order: QuarantineOrder, now: datetime) -> None:
    status = "released" if order.kind == "quarantine" else "ended"
    close_orders(session=session, actor=actor, person_id=order.person_id, status=status, now=now)
    for contact in session.scalars(
        select(Contact).where(Contact.person_id == order.person_id, Contact.status == "active")
    ):
        contact.status = "closed"
    audit.record(session, actor, status, "quarantine_order", order.id, unit_code=order.unit_code)


def release_due(session: Session, actor: Actor, now: datetime) -> int:
    """Every order whose end has come and whose last test is negative ends (the daily job)."""
    today = local_day(now)
    released = 0
    for order in session.scalars(
        select(QuarantineOrder).where(
            QuarantineOrder.status == OPEN, QuarantineOrder.ends_on <= today
        )
    ).all():
        if order.status == OPEN and not release_blocker(session, order, today):
            _release(session, actor, order, now)
            released += 1
    return released


def set_place(*, session: Session, actor: Actor, order_id: uuid.UUID, place: str) -> None:
    actor.require(Permission.CASES_MANAGE)
    if place not in PLACES:
        raise Invalid("place", "one of " + ", ".join(PLACES))
    order = get_order(session=session, actor=actor, order_id=order_id)
    order.place = place
    audit.record(session, actor, "update", "quarantine_order", order.id, unit_code=order.unit_code)
