"""Officials' pages for zone levels (with overrides) and treatment facilities."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.adminunits.service import home_commune
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.cases import treatment, zones
from phongdich.cases.area_pages import (
    BEDS_RULE,
    LEVEL_LABELS,
    TIER_LABELS,
    ZONES_PER_PAGE,
    Code,
    Errors,
    page_number,
    picked_day,
    unit_names,
    unit_problem,
)
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.web.forms import FormValues, redirect
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


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
    picked, errors = picked_day(day)
    return _zones_page(
        request,
        session,
        actor,
        picked,
        page=page_number(page),
        day_errors=errors,
        status_code=422 if errors else 200,
    )


@router.post("/zones/{unit_code}/override", response_class=HTMLResponse)
def zone_override(
    request: Request, unit_code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """An official's level for the unit and day, with the reason it differs."""
    actor.require(Permission.CASES_MANAGE)
    if unit_problem(session, actor, unit_code):
        raise NotFound("admin unit", unit_code)
    day, day_errors = picked_day(values.get("day"))
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
    return redirect(f"/zones/{row.unit_code}?notice=saved")


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
            "unit_names": unit_names(session, {o.facility.unit_code for o in found}),
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
        problem = unit_problem(session, actor, unit_code)
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
    return redirect("/treatment?notice=saved")
