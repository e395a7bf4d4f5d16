"""Reactions to events: a positive result opens a case, a case is traced, results reach the
scheduled tests of quarantine orders. Each is idempotent (see the functions they call)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction, system_actor
from phongdich.cases import quarantine, service, tracing
from phongdich.cases.models import Case, Contact, Exposure, QuarantineOrder, ScheduledTest
from phongdich.db import utcnow
from phongdich.errors import NotFound
from phongdich.persons import dedupe
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


@dedupe.resolver("cases.contacts_and_orders")
def fold_duplicate(session: Session, duplicate_id: uuid.UUID, survivor_id: uuid.UUID) -> None:
    """Two records of one person, both contacts of one case or both under an open order: one
    contact (exposures moved, the same key once) and one open order remain."""
    survivors = {
        c.case_id: c
        for c in session.scalars(select(Contact).where(Contact.person_id == survivor_id))
    }
    for duplicate in session.scalars(select(Contact).where(Contact.person_id == duplicate_id)):
        kept = survivors.get(duplicate.case_id)
        if kept is None:
            continue
        keys = set(session.scalars(select(Exposure.key).where(Exposure.contact_id == kept.id)))
        session.execute(
            delete(Exposure).where(Exposure.contact_id == duplicate.id, Exposure.key.in_(keys))
        )
        session.execute(
            update(Exposure).where(Exposure.contact_id == duplicate.id).values(contact_id=kept.id)
        )
        if duplicate.degree < kept.degree:
            kept.degree, kept.via_contact_id = duplicate.degree, None
        kept.first_exposure_at = min(kept.first_exposure_at, duplicate.first_exposure_at)
        kept.last_exposure_at = max(kept.last_exposure_at, duplicate.last_exposure_at)
        if kept.status != "active" and duplicate.status == "active":
            kept.status = "active"
        session.execute(
            update(Contact)
            .where(Contact.via_contact_id == duplicate.id)
            .values(via_contact_id=kept.id)
        )
        session.execute(
            update(QuarantineOrder)
            .where(QuarantineOrder.contact_id == duplicate.id)
            .values(contact_id=kept.id)
        )
        session.execute(
            update(Case).where(Case.from_contact_id == duplicate.id).values(from_contact_id=kept.id)
        )
        session.flush()
        session.delete(duplicate)
    open_orders = list(
        session.scalars(
            select(QuarantineOrder).where(
                QuarantineOrder.person_id.in_((duplicate_id, survivor_id)),
                QuarantineOrder.status == quarantine.OPEN,
            )
        )
    )
    if len(open_orders) == 2:
        # Quarantine outranks monitoring, then the later start: the other one is cancelled.
        keep = max(open_orders, key=lambda o: (o.kind, o.starts_at))
        for order in open_orders:
            if order is not keep:
                order.status, order.closed_at, order.closed_by = "cancelled", utcnow(), "merge"
                session.execute(
                    update(ScheduledTest)
                    .where(ScheduledTest.order_id == order.id, ScheduledTest.status == "due")
                    .values(status="cancelled")
                )
    session.flush()
