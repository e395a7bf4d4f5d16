"""Officials' pages for lockdowns (phong tỏa): declaring, narrowing, lifting, residents."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.adminunits.service import home_commune
from phongdich.auth.actor import Actor, covers
from phongdich.auth.roles import Permission
from phongdich.cases import lockdowns
from phongdich.cases.area_pages import (
    ACTION_LABELS,
    LINE_RULE,
    MAX_LINES,
    RESIDENTS_PER_PAGE,
    Code,
    Errors,
    LineErrors,
    actor_units,
    page_number,
    unit_names,
    unit_problem,
)
from phongdich.cases.models import Lockdown, LockdownArea
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid
from phongdich.web.forms import FormValues, redirect
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


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
        problem = unit_problem(session, actor, code)
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
            "unit_names": unit_names(session, codes),
            "units": actor_units(session, actor),
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
    problem = unit_problem(session, actor, unit_code)
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
    except Conflict as exc:  # the same areas already closed: say which lockdown holds them
        return _lockdowns_page(
            request,
            session,
            actor,
            values=values,
            errors={"form": exc.message},
            status_code=exc.status_code,
        )
    return redirect(f"/lockdowns/{lockdown.code}?notice=saved")


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
            "unit_names": unit_names(session, {lockdown.unit_code} | {a.unit_code for a in areas}),
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
    return _lockdown_page(request, session, actor, code, page=page_number(page))


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
            return redirect(f"/lockdowns/{lockdown.code}?notice=saved")
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
    return redirect(f"/lockdowns/{lockdown.code}?notice=saved")
