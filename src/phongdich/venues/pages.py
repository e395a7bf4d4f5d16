"""Venue pages: registration (with a manager's sign-up), the list, one venue, its poster.

Every change goes through the venues services. A service error on a form is shown next to the
field it names, with what was typed kept; the call runs in a savepoint so a failed attempt
leaves nothing behind when the request's transaction commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.deps import ActorDep, OptionalActorDep, SessionDep
from phongdich.errors import Conflict, Invalid
from phongdich.venues import importer, service
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.web import i18n
from phongdich.web.forms import FormValues
from phongdich.web.reasons import N_
from phongdich.web.sections import PageSection, Sections
from phongdich.web.templating import render
from phongdich.web.uploads import handle_upload, upload_page

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=32)]


VenueSection = PageSection
# Check-ins register the sections of a venue's page here.
VENUE_PAGE_SECTIONS: Sections[Venue] = Sections()
venue_page_section = VENUE_PAGE_SECTIONS.register


# What the forms hold; every venue field is on both the register and the edit form.
VENUE_FIELDS = ("name", "category", "unit_code", "address", "capacity", "default_visit_minutes")
ACCOUNT_FIELDS = ("username", "password", "full_name")
CAPACITY_RULE = N_("a whole number, at least 1")
MINUTES_RULE = N_("a whole number of minutes, from 5 to 720")
USERNAME_TAKEN = N_("this username is taken; choose another")
PER_PAGE = 50
MAX_UNIT_CHOICES = 1000
IMPORT_TEMPLATE = "venues/import.html"
IMPORT_CONTEXT = {"columns": (*importer.COLUMNS, *importer.OPTIONAL)}
Errors = dict[str, str]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _number(values: Mapping[str, str], name: str, low: int, high: int, rule: str) -> int | None:
    """Checked here rather than by Pydantic, whose English messages the pages cannot translate."""
    text = values.get(name, "").replace(".", "").replace(" ", "")
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise Invalid(name, rule)
    return int(text)


def _venue_input(values: Mapping[str, str]) -> VenueInput:
    if not values.get("category"):
        raise Invalid("category", "required")
    try:
        return VenueInput(
            name=values.get("name", ""),
            category=values.get("category", ""),
            unit_code=values.get("unit_code", ""),
            address=values.get("address", ""),
            capacity=_number(values, "capacity", 1, 1_000_000, CAPACITY_RULE),
            default_visit_minutes=_number(values, "default_visit_minutes", 5, 720, MINUTES_RULE),
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        raise Invalid(name, problem["msg"]) from None


def _error_field(exc: Invalid | Conflict, known: Sequence[str]) -> tuple[str, str]:
    """Where a service's complaint goes on the form, and what it says."""
    if isinstance(exc, Conflict):
        if exc.message.startswith("username"):
            return "username", USERNAME_TAKEN
        return "form", exc.message
    name = "unit_code" if exc.field == "unit" else exc.field
    return (name if name in known else "form"), exc.reason


def _category_choices() -> list[tuple[str, str]]:
    return [(c.key, i18n.gettext_(c.label)) for c in service.CATEGORIES.values()]


def _unit_choices(session: Session, actor: Actor | None) -> Sequence[AdminUnit]:
    if actor is None:
        return []
    return units.units_under(session=session, actor=actor, limit=MAX_UNIT_CHOICES)


def _official(actor: Actor) -> bool:
    return actor.can(Permission.VENUES_MANAGE)


def _safe_back(target: str, default: str) -> str:
    """Back to the list the button was pressed on, never to another site."""
    if target.startswith("/venues") and not target.startswith("//"):
        return target
    return default


def _here(request: Request) -> str:
    """This list with its filters, minus any notice: where a button on it comes back to."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "notice"]
    return request.url.path + (f"?{urlencode(params)}" if params else "")


def _with_notice(url: str, notice: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}notice={notice}"


# The list


@router.get("/venues", response_class=HTMLResponse)
def list_page(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str, Query(max_length=16)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    category: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """A manager's own venues; an official's whole jurisdiction, filtered."""
    actor.require(Permission.VENUES_REGISTER)
    error, status_code = "", 200
    try:
        venues, total = service.list_venues(
            session=session,
            actor=actor,
            query=q,
            unit_code=unit or None,
            status=status or None,
            category_key=category or None,
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
        )
    except Invalid as exc:
        venues, total, error, status_code = [], 0, exc.reason, exc.status_code
    return render(
        request,
        "venues/list.html",
        {
            "venues": venues,
            "total": total,
            "unit_names": units.names(session=session, codes={v.unit_code for v in venues}),
            "categories": dict(_category_choices()),
            "category_choices": _category_choices(),
            "official": _official(actor),
            "units": _unit_choices(session, actor) if _official(actor) else [],
            "filters": {"q": q, "unit": unit, "status": status, "category": category},
            "error": error,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "here": _here(request),
        },
        status_code=status_code,
    )


# Registering, with a sign-up for a visitor who has no account yet


def _register_form(
    request: Request,
    session: Session,
    actor: Actor | None,
    values: Mapping[str, str],
    errors: Errors | None = None,
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "venues/register.html",
        {
            # A password is never sent back to the browser.
            "values": {k: v for k, v in values.items() if k != "password"},
            "errors": errors or {},
            "category_choices": _category_choices(),
            "units": _unit_choices(session, actor),
            "sign_up": actor is None,
        },
        status_code=status_code,
    )


@router.get("/venues/register", response_class=HTMLResponse)
def register_form(request: Request, actor: OptionalActorDep, session: SessionDep) -> Response:
    if actor is not None:
        actor.require(Permission.VENUES_REGISTER)
    return _register_form(
        request, session, actor, {"unit_code": units.home_commune(session=session, actor=actor)}
    )


@router.post("/venues/register", response_class=HTMLResponse)
def register_submit(
    request: Request, actor: OptionalActorDep, session: SessionDep, values: FormValues
) -> Response:
    """A logged-in manager or official registers; a visitor signs up and registers at once."""
    if actor is not None:
        actor.require(Permission.VENUES_REGISTER)
    known = (*VENUE_FIELDS, *ACCOUNT_FIELDS)
    try:
        data = _venue_input(values)
        with session.begin_nested():
            if actor is not None:
                venue = service.register_venue(session=session, actor=actor, data=data)
            else:
                if not values.get("full_name"):
                    raise Invalid("full_name", "required")
                _, venue = service.sign_up(
                    session=session,
                    username=values.get("username", "")[:64],
                    password=values.get("password", "")[:200],
                    full_name=values.get("full_name", "")[:200],
                    venue=data,
                )
    except (Invalid, Conflict) as exc:
        field, reason = _error_field(exc, known)
        return _register_form(
            request, session, actor, values, {field: reason}, status_code=exc.status_code
        )
    if actor is None:
        return _redirect(f"/login?next=/venues/{venue.code}&notice=signed-up")
    return _redirect(f"/venues/{venue.code}?notice=venue-registered")


# Importing a unit's register


@router.get("/venues/import", response_class=HTMLResponse)
def import_form(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.VENUES_MANAGE)
    return upload_page(request, IMPORT_TEMPLATE, IMPORT_CONTEXT)


@router.post("/venues/import", response_class=HTMLResponse)
def import_submit(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    actor.require(Permission.VENUES_MANAGE)
    return handle_upload(
        request,
        session,
        file,
        IMPORT_TEMPLATE,
        IMPORT_CONTEXT,
        lambda data: importer.import_venues(session=session, actor=actor, source=data),
    )


# One venue


def _venue_view(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    suspend_errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    venue = service.get_venue(session=session, actor=actor, code=code)
    unit = session.get(AdminUnit, venue.unit_code)
    category = service.CATEGORIES.get(venue.category)
    return render(
        request,
        "venues/detail.html",
        {
            "venue": venue,
            "category": i18n.gettext_(category.label) if category else venue.category,
            "unit": unit,
            "lineage": units.ancestors(session=session, unit=unit) if unit else [],
            "official": _official(actor),
            "sections": VENUE_PAGE_SECTIONS.shown(session, actor, venue),
            "suspend_errors": suspend_errors or {},
        },
        status_code=status_code,
    )


@router.get("/venues/{code}", response_class=HTMLResponse)
def venue_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    return _venue_view(request, session, actor, code)


@router.post("/venues/{code}/approve", response_class=HTMLResponse)
def approve_submit(
    code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Approving a suspended venue lifts the suspension."""
    venue = service.decide(session=session, actor=actor, code=code, status=service.APPROVED)
    back = _safe_back(values.get("next", "")[:500], f"/venues/{venue.code}")
    return _redirect(_with_notice(back, "venue-approved"))


@router.post("/venues/{code}/suspend", response_class=HTMLResponse)
def suspend_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """A suspended venue takes no new check-ins; the reason goes to the audit log."""
    actor.require(Permission.VENUES_MANAGE)
    reason = values.get("reason", "")
    if not reason:
        return _venue_view(
            request,
            session,
            actor,
            code,
            suspend_errors={"reason": "required"},
            status_code=422,
        )
    venue = service.decide(
        session=session, actor=actor, code=code, status=service.SUSPENDED, reason=reason[:200]
    )
    return _redirect(f"/venues/{venue.code}?notice=venue-suspended")


# Editing


def _edit_form(
    request: Request,
    session: Session,
    actor: Actor,
    venue: Venue,
    values: Mapping[str, str],
    errors: Errors | None = None,
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "venues/edit.html",
        {
            "venue": venue,
            "values": values,
            "errors": errors or {},
            "category_choices": _category_choices(),
            "units": _unit_choices(session, actor),
        },
        status_code=status_code,
    )


@router.get("/venues/{code}/edit", response_class=HTMLResponse)
def edit_form(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    venue = service.get_venue(session=session, actor=actor, code=code)
    values = {
        "name": venue.name,
        "category": venue.category,
        "unit_code": venue.unit_code,
        "address": venue.address,
        "capacity": "" if venue.capacity is None else str(venue.capacity),
        "default_visit_minutes": str(venue.default_visit_minutes),
    }
    return _edit_form(request, session, actor, venue, values)


@router.post("/venues/{code}/edit", response_class=HTMLResponse)
def edit_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    try:
        data = _venue_input(values)
        with session.begin_nested():
            venue = service.update_venue(session=session, actor=actor, code=code, data=data)
    except (Invalid, Conflict) as exc:
        field, reason = _error_field(exc, VENUE_FIELDS)
        current = service.get_venue(session=session, actor=actor, code=code)
        return _edit_form(
            request, session, actor, current, values, {field: reason}, status_code=exc.status_code
        )
    return _redirect(f"/venues/{venue.code}?notice=saved")
