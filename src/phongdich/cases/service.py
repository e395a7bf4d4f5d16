"""Cases (F0): opening (from a positive result or by an official), escalation of a contact,
classification, severity and routing, outcome, and the contacts an official adds by hand."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.cases import clusters, quarantine, treatment
from phongdich.cases import policy as policies
from phongdich.cases.exposures import Found
from phongdich.cases.models import Case, CaseEvent, Contact, Exposure, QuarantineOrder
from phongdich.cases.tracing import Merger
from phongdich.credentials.status import NewFact, current_person, record_facts
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.persons.service import visible_ids
from phongdich.text import new_code

OPENED_TOPIC = "case.opened"
RETRACE_TOPIC = "case.retrace"
SOURCES = ("community", "quarantine", "imported")
CLASSIFICATIONS = ("suspect", "probable", "confirmed")
OUTCOMES = ("recovered", "deceased")
ISOLATION_PLACES = ("home", "facility", "hospital")
REFERENCE_KINDS = ("symptom_onset", "first_positive")
# How far back an official may date a case's reference time, an onset or a declared contact.
MAX_AGE = timedelta(days=60)


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise Invalid(field, "a time with its UTC offset, such as 2021-09-01T08:00:00+07:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid(field, "a time between the years 1 and 9999 in UTC") from None


def _choice(value: str, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise Invalid(field, "one of " + ", ".join(choices))
    return value


def _event(session: Session, case: Case, kind: str, detail: str, by: str) -> None:
    session.add(CaseEvent(case_id=case.id, kind=kind, detail=detail[:2000], by=by[:64]))


def open_case(
    *,
    session: Session,
    actor: Actor,
    person_id: uuid.UUID,
    reference_time: datetime,
    reference_kind: str = "first_positive",
    source: str | None = None,
    severity: str = "mild",
    classification: str = "confirmed",
    isolation_place: str = "home",
    sample_id: str | None = None,
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """Open the person's case, or return the open one (created False).

    A contact in quarantine is escalated: their contacts are marked converted, their orders
    closed, and the case keeps the link to the contact (F0 → F1 → F0). Tracing follows through
    the `case.opened` event.
    """
    actor.require(Permission.CASES_MANAGE)
    now = now or utcnow()
    reference_time = _aware(reference_time, "reference_time")
    _choice(reference_kind, REFERENCE_KINDS, "reference_kind")
    _choice(severity, treatment.SEVERITIES, "severity")
    _choice(classification, CLASSIFICATIONS, "classification")
    _choice(isolation_place, ISOLATION_PLACES, "isolation_place")
    if source is not None:
        _choice(source, SOURCES, "source")
    if reference_time > now:
        raise Invalid("reference_time", "not in the future")
    if sample_id is None and reference_time < now - MAX_AGE:
        # Typed by hand: a slip of the year would trace a window nobody's check-ins reach.
        raise Invalid("reference_time", f"within the last {MAX_AGE.days} days")
    if sample_id is not None:
        known = session.scalar(select(Case).where(Case.sample_id == sample_id))
        if known is not None:
            return known, False
    # One open case per person: concurrent positives of one person wait for each other here.
    person = current_person(session, person_id)
    session.execute(select(Person.id).where(Person.id == person.id).with_for_update(key_share=True))
    existing = session.scalar(
        select(Case).where(Case.person_id == person.id, Case.outcome.is_(None)).limit(1)
    )
    if existing is not None:
        if sample_id is not None:
            _note_sample(session, existing, sample_id, actor)
        return existing, False

    orders = list(
        session.scalars(
            select(QuarantineOrder).where(
                QuarantineOrder.person_id == person.id, QuarantineOrder.status == quarantine.OPEN
            )
        )
    )
    confined = [o for o in orders if o.kind == "quarantine"]
    if source is None:
        source = "quarantine" if confined else "community"
    # Confined since the quarantine began: the infectious window in the community ends then.
    isolated_at = min([now, *(o.issued_at for o in confined)])
    contacts = list(
        session.scalars(
            select(Contact)
            .where(Contact.person_id == person.id, Contact.status == "active")
            .order_by(Contact.created_at.desc())
        )
    )
    case = Case(
        code=f"BN-{new_code(8)}",
        person_id=person.id,
        unit_code=person.unit_code,
        reference_time=reference_time,
        reference_kind=reference_kind,
        source=source,
        classification=classification,
        severity=severity,
        isolation_place=isolation_place,
        isolated_at=isolated_at,
        opened_at=now,
        opened_by=actor.username[:64],
        sample_id=sample_id,
        from_contact_id=contacts[0].id if contacts else None,
    )
    session.add(case)
    session.flush()
    _event(
        session,
        case,
        "opened",
        f"{classification}, {source}" + (f", sample {sample_id}" if sample_id else ""),
        actor.username,
    )
    for contact in contacts:
        contact.status = "converted"
        contact.converted_case_id = case.id
    if contacts:
        _event(
            session, case, "escalated", f"was a contact of {len(contacts)} case(s)", actor.username
        )
        for contact in contacts:
            parent = session.get(Case, contact.case_id)
            if parent is not None:
                clusters.link(session, case, parent, _contact_place(session, contact))
    quarantine.close_orders(
        session=session, actor=actor, person_id=person.id, status="converted", now=now
    )
    facts = [NewFact(person.id, "isolation_started", isolated_at, {}, f"case:{case.id}:isolation")]
    if classification == "confirmed":
        facts.append(NewFact(person.id, "case_confirmed", now, {}, f"case:{case.id}:confirmed"))
    record_facts(session=session, actor=actor, domain=quarantine.FACTS_DOMAIN, facts=facts)
    _route(session, case, actor)
    events.record(session, OPENED_TOPIC, {"case_id": str(case.id)}, unit_code=case.unit_code)
    audit.record(session, actor, "create", "case", case.id, unit_code=case.unit_code)
    session.flush()
    return case, True


def _note_sample(session: Session, case: Case, sample_id: str, actor: Actor) -> None:
    """Another positive sample of an open case: on its timeline once, however often the
    result is delivered (a case opened by hand adopts the first one as its own)."""
    if case.sample_id is None:
        case.sample_id = sample_id
        _event(session, case, "positive", f"positive sample {sample_id}", actor.username)
        return
    detail = f"another positive sample {sample_id}"
    seen = session.scalar(
        select(CaseEvent.id).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "positive", CaseEvent.detail == detail
        )
    )
    if seen is None:
        _event(session, case, "positive", detail, actor.username)


def _contact_place(session: Session, contact: Contact) -> str:
    exposure = session.scalars(
        select(Exposure).where(Exposure.contact_id == contact.id).order_by(Exposure.start).limit(1)
    ).first()
    if exposure is None:
        return ""
    return clusters.place_of(
        session,
        Found(
            person_id=contact.person_id,
            source_person_id=exposure.source_person_id,
            via=exposure.via,
            key=exposure.key,
            start=exposure.start,
            end=exposure.end,
            venue_id=exposure.venue_id,
            household_id=exposure.household_id,
            vehicle_plate=exposure.vehicle_plate,
        ),
    )


def _route(session: Session, case: Case, actor: Actor) -> None:
    facility = treatment.route(session, case)
    if facility is None:
        if case.facility_id is None:
            _event(
                session, case, "routed", "no facility of its tier has a free bed", actor.username
            )
        return
    if facility.id != case.facility_id:
        case.facility_id = facility.id
        _event(
            session,
            case,
            "routed",
            f"{facility.name} ({facility.code}), tier {facility.tier}",
            actor.username,
        )


def get_case(*, session: Session, actor: Actor, code: str) -> Case:
    """Outside the jurisdiction looks like absent; every read is audited."""
    actor.require(Permission.CASES_READ)
    case = session.scalar(
        select(Case).where(
            Case.code == code.strip().upper(), in_jurisdiction(actor, Case.unit_code)
        )
    )
    if case is None:
        raise NotFound("case", code)
    audit.record(session, actor, "read", "case", case.id, unit_code=case.unit_code)
    return case


def list_cases(
    *, session: Session, actor: Actor, open_only: bool = False, limit: int = 200, offset: int = 0
) -> Sequence[tuple[Case, Person]]:
    actor.require(Permission.CASES_READ)
    query = (
        select(Case, Person)
        .join(Person, Person.id == Case.person_id)
        .where(in_jurisdiction(actor, Case.unit_code))
        .order_by(Case.opened_at.desc(), Case.code)
        .limit(limit)
        .offset(offset)
    )
    if open_only:
        query = query.where(Case.outcome.is_(None))
    rows = session.execute(query).all()
    audit.record(
        session,
        actor,
        "read",
        "case_list",
        None,
        unit_code=actor.unit_code,
        detail=f"{len(rows)} cases",
    )
    return rows


@dataclass(frozen=True)
class CaseChange:
    severity: str | None = None
    classification: str | None = None
    isolation_place: str | None = None
    symptom_onset: datetime | None = None
    outcome: str | None = None
    outcome_at: datetime | None = None


def update_case(
    *, session: Session, actor: Actor, code: str, change: CaseChange, now: datetime | None = None
) -> Case:
    """Each change lands on the timeline; a new symptom onset moves the window and re-traces."""
    actor.require(Permission.CASES_MANAGE)
    now = now or utcnow()
    case = get_case(session=session, actor=actor, code=code)
    if case.outcome is not None and change != CaseChange():
        raise Conflict(f"the case is closed ({case.outcome})")
    facts: list[NewFact] = []
    if change.severity is not None and change.severity != case.severity:
        case.severity = _choice(change.severity, treatment.SEVERITIES, "severity")
        _event(session, case, "severity", case.severity, actor.username)
        _route(session, case, actor)
    if change.classification is not None and change.classification != case.classification:
        case.classification = _choice(change.classification, CLASSIFICATIONS, "classification")
        _event(session, case, "classified", case.classification, actor.username)
        if case.classification == "confirmed":
            facts.append(
                NewFact(case.person_id, "case_confirmed", now, {}, f"case:{case.id}:confirmed")
            )
    if change.isolation_place is not None and change.isolation_place != case.isolation_place:
        case.isolation_place = _choice(change.isolation_place, ISOLATION_PLACES, "isolation_place")
        _event(session, case, "isolation", case.isolation_place, actor.username)
    if change.symptom_onset is not None:
        onset = _aware(change.symptom_onset, "symptom_onset")
        if onset > now:
            raise Invalid("symptom_onset", "not in the future")
        if onset < case.opened_at - MAX_AGE:
            raise Invalid("symptom_onset", f"within {MAX_AGE.days} days before the case opened")
        if onset != case.reference_time:
            case.reference_time, case.reference_kind = onset, "symptom_onset"
            _event(session, case, "onset", onset.isoformat(), actor.username)
            events.record(
                session, RETRACE_TOPIC, {"case_id": str(case.id)}, unit_code=case.unit_code
            )
    if change.outcome is not None:
        _choice(change.outcome, OUTCOMES, "outcome")
        at = _aware(change.outcome_at, "outcome_at") if change.outcome_at else now
        if at > now or at < case.opened_at:
            # Earlier than the opening, the outcome would predate the facts it ends.
            raise Invalid("outcome_at", "between the case's opening and now")
        case.outcome, case.outcome_at = change.outcome, at
        _event(session, case, change.outcome, at.isoformat(), actor.username)
        facts.append(
            NewFact(case.person_id, "isolation_ended", at, {}, f"case:{case.id}:isolation-end")
        )
        if change.outcome == "recovered":
            facts.append(
                NewFact(case.person_id, "case_recovered", at, {}, f"case:{case.id}:recovered")
            )
    if facts:
        record_facts(session=session, actor=actor, domain=quarantine.FACTS_DOMAIN, facts=facts)
    audit.record(session, actor, "update", "case", case.id, unit_code=case.unit_code)
    session.flush()
    return case


def add_contact(
    *,
    session: Session,
    actor: Actor,
    code: str,
    person_id: uuid.UUID,
    start: datetime,
    end: datetime,
    note: str = "",
) -> Contact:
    """An F1 the tracing could not find (a meal together, a shared workplace): declared by hand.
    The same person and start twice is one exposure."""
    actor.require(Permission.CASES_MANAGE)
    case = get_case(session=session, actor=actor, code=code)
    start, end = _aware(start, "start"), _aware(end, "end")
    if end < start:
        raise Invalid("end", "not before start")
    if end > utcnow():
        raise Invalid("end", "not in the future")
    if start < case.reference_time - MAX_AGE:
        raise Invalid("start", f"within {MAX_AGE.days} days before the case's reference time")
    person = current_person(session, person_id)
    if person.id == case.person_id:
        raise Invalid("person_id", "the case's own person")
    if session.scalar(select(Case.id).where(Case.person_id == person.id, Case.outcome.is_(None))):
        raise Conflict("this person is an open case")
    policy = policies.current(session)
    merger = Merger(session, case, policy, actor, utcnow())
    merger.add(
        [
            Found(
                person_id=person.id,
                source_person_id=case.person_id,
                via="declared",
                key=f"declared:{start.strftime('%Y%m%dT%H%M%S')}",
                start=start,
                end=end,
                overlap_minutes=int((end - start).total_seconds() // 60),
            )
        ],
        1,
    )
    merger.follow_up()
    contact = merger.contacts[person.id]
    if note.strip():
        session.execute(
            update(Exposure)
            .where(Exposure.contact_id == contact.id, Exposure.via == "declared")
            .values(note=note.strip()[:300])
        )
    _event(
        session, case, "contact_added", f"declared contact from {start.isoformat()}", actor.username
    )
    return contact


def timeline(*, session: Session, case: Case) -> Sequence[CaseEvent]:
    return session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    ).all()


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    person: Person
    exposures: tuple[Exposure, ...]
    # Does the person live in the reader's units? Who they are is shown only if so; their own
    # commune follows them through its quarantine list.
    visible: bool = True


def contacts_of(*, session: Session, actor: Actor, case: Case) -> list[ContactView]:
    """The case's contacts with their exposures, F1 first (the case was read: jurisdiction)."""
    actor.require(Permission.CASES_READ)
    rows = session.execute(
        select(Contact, Person)
        .join(Person, Person.id == Contact.person_id)
        .where(Contact.case_id == case.id)
        .order_by(Contact.degree, Contact.first_exposure_at, Person.name_folded)
    ).all()
    ids = [c.id for c, _ in rows]
    found: dict[uuid.UUID, list[Exposure]] = {}
    for first in range(0, len(ids), 1000):
        for exposure in session.scalars(
            select(Exposure)
            .where(Exposure.contact_id.in_(ids[first : first + 1000]))
            .order_by(Exposure.start)
        ):
            found.setdefault(exposure.contact_id, []).append(exposure)
    visible = visible_ids(session, actor, [p.id for _, p in rows])
    audit.record_many(
        session,
        actor,
        "read",
        "person",
        [(p.id, p.unit_code) for _, p in rows if p.id in visible],
        detail=f"contacts of case {case.code}",
    )
    return [ContactView(c, p, tuple(found.get(c.id, ())), p.id in visible) for c, p in rows]
