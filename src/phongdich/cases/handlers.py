"""Reactions to events: a positive result opens a case, a case is traced, results reach the
scheduled tests of quarantine orders. Each is idempotent (see the functions they call)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction, system_actor
from phongdich.cases import quarantine, service, tracing
from phongdich.cases.models import Case, QuarantineOrder, ScheduledTest
from phongdich.errors import NotFound
from phongdich.persons.models import Person
from phongdich.testing import orders
from phongdich.web.reasons import N_

POSITIVE_TOPIC = "result.positive"  # written by testing (testing.resolution.POSITIVE_TOPIC)


@events.on(POSITIVE_TOPIC, name="cases.open_from_positive")
def open_from_positive(session: Session, event: events.Event) -> None:
    """No human step: the positive person's case opens (a contact is escalated)."""
    payload = event.payload
    try:
        service.open_case(
            session=session,
            actor=system_actor("events"),
            person_id=uuid.UUID(str(payload["person_id"])),
            reference_time=datetime.fromisoformat(str(payload["sampled_at"])),
            sample_id=str(payload["sample_id"]),
        )
    except NotFound:  # the person was removed meanwhile
        return


def _trace(session: Session, event: events.Event) -> None:
    case = session.get(Case, uuid.UUID(str(event.payload["case_id"])))
    if case is not None and case.outcome is None:
        tracing.trace(session=session, actor=system_actor("events"), case=case)


@events.on(service.OPENED_TOPIC, name="cases.trace_opened")
def trace_opened(session: Session, event: events.Event) -> None:
    _trace(session, event)


@events.on(service.RETRACE_TOPIC, name="cases.retrace")
def retrace(session: Session, event: events.Event) -> None:
    _trace(session, event)


@events.on("health.status_changed", name="cases.scheduled_tests")
def scheduled_tests(session: Session, event: events.Event) -> None:
    """A new result may be a quarantined person's scheduled test."""
    payload = event.payload
    named = payload.get("person_ids") or [payload["person_id"]]
    people = [uuid.UUID(str(p)) for p in named]
    followed = list(
        session.scalars(
            select(QuarantineOrder.person_id).where(
                QuarantineOrder.person_id.in_(people), QuarantineOrder.status == quarantine.OPEN
            )
        )
    )
    if followed:
        quarantine.apply_results(session, followed)


@orders.provider("cases.quarantine_tests")
def quarantine_tests(session: Session, actor: Actor, day: date) -> list[orders.SamplingOrder]:
    """Scheduled tests of open orders in the team's units, due by `day`: on the sampling page."""
    rows = session.execute(
        select(ScheduledTest, QuarantineOrder, Person)
        .join(QuarantineOrder, QuarantineOrder.id == ScheduledTest.order_id)
        .join(Person, Person.id == QuarantineOrder.person_id)
        .where(
            ScheduledTest.status == "due",
            ScheduledTest.due_on <= day,
            QuarantineOrder.status == quarantine.OPEN,
            in_jurisdiction(actor, QuarantineOrder.unit_code),
        )
        .order_by(ScheduledTest.due_on)
        .limit(1000)
    ).all()
    audit.record_many(
        session,
        actor,
        "read",
        "person",
        [(order.person_id, order.unit_code) for _, order, _ in rows],
        detail="quarantine tests due",
    )
    return [
        orders.SamplingOrder(
            person=person,
            due_on=test.due_on,
            reason=N_("quarantine test"),
            detail=str(test.day_number),
        )
        for test, _, person in rows
    ]
