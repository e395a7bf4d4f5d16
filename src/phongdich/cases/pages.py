"""Case pages for officials: the unit's cases, a case with its timeline and contacts, clusters
and their transmission graph.

The pages call the same services as the JSON API, inside the actor's jurisdiction. A refused
form is shown again with what was typed and the reason beside the field it names; each change
runs in a savepoint, so a refused attempt leaves nothing behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
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
from phongdich.cases.models import (
    Case,
    Cluster,
    TreatmentFacility,
)
from phongdich.config import get_settings
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound, PhongdichError
from phongdich.persons.models import Person
from phongdich.persons.service import find_by_document
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


def redirect(url: str) -> RedirectResponse:
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


def error_field(exc: PhongdichError, known: Sequence[str]) -> tuple[str, str]:
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


def person_of_form(session: Session, actor: Actor, values: Mapping[str, str]) -> Person:
    number = values.get("document_number", "")
    if not number:
        raise Invalid("document_number", "required")
    return find_by_document(session=session, actor=actor, number=number[:20])


def labels() -> dict[str, Any]:
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
            **labels(),
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
    person = person_of_form(session, actor, values)
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
        field, reason = error_field(exc, OPEN_FIELDS)
        return _list_page(
            request,
            session,
            actor,
            show_all=False,
            values=values,
            errors={field: reason},
            status_code=exc.status_code,
        )
    return redirect(f"/cases/{case.code}?notice=saved")


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
            **labels(),
        },
    )
