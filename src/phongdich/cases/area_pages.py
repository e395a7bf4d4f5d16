"""Officials' pages for what follows a case: the commune's quarantine day, lockdowns, zone
levels and treatment facilities.

The pages call the same services as the JSON API, in the actor's jurisdiction. A refused form
is shown again with the reason next to the field it names and what was typed kept; each change
runs in a savepoint, so a refusal leaves nothing behind when the request's transaction commits.
Days are local (Asia/Ho_Chi_Minh): a quarantine day or a zone level belongs to the local date.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.adminunits.service import home_commune
from phongdich.auth.actor import Actor, covers, units_within
from phongdich.auth.roles import Permission
from phongdich.cases import lockdowns, quarantine, treatment, zones
from phongdich.cases.models import Lockdown, LockdownArea
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.web.forms import FormValues
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
DATE_RULE = N_("a date as YYYY-MM-DD or DD/MM/YYYY")
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


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _parse_date(text: str, field: str) -> date:
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(field, DATE_RULE) from None


def _picked_day(text: str | None) -> tuple[date, Errors]:
    """The day picker's day (today when empty or wrong, with the reason beside the picker)."""
    if not text:
        return zones.today(), {}
    try:
        return _parse_date(text.strip()[:20], "day"), {}
    except Invalid as exc:
        return zones.today(), {"day": exc.reason}


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 7 else 1


def _unit_problem(session: Session, actor: Actor, code: str) -> str:
    """Why a typed unit code cannot be used ('' when it can)."""
    if not code:
        return "required"
    unit = session.get(AdminUnit, code[:16])
    if unit is None or not covers(actor, unit.path):
        return f"no admin unit with code {code[:16]}"
    return ""


def _unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes)))
    return {row.code: row.name for row in rows}


def _actor_units(session: Session, actor: Actor, limit: int = 300) -> list[AdminUnit]:
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
            "unit_names": _unit_names(session, {r.due.order.unit_code or "" for r in rows}),
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
    picked, errors = _picked_day(day)
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
    day, day_errors = _picked_day(values.get("day"))
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
    return _redirect(f"/quarantine?day={day.isoformat()}&notice=saved#order-{order.id}")


@router.post("/quarantine/{order_id}/release", response_class=HTMLResponse)
def release_submit(
    request: Request, order_id: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """End the order; refused (with the reason on its row) before its last negative test."""
    actor.require(Permission.CASES_MANAGE)
    order = quarantine.get_order(session=session, actor=actor, order_id=_order_id(order_id))
    day, _ = _picked_day(values.get("day"))
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
    return _redirect(f"/quarantine?day={day.isoformat()}&notice=saved")


# Lockdowns


def _area_lines(
    session: Session, actor: Actor, text: str
) -> tuple[list[lockdowns.AreaInput], list[int], LineErrors]:
    """Areas typed one a line (`unit CODE`, `street CODE name`, `address CODE text`), with the
    line number of each and the reason for every line that is wrong."""
    areas: list[lockdowns.AreaInput] = []
    numbers: list[int] = []
    problems: LineErrors = []
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        return [], [], [(MAX_LINES + 1, "too long")]
    for number, line in enumerate(lines, start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        kind = parts[0].lower()
        if kind not in lockdowns.KINDS or len(parts) < 2:
            problems.append((number, LINE_RULE))
            continue
        code = parts[1][:16]
        problem = _unit_problem(session, actor, code)
        if problem:
            problems.append((number, problem))
            continue
        rest = parts[2] if len(parts) > 2 else ""
        if kind == "unit" and rest:
            problems.append((number, LINE_RULE))
            continue
        areas.append(lockdowns.AreaInput(kind, code, rest[:200]))
        numbers.append(number)
    return areas, numbers, problems


def _area_error(exc: Invalid, numbers: Sequence[int]) -> tuple[int, str] | None:
    """A service complaint about `areas.N.…` as (the line it came from, the reason)."""
    match = re.fullmatch(r"areas\.(\d+)(\..*)?", exc.field)
    if match is None or int(match.group(1)) >= len(numbers):
        return None
    return numbers[int(match.group(1))], exc.reason


@dataclass(frozen=True)
class LockdownRow:
    lockdown: Lockdown
    areas: list[LockdownArea]
    residents: int | None


def _resident_count(session: Session, actor: Actor, lockdown: Lockdown) -> int | None:
    if not actor.can(Permission.PERSONS_READ):
        return None
    _, total, _ = lockdowns.residents(session=session, actor=actor, code=lockdown.code, limit=1)
    return total


def _lockdowns_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    line_errors: LineErrors | None = None,
    status_code: int = 200,
) -> Response:
    rows = [
        LockdownRow(
            lockdown,
            lockdowns.active_areas(session, lockdown),
            _resident_count(session, actor, lockdown),
        )
        for lockdown in lockdowns.list_lockdowns(session=session, actor=actor)
    ]
    points = lockdowns.points_per_unit(session=session, actor=actor)
    mine = [
        unit
        for unit in session.scalars(
            select(AdminUnit).where(AdminUnit.code.in_(list(points))).order_by(AdminUnit.path)
        )
        if covers(actor, unit.path)
    ]
    codes = {r.lockdown.unit_code for r in rows} | {a.unit_code for r in rows for a in r.areas}
    return render(
        request,
        "cases/area_lockdowns.html",
        {
            "rows": rows,
            "points": [(unit, points[unit.code]) for unit in mine],
            "unit_names": _unit_names(session, codes),
            "units": _actor_units(session, actor),
            "values": values or {"unit_code": home_commune(session=session, actor=actor)},
            "errors": errors or {},
            "line_errors": line_errors or [],
            "may_manage": actor.can(Permission.CASES_MANAGE),
        },
        status_code=status_code,
    )


@router.get("/lockdowns", response_class=HTMLResponse)
def lockdowns_list(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """Active lockdowns in the actor's units and the lockdown points per unit."""
    actor.require(Permission.CASES_READ)
    return _lockdowns_page(request, session, actor)


@router.post("/lockdowns", response_class=HTMLResponse)
def lockdown_declare(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CASES_MANAGE)
    errors: Errors = {}
    unit_code = values.get("unit_code", "")[:16]
    problem = _unit_problem(session, actor, unit_code)
    if problem:
        errors["unit_code"] = problem
    if not values.get("reason"):
        errors["reason"] = "required"
    areas, numbers, line_errors = _area_lines(session, actor, values.get("areas", ""))
    if not areas and not line_errors:
        errors["areas"] = "at least one area"
    if errors or line_errors:
        return _lockdowns_page(
            request,
            session,
            actor,
            values=values,
            errors=errors,
            line_errors=line_errors,
            status_code=422,
        )
    try:
        with session.begin_nested():
            lockdown = lockdowns.declare(
                session=session,
                actor=actor,
                unit_code=unit_code,
                reason=values.get("reason", "")[:300],
                areas=areas,
            )
    except Invalid as exc:
        line = _area_error(exc, numbers)
        return _lockdowns_page(
            request,
            session,
            actor,
            values=values,
            errors={} if line else {exc.field if exc.field == "reason" else "form": exc.reason},
            line_errors=[line] if line else [],
            status_code=exc.status_code,
        )
    return _redirect(f"/lockdowns/{lockdown.code}?notice=saved")


def _lockdown_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    page: int = 1,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    line_errors: LineErrors | None = None,
    lift_errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    lockdown = lockdowns.get_lockdown(session=session, actor=actor, code=code)
    areas = lockdowns.active_areas(session, lockdown)
    total, people = None, []
    if actor.can(Permission.PERSONS_READ):
        _, total, found = lockdowns.residents(
            session=session,
            actor=actor,
            code=lockdown.code,
            limit=RESIDENTS_PER_PAGE,
            offset=(page - 1) * RESIDENTS_PER_PAGE,
        )
        people = list(found)
    pages = max(1, math.ceil((total or 0) / RESIDENTS_PER_PAGE))
    lifted = lockdown.ends_at is not None and lockdown.ends_at <= utcnow()
    return render(
        request,
        "cases/area_lockdown.html",
        {
            "lockdown": lockdown,
            "areas": areas,
            "changes": lockdowns.changes(session, lockdown),
            "total": total,
            "people": people,
            "page": page,
            "pages": pages,
            "lifted": lifted,
            "unit_names": _unit_names(session, {lockdown.unit_code} | {a.unit_code for a in areas}),
            "values": values or {},
            "errors": errors or {},
            "line_errors": line_errors or [],
            "lift_errors": lift_errors or {},
            "may_manage": actor.can(Permission.CASES_MANAGE) and not lifted,
            "action_labels": ACTION_LABELS,
        },
        status_code=status_code,
    )


@router.get("/lockdowns/{code}", response_class=HTMLResponse)
def lockdown_page(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, page: str | None = None
) -> Response:
    """A lockdown's areas, its history of changes and the residents inside, a page at a time."""
    actor.require(Permission.CASES_READ)
    return _lockdown_page(request, session, actor, code, page=_page_number(page))


@router.post("/lockdowns/{code}/narrow", response_class=HTMLResponse)
def lockdown_narrow(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """End the ticked areas and add the smaller ones typed below them."""
    actor.require(Permission.CASES_MANAGE)
    lockdown = lockdowns.get_lockdown(session=session, actor=actor, code=code)
    remove = []
    for name in values:
        if name.startswith("remove-"):
            try:
                remove.append(uuid.UUID(name.removeprefix("remove-")))
            except ValueError:
                continue
    areas, numbers, line_errors = _area_lines(session, actor, values.get("add", ""))
    errors: Errors = {}
    if not values.get("reason"):
        errors["reason"] = "required"
    if not remove and not areas and not line_errors:
        errors["remove"] = "at least one area to end or add"
    status_code = 422
    if not errors and not line_errors:
        try:
            with session.begin_nested():
                lockdowns.narrow(
                    session=session,
                    actor=actor,
                    code=lockdown.code,
                    remove=remove,
                    add=areas,
                    reason=values.get("reason", "")[:300],
                )
        except Invalid as exc:
            line = _area_error(exc, numbers)
            if line:
                line_errors = [line]
            else:
                field = exc.field.split(".")[0]
                errors[field if field in ("remove", "reason") else "form"] = exc.reason
        except Conflict as exc:
            errors["form"], status_code = exc.message, exc.status_code
        else:
            return _redirect(f"/lockdowns/{lockdown.code}?notice=saved")
    return _lockdown_page(
        request,
        session,
        actor,
        lockdown.code,
        values=values,
        errors=errors,
        line_errors=line_errors,
        status_code=status_code,
    )


@router.post("/lockdowns/{code}/lift", response_class=HTMLResponse)
def lockdown_lift(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CASES_MANAGE)
    lockdown = lockdowns.get_lockdown(session=session, actor=actor, code=code)
    try:
        with session.begin_nested():
            lockdowns.lift(
                session=session,
                actor=actor,
                code=lockdown.code,
                reason=values.get("reason", "")[:300],
            )
    except (Invalid, Conflict) as exc:
        reason = exc.reason if isinstance(exc, Invalid) else exc.message
        return _lockdown_page(
            request,
            session,
            actor,
            lockdown.code,
            lift_errors={"reason" if isinstance(exc, Invalid) else "form": reason},
            status_code=exc.status_code,
        )
    return _redirect(f"/lockdowns/{lockdown.code}?notice=saved")


# Zone levels


def _zones_page(
    request: Request,
    session: Session,
    actor: Actor,
    day: date,
    *,
    page: int = 1,
    day_errors: Errors | None = None,
    row_values: Mapping[str, Mapping[str, str]] | None = None,
    row_errors: Mapping[str, Errors] | None = None,
    status_code: int = 200,
) -> Response:
    found = zones.levels(session=session, actor=actor, day=day)
    pages = max(1, math.ceil(len(found) / ZONES_PER_PAGE))
    page = min(page, pages)
    return render(
        request,
        "cases/area_zones.html",
        {
            "day": day,
            "today": zones.today(),
            "rows": found[(page - 1) * ZONES_PER_PAGE : page * ZONES_PER_PAGE],
            "page": page,
            "pages": pages,
            "colours": zones.COLOURS,
            "level_labels": LEVEL_LABELS,
            "day_errors": day_errors or {},
            "row_values": row_values or {},
            "row_errors": row_errors or {},
            "may_manage": actor.can(Permission.CASES_MANAGE) and day <= zones.today(),
        },
        status_code=status_code,
    )


@router.get("/zones", response_class=HTMLResponse)
def zones_list(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    day: str | None = None,
    page: str | None = None,
) -> Response:
    """Every unit of the actor with its level for the day (today by default)."""
    actor.require(Permission.CASES_READ)
    picked, errors = _picked_day(day)
    return _zones_page(
        request,
        session,
        actor,
        picked,
        page=_page_number(page),
        day_errors=errors,
        status_code=422 if errors else 200,
    )


@router.post("/zones/{unit_code}/override", response_class=HTMLResponse)
def zone_override(
    request: Request, unit_code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """An official's level for the unit and day, with the reason it differs."""
    actor.require(Permission.CASES_MANAGE)
    if _unit_problem(session, actor, unit_code):
        raise NotFound("admin unit", unit_code)
    day, day_errors = _picked_day(values.get("day"))
    level_text = values.get("level", "")
    try:
        if day_errors:
            raise Invalid("day", day_errors["day"])
        if not (level_text.isascii() and level_text.isdigit() and len(level_text) == 1):
            raise Invalid("level", "1, 2, 3 or 4")
        with session.begin_nested():
            row = zones.override(
                session=session,
                actor=actor,
                unit_code=unit_code,
                day=day,
                level=int(level_text),
                reason=values.get("reason", "")[:300],
            )
    except Invalid as exc:
        return _zones_page(
            request,
            session,
            actor,
            min(day, zones.today()),  # a future day has no forms to show the reason in
            row_values={unit_code: values},
            row_errors={unit_code: {exc.field: exc.reason}},
            status_code=exc.status_code,
        )
    return _redirect(f"/zones/{row.unit_code}?notice=saved")


@router.get("/zones/{unit_code}", response_class=HTMLResponse)
def zone_history(
    request: Request, unit_code: Code, actor: ActorDep, session: SessionDep
) -> Response:
    """The unit's levels of the last 30 days: computed and overridden, by whom and why."""
    rows = zones.history(session=session, actor=actor, unit_code=unit_code)
    return render(
        request,
        "cases/area_zone.html",
        {
            "unit": session.get_one(AdminUnit, unit_code),
            "rows": rows,
            "colours": zones.COLOURS,
            "level_labels": LEVEL_LABELS,
        },
    )


# Treatment facilities

FACILITY_FIELDS = ("code", "name", "tier", "unit_code", "beds")


def _treatment_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    found = treatment.occupancy(session=session, actor=actor)
    return render(
        request,
        "cases/area_treatment.html",
        {
            "facilities": found,
            "unit_names": _unit_names(session, {o.facility.unit_code for o in found}),
            "tier_labels": TIER_LABELS,
            "tiers": [(str(tier), label) for tier, label in TIER_LABELS.items()],
            "values": values
            or {"tier": "1", "unit_code": home_commune(session=session, actor=actor)},
            "errors": errors or {},
            "may_manage": actor.can(Permission.CASES_MANAGE),
        },
        status_code=status_code,
    )


@router.get("/treatment", response_class=HTMLResponse)
def treatment_list(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """Facilities in the actor's units by tier, with beds occupied and free."""
    actor.require(Permission.CASES_READ)
    return _treatment_page(request, session, actor)


def _whole(values: Mapping[str, str], name: str, rule: str) -> int | None:
    text = values.get(name, "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise Invalid(name, rule)
    return int(text)


@router.post("/treatment/facilities", response_class=HTMLResponse)
def facility_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CASES_MANAGE)
    try:
        tier = _whole(values, "tier", "0 (home care), 1, 2 or 3")
        if tier is None:
            raise Invalid("tier", "0 (home care), 1, 2 or 3")
        beds = _whole(values, "beds", BEDS_RULE)
        unit_code = values.get("unit_code", "")[:16]
        problem = _unit_problem(session, actor, unit_code)
        if problem:
            raise Invalid("unit_code", problem)
        with session.begin_nested():
            treatment.create_facility(
                session=session,
                actor=actor,
                code=values.get("code", "")[:40],
                name=values.get("name", "")[:200],
                tier=tier,
                unit_code=unit_code,
                beds=beds,
            )
    except (Invalid, Conflict) as exc:
        if isinstance(exc, Invalid):
            field, reason = exc.field, exc.reason
        else:
            field, reason = "code", exc.message
        return _treatment_page(
            request,
            session,
            actor,
            values=values,
            errors={field if field in FACILITY_FIELDS else "form": reason},
            status_code=exc.status_code,
        )
    return _redirect("/treatment?notice=saved")
