"""Officials' pages for what follows a case: the commune's quarantine day here, with what the
lockdown, zone level and treatment pages (`lockdown_pages.py`, `zone_pages.py`) share.

The pages call the same services as the JSON API, in the actor's jurisdiction. A refused form
is shown again with the reason next to the field it names and what was typed kept; each change
runs in a savepoint, so a refusal leaves nothing behind when the request's transaction commits.
Days are local (Asia/Ho_Chi_Minh): a quarantine day or a zone level belongs to the local date.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, covers, units_within
from phongdich.auth.roles import Permission
from phongdich.cases import quarantine, zones
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.web.forms import FormValues, parse_date, redirect
from phongdich.web.reasons import N_
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=40)]
Errors = dict[str, str]
LineErrors = list[tuple[int, str]]

SYMPTOMS = (
    ("fever", N_("Fever")),
    ("cough", N_("Cough")),
    ("shortness_of_breath", N_("Shortness of breath")),
    ("loss_of_taste_smell", N_("Loss of taste or smell")),
)
PLACE_LABELS = {"home": N_("at home"), "facility": N_("at a facility"), "hotel": N_("at a hotel")}
RESULT_LABELS = {"negative": N_("Negative"), "positive": N_("Positive"), "invalid": N_("Invalid")}
KIND_LABELS = {"quarantine": N_("Quarantine"), "monitoring": N_("Monitoring")}
TIER_LABELS = {
    0: N_("Home care"),
    1: N_("Tier 1 (mild)"),
    2: N_("Tier 2 (moderate)"),
    3: N_("Tier 3 (severe, ICU)"),
}
LEVEL_LABELS = {
    1: N_("Level 1 · green"),
    2: N_("Level 2 · yellow"),
    3: N_("Level 3 · orange"),
    4: N_("Level 4 · red"),
}
ACTION_LABELS = {
    "declare": N_("Declared"),
    "narrow": N_("Narrowed"),
    "widen": N_("Widened"),
    "lift": N_("Lifted"),
}
TEMPERATURE_RULE = N_("a number such as 37.5")
LINE_RULE = N_("unit CODE, street CODE name, or address CODE house and street")
BEDS_RULE = N_("a number of beds from 0 to 100000")
# Fixed reasons the services give in English, listed here so the catalogue has them.
SERVICE_REASONS = (
    N_("degrees Celsius from 30 to 45"),
    N_("a day from the order's issue until today"),
    N_("the order is closed"),
    N_("the last scheduled test has no negative result yet"),
    N_("unit, street or address"),
    N_("a unit inside the lockdown's unit"),
    N_("the street or address, as residents' addresses hold it"),
    N_("at least one area"),
    N_("an active area of this lockdown"),
    N_("at least one area to end or add"),
    N_("would end every area: lift the lockdown instead"),
    N_("the lockdown is lifted"),
    N_("the lockdown is already lifted"),
    N_("1, 2, 3 or 4"),
    N_("required: why the level differs from the computed one"),
    N_("today or earlier"),
    N_("0 (home care), 1, 2 or 3"),
)
RESIDENTS_PER_PAGE = 50
ZONES_PER_PAGE = 200
MAX_LINES = 40


def picked_day(text: str | None) -> tuple[date, Errors]:
    """The day picker's day (today when empty or wrong, with the reason beside the picker)."""
    if not text:
        return zones.today(), {}
    try:
        return parse_date(text.strip()[:20], "day"), {}
    except Invalid as exc:
        return zones.today(), {"day": exc.reason}


def page_number(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 7 else 1


def unit_problem(session: Session, actor: Actor, code: str) -> str:
    """Why a typed unit code cannot be used ('' when it can)."""
    if not code:
        return "required"
    unit = session.get(AdminUnit, code[:16])
    if unit is None or not covers(actor, unit.path):
        return f"no admin unit with code {code[:16]}"
    return ""


def unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes)))
    return {row.code: row.name for row in rows}


def actor_units(session: Session, actor: Actor, limit: int = 300) -> list[AdminUnit]:
    """The units a form may name (offered as suggestions; more are typed by code)."""
    query = select(AdminUnit).order_by(AdminUnit.path).limit(limit)
    within = units_within(actor)
    if within is not None:
        query = query.where(within)
    return list(session.scalars(query))


# The commune's quarantine day


@dataclass(frozen=True)
class QuarantineRow:
    due: quarantine.Due
    day_number: int
    length: int
    due_today: tuple[date, ...]
    overdue: tuple[date, ...]


def _quarantine_rows(session: Session, actor: Actor, day: date) -> list[QuarantineRow]:
    rows = []
    for due in quarantine.due_today(session=session, actor=actor, day=day):
        first = quarantine.local_day(due.order.starts_at)
        rows.append(
            QuarantineRow(
                due=due,
                day_number=(day - first).days,
                length=(due.order.ends_on - first).days,
                due_today=tuple(t.due_on for t in due.tests if t.due_on == day),
                overdue=tuple(t.due_on for t in due.tests if t.due_on < day),
            )
        )
    return rows


def _quarantine_page(
    request: Request,
    session: Session,
    actor: Actor,
    day: date,
    *,
    day_errors: Errors | None = None,
    row_values: Mapping[str, Mapping[str, str]] | None = None,
    row_errors: Mapping[str, Errors] | None = None,
    status_code: int = 200,
) -> Response:
    rows = _quarantine_rows(session, actor, day)
    summary = {
        "tests_due": sum(len(r.due_today) for r in rows),
        "tests_overdue": sum(len(r.overdue) for r in rows),
        "checks_to_do": sum(1 for r in rows if not r.due.checked_today),
        "releases_due": sum(1 for r in rows if r.due.release_due),
    }
    listed = {str(r.due.order.id) for r in rows}
    # A refusal about an order no longer listed (released meanwhile) goes above the list.
    unlisted = [
        reason
        for key, errors in (row_errors or {}).items()
        if key not in listed
        for reason in errors.values()
    ]
    return render(
        request,
        "cases/area_quarantine.html",
        {
            "day": day,
            "today": zones.today(),
            "rows": rows,
            "summary": summary,
            "unit_names": unit_names(session, {r.due.order.unit_code or "" for r in rows}),
            "day_errors": day_errors or {},
            "row_values": row_values or {},
            "row_errors": row_errors or {},
            "unlisted_errors": unlisted,
            "may_manage": actor.can(Permission.CASES_MANAGE),
            "symptoms": SYMPTOMS,
            "place_labels": PLACE_LABELS,
            "kind_labels": KIND_LABELS,
            "result_labels": RESULT_LABELS,
        },
        status_code=status_code,
    )


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_day(
    request: Request, actor: ActorDep, session: SessionDep, day: str | None = None
) -> Response:
    """Who in the actor's units is due what on the day: tests, the health check, release."""
    actor.require(Permission.CASES_READ)
    picked, errors = picked_day(day)
    return _quarantine_page(
        request, session, actor, picked, day_errors=errors, status_code=422 if errors else 200
    )


def _order_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound("quarantine order", text[:40]) from None


def _temperature(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise Invalid("temperature", TEMPERATURE_RULE) from None
    if not math.isfinite(value):
        raise Invalid("temperature", TEMPERATURE_RULE)
    return value


@router.post("/quarantine/{order_id}/check", response_class=HTMLResponse)
def check_submit(
    request: Request, order_id: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """The team's daily health check of one person, for the day shown on the list."""
    actor.require(Permission.CASES_MANAGE)
    order = quarantine.get_order(session=session, actor=actor, order_id=_order_id(order_id))
    day, day_errors = picked_day(values.get("day"))
    try:
        if day_errors:
            raise Invalid("day", day_errors["day"])
        with session.begin_nested():
            quarantine.record_check(
                session=session,
                actor=actor,
                order_id=order.id,
                day=day,
                temperature=_temperature(values.get("temperature", "")[:10]),
                symptoms=[name for name, _ in SYMPTOMS if values.get(f"symptom_{name}")],
                note=values.get("note", "")[:300],
            )
    except (Invalid, Conflict) as exc:
        field = exc.field if isinstance(exc, Invalid) else "form"
        reason = exc.reason if isinstance(exc, Invalid) else exc.message
        known = ("temperature", "note", "day")
        return _quarantine_page(
            request,
            session,
            actor,
            day,
            row_values={str(order.id): values},
            row_errors={str(order.id): {field if field in known else "form": reason}},
            status_code=exc.status_code,
        )
    return redirect(f"/quarantine?day={day.isoformat()}&notice=saved#order-{order.id}")


@router.post("/quarantine/{order_id}/release", response_class=HTMLResponse)
def release_submit(
    request: Request, order_id: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """End the order; refused (with the reason on its row) before its last negative test."""
    actor.require(Permission.CASES_MANAGE)
    order = quarantine.get_order(session=session, actor=actor, order_id=_order_id(order_id))
    day, _ = picked_day(values.get("day"))
    try:
        with session.begin_nested():
            quarantine.release(session=session, actor=actor, order_id=order.id)
    except Conflict as exc:
        return _quarantine_page(
            request,
            session,
            actor,
            day,
            row_errors={str(order.id): {"release": exc.message}},
            status_code=exc.status_code,
        )
    return redirect(f"/quarantine?day={day.isoformat()}&notice=saved")
