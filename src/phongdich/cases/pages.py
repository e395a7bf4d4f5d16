"""Case pages for officials: the unit's cases, a case with its timeline and contacts, clusters
and their transmission graph.

The pages call the same services as the JSON API, inside the actor's jurisdiction. A refused
form is shown again with what was typed and the reason beside the field it names; each change
runs in a savepoint, so a refused attempt leaves nothing behind.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.cases import clusters, service, tracing, treatment
from phongdich.cases import policy as policies
from phongdich.cases.models import (
    Case,
    CaseEvent,
    Cluster,
    Exposure,
    QuarantineOrder,
    TreatmentFacility,
)
from phongdich.config import get_settings
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound, PhongdichError
from phongdich.persons.models import Household, Person
from phongdich.persons.service import find_by_document
from phongdich.venues.models import Venue
from phongdich.web.forms import FormValues
from phongdich.web.reasons import N_
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=40)]
Errors = dict[str, str]

OPEN_FIELDS = ("document_number", "reference_time", "symptom_onset", "severity")
CHANGE_FIELDS = (
    "severity",
    "classification",
    "isolation_place",
    "symptom_onset",
    "outcome",
    "outcome_at",
)
CONTACT_FIELDS = ("document_number", "start", "end", "note")
TIME_RULE = N_("a date and time such as 2021-09-10 08:30")
YES_NO_RULE = N_("yes or no")
# Fixed reasons the case services give in English, listed so the catalogue has them.
SERVICE_REASONS = (
    N_("not in the future"),
    N_("not before start"),
    N_("the case's own person"),
    N_("this person is an open case"),
    N_("between the case's reference time and now"),
    N_("person with this document not found"),
    N_("a time with its UTC offset, such as 2021-09-01T08:00:00+07:00"),
    N_("a time between the years 1 and 9999 in UTC"),
)

SEVERITY_LABELS = {
    "asymptomatic": N_("asymptomatic"),
    "mild": N_("mild"),
    "moderate": N_("moderate"),
    "severe": N_("severe"),
    "critical": N_("critical"),
}
CLASSIFICATION_LABELS = {
    "suspect": N_("suspect"),
    "probable": N_("probable"),
    "confirmed": N_("confirmed"),
}
SOURCE_LABELS = {
    "community": N_("community"),
    "quarantine": N_("in quarantine"),
    "imported": N_("imported"),
}
ISOLATION_LABELS = {
    "home": N_("at home"),
    "facility": N_("isolation facility"),
    "hospital": N_("hospital"),
}
OUTCOME_LABELS = {"recovered": N_("recovered"), "deceased": N_("deceased")}
VIA_LABELS = {
    "venue": N_("venue"),
    "household": N_("household"),
    "vehicle": N_("vehicle"),
    "declared": N_("declared"),
}
CONTACT_STATUS_LABELS = {
    "active": N_("active"),
    "converted": N_("became a case"),
    "closed": N_("closed"),
}
ORDER_LABELS = {
    "quarantine": N_("quarantine"),
    "monitoring": N_("monitoring"),
    "active": N_("active"),
    "released": N_("released"),
    "converted": N_("became a case"),
    "ended": N_("ended"),
    "cancelled": N_("cancelled"),
    "home": N_("at home"),
    "facility": N_("facility"),
    "hotel": N_("hotel"),
}
EVENT_LABELS = {
    "opened": N_("Opened"),
    "escalated": N_("Escalated from contact"),
    "routed": N_("Routed"),
    "traced": N_("Traced"),
    "severity": N_("Severity"),
    "classified": N_("Classification"),
    "isolation": N_("Isolation place"),
    "onset": N_("Symptom onset"),
    "positive": N_("Positive sample"),
    "contact_added": N_("Contact added"),
    "recovered": N_("Recovered"),
    "deceased": N_("Deceased"),
}
LABELS = {
    "severity": SEVERITY_LABELS,
    "classification": CLASSIFICATION_LABELS,
    "source": SOURCE_LABELS,
    "isolation": ISOLATION_LABELS,
    "outcome": OUTCOME_LABELS,
    "via": VIA_LABELS,
    "contact_status": CONTACT_STATUS_LABELS,
    "order": ORDER_LABELS,
    "event": EVENT_LABELS,
}
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2}):(\d{2})")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local_time(values: Mapping[str, str], name: str, *, required: bool = True) -> datetime | None:
    """A time typed in local time (a datetime-local field), in Asia/Ho_Chi_Minh unless the
    text carries its own offset."""
    text = values.get(name, "")
    if not text:
        if required:
            raise Invalid(name, "required")
        return None
    try:
        match = _DMY.fullmatch(text)
        if match:
            day, month, year, hour, minute = (int(part) for part in match.groups())
            moment = datetime(year, month, day, hour, minute, tzinfo=get_settings().tz)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(name, TIME_RULE) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=get_settings().tz)
    return moment


def _error_field(exc: PhongdichError, known: Sequence[str]) -> tuple[str, str]:
    """Where a service's complaint goes on a form; a person's document problems (a passport
    without nationality, an unknown number) go beside the document number."""
    if isinstance(exc, Invalid):
        name = exc.field.split(".")[0]
        if name in ("nationality", "person_id", "document_kind"):
            name = "document_number"
        return (name if name in known else "form"), exc.reason
    if isinstance(exc, NotFound) and exc.what.startswith("person"):
        return "document_number", exc.message
    return "form", exc.message


def _person(session: Session, actor: Actor, values: Mapping[str, str]) -> Person:
    number = values.get("document_number", "")
    if not number:
        raise Invalid("document_number", "required")
    return find_by_document(session=session, actor=actor, number=number[:20])


def _labels() -> dict[str, Any]:
    return {"labels": LABELS}


# The list of cases and opening one


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    show_all: bool,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    rows = service.list_cases(session=session, actor=actor, open_only=not show_all)
    cases = [case for case, _ in rows]
    facility_ids = {c.facility_id for c in cases if c.facility_id}
    cluster_ids = {c.cluster_id for c in cases if c.cluster_id}
    facilities = {
        f.id: f
        for f in session.scalars(
            select(TreatmentFacility).where(TreatmentFacility.id.in_(facility_ids))
        )
    }
    cluster_codes = dict(
        session.execute(select(Cluster.id, Cluster.code).where(Cluster.id.in_(cluster_ids))).all()
    )
    return render(
        request,
        "cases/case_list.html",
        {
            "rows": rows,
            "show_all": show_all,
            "facilities": facilities,
            "cluster_codes": cluster_codes,
            "unit_names": units.names(
                session=session, codes={c.unit_code for c in cases if c.unit_code}
            ),
            "may_manage": actor.can(Permission.CASES_MANAGE),
            "values": values or {"symptom_onset": "no", "severity": "mild"},
            "errors": errors or {},
            "severities": list(treatment.SEVERITIES),
            **_labels(),
        },
        status_code=status_code,
    )


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request, actor: ActorDep, session: SessionDep, show: str = "open"
) -> Response:
    """The unit's open cases (or all of them), newest first, with the form to open one."""
    actor.require(Permission.CASES_READ)
    return _list_page(request, session, actor, show_all=show == "all")


def _open(session: Session, actor: Actor, values: Mapping[str, str]) -> Case:
    person = _person(session, actor, values)
    reference_time = local_time(values, "reference_time")
    assert reference_time is not None
    onset = values.get("symptom_onset", "no") or "no"
    if onset not in ("yes", "no"):
        raise Invalid("symptom_onset", YES_NO_RULE)
    case, created = service.open_case(
        session=session,
        actor=actor,
        person_id=person.id,
        reference_time=reference_time,
        reference_kind="symptom_onset" if onset == "yes" else "first_positive",
        severity=values.get("severity", "mild") or "mild",
    )
    if not created:
        raise Invalid("document_number", f"already an open case: {case.code}")
    tracing.trace(session=session, actor=actor, case=case)
    return case


@router.post("/cases", response_class=HTMLResponse)
def open_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Open a case by hand and trace it at once; the case page shows what was found."""
    actor.require(Permission.CASES_MANAGE)
    try:
        with session.begin_nested():
            case = _open(session, actor, values)
    except (Invalid, Conflict, NotFound) as exc:
        field, reason = _error_field(exc, OPEN_FIELDS)
        return _list_page(
            request,
            session,
            actor,
            show_all=False,
            values=values,
            errors={field: reason},
            status_code=exc.status_code,
        )
    return _redirect(f"/cases/{case.code}?notice=saved")


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


def _visible_people(session: Session, actor: Actor, person_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The people whose names this official may see: residents of their units."""
    found: set[uuid.UUID] = set()
    ids = list(person_ids)
    for first in range(0, len(ids), 1000):
        found.update(
            session.scalars(
                select(Person.id).where(
                    Person.id.in_(ids[first : first + 1000]),
                    in_jurisdiction(actor, Person.temporary_unit_code, Person.permanent_unit_code),
                )
            )
        )
    return found


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
    person_ids = {v.person.id for v in views} | {case_person.id}
    visible = _visible_people(session, actor, person_ids)
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
            **_labels(),
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
    return _redirect(f"/cases/{case.code}?traced={result.new_contacts}")


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
        field, reason = _error_field(exc, CHANGE_FIELDS)
        return _case_page(
            request,
            session,
            actor,
            case.code,
            change_values=values,
            change_errors={field: reason},
            status_code=exc.status_code,
        )
    return _redirect(f"/cases/{case.code}?notice=saved")


@router.post("/cases/{code}/contacts", response_class=HTMLResponse)
def contact_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """A contact tracing could not find, declared by hand; quarantined like any F1."""
    actor.require(Permission.CASES_MANAGE)
    case = service.get_case(session=session, actor=actor, code=code)
    try:
        with session.begin_nested():
            person = _person(session, actor, values)
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
        field, reason = _error_field(exc, CONTACT_FIELDS)
        return _case_page(
            request,
            session,
            actor,
            case.code,
            contact_values=values,
            contact_errors={field: reason},
            status_code=exc.status_code,
        )
    return _redirect(f"/cases/{case.code}?notice=saved")


# Clusters


@router.get("/clusters", response_class=HTMLResponse)
def cluster_list(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    actor.require(Permission.CASES_READ)
    found = clusters.list_clusters(session=session, actor=actor)
    return render(
        request,
        "cases/cluster_list.html",
        {
            "clusters": found,
            "unit_names": units.names(
                session=session, codes={c.unit_code for c, _ in found if c.unit_code}
            ),
        },
    )


@router.get("/clusters/{code}.json")
def cluster_download(code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """The cluster's graph as a file: the same data the page draws."""
    actor.require(Permission.CASES_READ)
    data = clusters.graph(session=session, actor=actor, code=code)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{data["cluster"]}.json"'},
    )


@router.get("/clusters/{code}", response_class=HTMLResponse)
def cluster_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """The transmission graph, drawn in the browser from the data embedded in the page."""
    actor.require(Permission.CASES_READ)
    data = clusters.graph(session=session, actor=actor, code=code)
    cases = list(
        session.scalars(
            select(Case)
            .join(Cluster, Cluster.id == Case.cluster_id)
            .where(Cluster.code == data["cluster"], in_jurisdiction(actor, Case.unit_code))
            .order_by(Case.opened_at, Case.code)
        )
    )
    kinds = [node["kind"] for node in data["nodes"]]
    return render(
        request,
        "cases/cluster_detail.html",
        {
            "graph": data,
            "cases": cases,
            "counts": {kind: kinds.count(kind) for kind in ("case", "F1", "F2")},
            "unit_names": units.names(session=session, codes={data["unit_code"] or ""}),
            **_labels(),
        },
    )
