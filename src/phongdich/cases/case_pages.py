"""The officials' page of one case: its card, timeline, contacts with their exposures and
orders, tracing again, changes, and contacts declared by hand."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.cases import policy as policies
from phongdich.cases import service, tracing, treatment
from phongdich.cases.models import (
    Case,
    CaseEvent,
    Cluster,
    Exposure,
    QuarantineOrder,
    TreatmentFacility,
)
from phongdich.cases.pages import (
    CHANGE_FIELDS,
    CONTACT_FIELDS,
    error_field,
    labels,
    local_time,
    person_of_form,
    redirect,
)
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.models import Household, Person
from phongdich.persons.service import visible_ids
from phongdich.venues.models import Venue
from phongdich.web.forms import FormValues
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=40)]
Errors = dict[str, str]


# One case


@dataclass(frozen=True)
class ExposureRow:
    exposure: Exposure
    place: str
    place_code: str
    source_name: str


@dataclass(frozen=True)
class ContactRow:
    view: service.ContactView
    visible: bool
    exposures: tuple[ExposureRow, ...]
    order: QuarantineOrder | None


def _contact_rows(
    session: Session, actor: Actor, case: Case, case_person: Person
) -> list[ContactRow]:
    views = service.contacts_of(session=session, actor=actor, case=case)
    exposures = [e for v in views for e in v.exposures]
    venues = {
        v.id: v
        for v in session.scalars(
            select(Venue).where(Venue.id.in_({e.venue_id for e in exposures if e.venue_id}))
        )
    }
    households = {
        h.id: h
        for h in session.scalars(
            select(Household).where(
                Household.id.in_({e.household_id for e in exposures if e.household_id})
            )
        )
    }
    visible = {v.person.id for v in views if v.visible} | visible_ids(
        session, actor, [case_person.id]
    )
    names = {v.person.id: v.person.full_name for v in views}
    names[case_person.id] = case_person.full_name
    contact_ids = [v.contact.id for v in views]
    orders: dict[uuid.UUID, QuarantineOrder] = {}
    for first in range(0, len(contact_ids), 1000):
        for order in session.scalars(
            select(QuarantineOrder)
            .where(QuarantineOrder.contact_id.in_(contact_ids[first : first + 1000]))
            .order_by(QuarantineOrder.issued_at)
        ):
            orders[order.contact_id] = order
    # An open order follows the person: a second exposure moved the order of an earlier case.
    missing = [v.person.id for v in views if v.contact.id not in orders]
    by_person: dict[uuid.UUID, QuarantineOrder] = {}
    for first in range(0, len(missing), 1000):
        for order in session.scalars(
            select(QuarantineOrder)
            .where(QuarantineOrder.person_id.in_(missing[first : first + 1000]))
            .order_by(QuarantineOrder.issued_at)
        ):
            by_person[order.person_id] = order

    def place(exposure: Exposure) -> tuple[str, str]:
        if exposure.venue_id and exposure.venue_id in venues:
            venue = venues[exposure.venue_id]
            return venue.name, venue.code
        if exposure.household_id and exposure.household_id in households:
            household = households[exposure.household_id]
            return household.address, household.code
        if exposure.vehicle_plate:
            return "", exposure.vehicle_plate
        return exposure.note, ""

    rows = []
    for view in views:
        exposure_rows = []
        for exposure in view.exposures:
            name, code = place(exposure)
            source = exposure.source_person_id
            if exposure.via == "household" and source not in visible:
                name, code = "", ""  # the address of someone outside the jurisdiction
            exposure_rows.append(
                ExposureRow(
                    exposure,
                    name,
                    code,
                    names.get(source, "") if source in visible else "",
                )
            )
        rows.append(
            ContactRow(
                view=view,
                visible=view.person.id in visible,
                exposures=tuple(exposure_rows),
                order=orders.get(view.contact.id) or by_person.get(view.person.id),
            )
        )
    return rows


def _case_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    change_values: Mapping[str, str] | None = None,
    change_errors: Errors | None = None,
    contact_values: Mapping[str, str] | None = None,
    contact_errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    case = service.get_case(session=session, actor=actor, code=code)
    person = session.get(Person, case.person_id)
    if person is None:
        raise NotFound("case", code)
    facility = session.get(TreatmentFacility, case.facility_id) if case.facility_id else None
    cluster = session.get(Cluster, case.cluster_id) if case.cluster_id else None
    events: Sequence[CaseEvent] = service.timeline(session=session, case=case)
    contacts = _contact_rows(session, actor, case, person)
    policy = (
        policies.version(session, case.policy_version)
        if case.policy_version
        else policies.current(session)
    )
    traced = request.query_params.get("traced", "")
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "person": person,
            "facility": facility,
            "cluster": cluster,
            "events": events,
            "f1": [c for c in contacts if c.view.contact.degree == 1],
            "f2": [c for c in contacts if c.view.contact.degree == 2],
            "policy": policy,
            "traced": int(traced)
            if traced.isascii() and traced.isdigit() and len(traced) < 7
            else None,
            "unit_names": units.names(
                session=session,
                codes={case.unit_code or ""} | {c.view.contact.unit_code or "" for c in contacts},
            ),
            "may_manage": actor.can(Permission.CASES_MANAGE),
            "is_open": case.outcome is None,
            "change_values": change_values or {},
            "change_errors": change_errors or {},
            "contact_values": contact_values or {},
            "contact_errors": contact_errors or {},
            "severities": list(treatment.SEVERITIES),
            "classifications": list(service.CLASSIFICATIONS),
            "isolation_places": list(service.ISOLATION_PLACES),
            "outcomes": list(service.OUTCOMES),
            **labels(),
        },
        status_code=status_code,
    )


@router.get("/cases/{code}", response_class=HTMLResponse)
def case_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """The case card, its timeline and its contacts (F1 then F2) with their exposures."""
    actor.require(Permission.CASES_READ)
    return _case_page(request, session, actor, code)


@router.post("/cases/{code}/trace", response_class=HTMLResponse)
def trace_submit(code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """Trace again now: only what is new is added, and the page says how many."""
    actor.require(Permission.CASES_MANAGE)
    case = service.get_case(session=session, actor=actor, code=code)
    result = tracing.trace(session=session, actor=actor, case=case)
    return redirect(f"/cases/{case.code}?traced={result.new_contacts}")


def _change(values: Mapping[str, str]) -> service.CaseChange:
    """Empty fields leave the case as it is."""
    return service.CaseChange(
        severity=values.get("severity") or None,
        classification=values.get("classification") or None,
        isolation_place=values.get("isolation_place") or None,
        symptom_onset=local_time(values, "symptom_onset", required=False),
        outcome=values.get("outcome") or None,
        outcome_at=local_time(values, "outcome_at", required=False),
    )


@router.post("/cases/{code}/change", response_class=HTMLResponse)
def change_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CASES_MANAGE)
    case = service.get_case(session=session, actor=actor, code=code)
    try:
        with session.begin_nested():
            service.update_case(
                session=session, actor=actor, code=case.code, change=_change(values)
            )
    except (Invalid, Conflict) as exc:
        field, reason = error_field(exc, CHANGE_FIELDS)
        return _case_page(
            request,
            session,
            actor,
            case.code,
            change_values=values,
            change_errors={field: reason},
            status_code=exc.status_code,
        )
    return redirect(f"/cases/{case.code}?notice=saved")


@router.post("/cases/{code}/contacts", response_class=HTMLResponse)
def contact_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """A contact tracing could not find, declared by hand; quarantined like any F1."""
    actor.require(Permission.CASES_MANAGE)
    case = service.get_case(session=session, actor=actor, code=code)
    try:
        with session.begin_nested():
            person = person_of_form(session, actor, values)
            start = local_time(values, "start")
            end = local_time(values, "end")
            assert start is not None
            assert end is not None
            service.add_contact(
                session=session,
                actor=actor,
                code=case.code,
                person_id=person.id,
                start=start,
                end=end,
                note=values.get("note", "")[:300],
            )
    except (Invalid, Conflict, NotFound) as exc:
        field, reason = error_field(exc, CONTACT_FIELDS)
        return _case_page(
            request,
            session,
            actor,
            case.code,
            contact_values=values,
            contact_errors={field: reason},
            status_code=exc.status_code,
        )
    return redirect(f"/cases/{case.code}?notice=saved")
