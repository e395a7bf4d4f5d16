"""A citizen's own test results, without an account: found by their pass, or by document number
and phone (then remembered on that phone)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from phongdich.auth import audit, devices
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.credentials.models import HealthPass
from phongdich.credentials.passes import PREFIX as PASS_PREFIX
from phongdich.credentials.passes import initials_of
from phongdich.credentials.routes import request_keys
from phongdich.credentials.status import current_person
from phongdich.credentials.verify import TrustStore, verify_text
from phongdich.deps import SessionDep, origin
from phongdich.errors import NotFound
from phongdich.persons.models import Person
from phongdich.persons.service import owner_with_phone
from phongdich.testing import reports
from phongdich.testing.campaigns import METHOD_LABELS
from phongdich.testing.schemas import PersonResult
from phongdich.web import i18n
from phongdich.web.forms import FormValues
from phongdich.web.reasons import N_
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_PASS_TEXT = 4000
# What a citizen reads for each outcome of their sample; None: the result is not back yet.
OUTCOME_LABELS = {
    "negative": N_("Negative"),
    "positive": N_("Positive"),
    "pool_positive": N_("Pooled sample positive – waiting for an individual retest"),
    "invalid": N_("Inconclusive – to be sampled again"),
    None: N_("Waiting for the result"),
}
ANSWERED_LABELS = {
    "pool_positive": N_("Pooled sample positive – see the individual retest"),
    "invalid": N_("Inconclusive – see the new sample"),
}


def _pass_holder(session: Session, request: Request, text: str) -> Person | None:
    """The person a valid personal pass was issued to; None for anything else."""
    text = text.strip()
    if not text.startswith(PASS_PREFIX):
        return None
    verdict = verify_text(text, TrustStore.from_database(session, request_keys(request)))
    pass_id = verdict.payload.get("pass_id") if isinstance(verdict.payload, dict) else None
    if not verdict.valid or not isinstance(pass_id, str):
        return None
    try:
        row = session.get(HealthPass, uuid.UUID(pass_id))
        return current_person(session, row.person_id) if row is not None else None
    except (ValueError, NotFound):
        return None


def _remembered(session: Session, request: Request) -> Person | None:
    person_id = devices.remembered(session, request)
    if person_id is None:
        return None
    try:
        return current_person(session, person_id)
    except NotFound:
        return None


def _result_rows(found: Sequence[PersonResult]) -> list[dict[str, Any]]:
    """Newest first. A positive pool or an invalid tube stops saying "waiting" once a later
    individual sample of the person has its result."""
    rows = []
    for r in found:
        outcome = r.outcome
        label = OUTCOME_LABELS.get(outcome, outcome or "")
        answered = any(
            later.retest
            and later.outcome in ("negative", "positive")
            and later.sampled_at >= r.sampled_at
            for later in found
            if later is not r
        )
        if answered and outcome in ANSWERED_LABELS:
            label = ANSWERED_LABELS[outcome]
        rows.append(
            {
                "sampled_at": r.sampled_at,
                "campaign": r.campaign_name,
                "pooled": r.pooled,
                "retest": r.retest,
                "method": i18n.gettext_(METHOD_LABELS.get(r.method, r.method)),
                "outcome": outcome or "waiting",
                "label": i18n.gettext_(label),
            }
        )
    return rows


def _citizen_page(
    request: Request,
    session: Session,
    person: Person | None,
    *,
    remembered: bool = False,
    values: Mapping[str, str] | None = None,
    not_found: bool = False,
    status_code: int = 200,
) -> Response:
    rows: list[dict[str, Any]] = []
    if person is not None:
        citizen = Actor(
            user_id=None,
            username="citizen",
            role=Role.CITIZEN,
            person_id=person.id,
            origin=origin(request),
        )
        rows = _result_rows(reports.own_results(session=session, person_id=person.id))
        audit.record(
            session,
            citizen,
            "read",
            "test_results",
            person.id,
            unit_code=person.unit_code,
            detail=f"own results: {len(rows)}",
        )
    response = render(
        request,
        "testing_lab/citizen.html",
        {
            "person": person,
            "initials": initials_of(person.full_name) if person else "",
            "rows": rows,
            "remembered": remembered,
            "values": values or {},
            "not_found": not_found,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/results", response_class=HTMLResponse)
def citizen_results(request: Request, session: SessionDep) -> Response:
    """A remembered phone sees its person's results at once; any other is asked who they are."""
    person = _remembered(session, request)
    return _citizen_page(request, session, person, remembered=person is not None)


@router.post("/results", response_class=HTMLResponse)
def citizen_find(request: Request, session: SessionDep, values: FormValues) -> Response:
    """A pass, or document and phone; a wrong pair and an unknown document answer the same."""
    pass_text = values.get("pass", "")[:MAX_PASS_TEXT]
    number = values.get("document_number", "")[:40]
    phone = values.get("phone", "")[:20]
    if pass_text:
        person = _pass_holder(session, request, pass_text)
    else:
        person = owner_with_phone(session, number, phone)
    if person is None:
        return _citizen_page(
            request,
            session,
            None,
            values={"document_number": number},
            not_found=True,
            status_code=404,
        )
    response = _citizen_page(request, session, person)
    # Their own document and phone prove who they are: this phone may remember them. A pass
    # does not: anyone who has seen it could paste it.
    if not pass_text and devices.remembered(session, request) != person.id:
        devices.remember(session, request, response, person.id)
    return response


@router.post("/results/forget")
def citizen_forget(request: Request, session: SessionDep) -> Response:
    """ "Not you?": a shared phone stops showing its last user's results."""
    response = RedirectResponse("/results", status_code=303)
    devices.forget(session, request, response)
    return response
