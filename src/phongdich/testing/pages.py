"""Testing pages for officials and sampling teams: the overview, a campaign's progress, the
mobile sampling page and shipping closed tubes to a lab.

The pages call the same services as the JSON API. A service error on a form is shown next to
the field it names with what was typed kept; each change runs in a savepoint, so a refused
attempt leaves nothing behind when the request's transaction commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.config import get_settings
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound, PhongdichError
from phongdich.testing import campaigns, figures, labs, pooling, reports, sampling
from phongdich.testing.models import Campaign
from phongdich.testing.schemas import CampaignInput, SiteInput
from phongdich.web.forms import FormValues, parse_date, redirect
from phongdich.web.reasons import N_
from phongdich.web.templating import render
from phongdich.web.uploads import handle_upload, upload_page

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(max_length=40)]
Errors = dict[str, str]

CAMPAIGN_FIELDS = (
    "name",
    "unit_code",
    "target_unit_codes",
    "method",
    "max_pool_size",
    "starts_on",
    "ends_on",
    "address_contains",
)
SITE_FIELDS = ("code", "name", "unit_code", "address")
STAFF_FIELDS = ("site_code", "username")
POOL_RULE = N_("a whole number from 1 to 30")
# Fixed reasons the testing services give in English, listed here so the catalogue has them.
SERVICE_REASONS = (
    N_("on or after starts_on"),
    N_("within a year of starts_on"),
    N_("pcr | rapid_antigen"),
    N_("required to open a tube"),
    N_("required: the pass, CCCD QR or document number"),
    N_("required: the id of the step that added the person"),
    N_("no active user with that name"),
    N_("a time with its zone"),
)
PEOPLE_TEMPLATE = "testing/people.html"
_SPLIT = re.compile(r"[\s,;]+")


def split_codes(text: str) -> list[str]:
    """Codes typed or scanned one after another: separated by spaces, commas or new lines."""
    return [part for part in _SPLIT.split(text) if part]


def _date(values: Mapping[str, str], name: str) -> date:
    text = values.get(name, "")
    if not text:
        raise Invalid(name, "required")
    return parse_date(text, name)


def _pool_size(values: Mapping[str, str]) -> int:
    text = values.get("max_pool_size", "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 30:
        raise Invalid("max_pool_size", POOL_RULE)
    return int(text)


def _pydantic_error(exc: ValidationError) -> Invalid:
    problem = exc.errors()[0]
    name = str(problem["loc"][0]) if problem["loc"] else "form"
    return Invalid(name, problem["msg"])


def _error_field(exc: PhongdichError, known: Sequence[str]) -> tuple[str, str]:
    """Where a service's complaint goes on a form (`target_unit_codes.2` is that field)."""
    if isinstance(exc, Invalid):
        name = exc.field.split(".")[0]
        return (name if name in known else "form"), exc.reason
    return "form", exc.message


def _local_today() -> date:
    return datetime.now(get_settings().tz).date()


# The overview


def _positivity_table(
    session: Session, actor: Actor
) -> tuple[list[date], list[tuple[str, str, dict[date, reports.DayPositivity]]]]:
    """Units down, the last seven local days across."""
    today = _local_today()
    days = [today - timedelta(days=n) for n in range(figures.POSITIVITY_DAYS - 1, -1, -1)]
    by_unit: dict[str, dict[date, reports.DayPositivity]] = {}
    for day in reports.positivity_by_day(
        session=session, actor=actor, days=figures.POSITIVITY_DAYS
    ):
        if day.day >= days[0]:
            by_unit.setdefault(day.unit_code, {})[day.day] = day
    names = campaigns.unit_names(session, set(by_unit))
    rows = [(code, names.get(code, code), cells) for code, cells in sorted(by_unit.items())]
    return days, rows


@router.get("/testing", response_class=HTMLResponse)
def overview(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """What an official watches: campaigns, new positives, the labs' load, positivity."""
    actor.require(Permission.TESTING_READ)
    found = campaigns.list_campaigns(session=session, actor=actor)
    positives = reports.new_positives(session=session, actor=actor, limit=200)
    days, positivity_rows = _positivity_table(session, actor)
    loads = labs.loads(session, labs.list_labs(session=session))
    return render(
        request,
        "testing/overview.html",
        {
            "campaigns": found,
            "positives": positives,
            "unit_names": campaigns.unit_names(
                session,
                {c.unit_code for c in found} | {p.unit_code for p in positives if p.unit_code},
            ),
            "loads": loads,
            "days": days,
            "positivity_rows": positivity_rows,
            "may_manage": actor.can(Permission.TESTING_MANAGE),
            "method_labels": campaigns.METHOD_LABELS,
        },
    )


# Creating a campaign


def _campaign_input(values: Mapping[str, str]) -> CampaignInput:
    name = values.get("name", "")
    if not name:
        raise Invalid("name", "required")
    pool = _pool_size(values)
    starts_on, ends_on = _date(values, "starts_on"), _date(values, "ends_on")
    try:
        return CampaignInput(
            name=name,
            unit_code=values.get("unit_code", ""),
            target_unit_codes=split_codes(values.get("target_unit_codes", "")),
            method=values.get("method", "pcr"),
            max_pool_size=pool,
            starts_on=starts_on,
            ends_on=ends_on,
            address_contains=values.get("address_contains", ""),
        )
    except ValidationError as exc:
        raise _pydantic_error(exc) from None


def _campaign_form(
    request: Request,
    values: Mapping[str, str],
    errors: Errors | None = None,
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "testing/campaign_new.html",
        {
            "values": values,
            "errors": errors or {},
            "methods": list(campaigns.METHOD_LABELS.items()),
        },
        status_code=status_code,
    )


@router.get("/testing/campaigns/new", response_class=HTMLResponse)
def campaign_form(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    actor.require(Permission.TESTING_MANAGE)
    today = _local_today()
    return _campaign_form(
        request,
        {
            "unit_code": units.home_commune(session=session, actor=actor),
            "method": "pcr",
            "max_pool_size": "10",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=7)).isoformat(),
        },
    )


@router.post("/testing/campaigns/new", response_class=HTMLResponse)
def campaign_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.TESTING_MANAGE)
    try:
        data = _campaign_input(values)
        with session.begin_nested():
            campaign = campaigns.create_campaign(session=session, actor=actor, data=data)
    except (Invalid, Conflict) as exc:
        field, reason = _error_field(exc, CAMPAIGN_FIELDS)
        return _campaign_form(request, values, {field: reason}, status_code=exc.status_code)
    return redirect(f"/testing/campaigns/{campaign.code}?notice=saved")


# A campaign's progress


def _dorfman_table(prevalence: float, max_pool_size: int) -> list[tuple[int, float, float]]:
    """(pool size, expected tests per person, people per test) for each size allowed."""
    table = []
    for size in range(1, max_pool_size + 1):
        expected = pooling.tests_per_person(prevalence, size)
        table.append((size, expected, 1.0 / expected))
    return table


def _campaign_page(
    request: Request,
    session: Session,
    actor: Actor,
    code: str,
    *,
    site_values: Mapping[str, str] | None = None,
    site_errors: Errors | None = None,
    staff_values: Mapping[str, str] | None = None,
    staff_errors: Errors | None = None,
    action_error: str = "",
    status_code: int = 200,
) -> Response:
    progress = figures.progress(session=session, actor=actor, code=code)
    campaign = progress.campaign
    sites = campaigns.sites_of(session, campaign)
    site_by_id = {s.id: s for s in sites}
    names = campaigns.unit_names(session, set(progress.units) | {campaign.unit_code})
    targets = campaigns.target_codes(session, campaign)
    names.update(campaigns.unit_names(session, set(targets)))
    site_rows = [
        (site_by_id[site_id], figures)
        for site_id, figures in progress.sites.items()
        if site_id in site_by_id
    ]
    site_rows.sort(key=lambda row: row[0].code)
    manages = campaigns.manages(session, actor, campaign)
    return render(
        request,
        "testing/campaign.html",
        {
            "campaign": campaign,
            "progress": progress,
            "targets": targets,
            "unit_names": names,
            "unit_rows": sorted(progress.units.items()),
            "site_rows": site_rows,
            "staff": campaigns.staff_of(session, [s.id for s in sites]),
            "sites": sites,
            "waiting_members": sampling.waiting_count(session, campaign),
            "dorfman": (
                _dorfman_table(progress.positivity, campaign.max_pool_size)
                if progress.positivity is not None
                else []
            ),
            "manages": manages,
            "active": campaign.status == campaigns.ACTIVE,
            "method_labels": campaigns.METHOD_LABELS,
            "site_values": site_values or {"unit_code": campaign.unit_code},
            "site_errors": site_errors or {},
            "staff_values": staff_values or {},
            "staff_errors": staff_errors or {},
            "action_error": action_error,
        },
        status_code=status_code,
    )


@router.get("/testing/campaigns/{code}", response_class=HTMLResponse)
def campaign_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """Sampled, results back, positive, waiting for a retest: per unit and per site."""
    actor.require(Permission.TESTING_READ)
    return _campaign_page(request, session, actor, code)


def _managed(session: Session, actor: Actor, code: str) -> Campaign:
    actor.require(Permission.TESTING_MANAGE)
    return campaigns.managed_campaign(session=session, actor=actor, code=code)


@router.post("/testing/campaigns/{code}/sites", response_class=HTMLResponse)
def site_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    campaign = _managed(session, actor, code)
    try:
        try:
            data = SiteInput(
                code=values.get("code", "")[:32],
                name=values.get("name", "")[:200],
                unit_code=values.get("unit_code", "")[:16],
                address=values.get("address", "")[:300],
            )
        except ValidationError as exc:
            raise _pydantic_error(exc) from None
        with session.begin_nested():
            campaigns.add_site(session=session, actor=actor, campaign_code=campaign.code, data=data)
    except (Invalid, Conflict) as exc:
        field, reason = _error_field(exc, SITE_FIELDS)
        return _campaign_page(
            request,
            session,
            actor,
            campaign.code,
            site_values=values,
            site_errors={field: reason},
            status_code=exc.status_code,
        )
    return redirect(f"/testing/campaigns/{campaign.code}?notice=saved")


@router.post("/testing/campaigns/{code}/staff", response_class=HTMLResponse)
def staff_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    campaign = _managed(session, actor, code)
    try:
        if not values.get("site_code"):
            raise Invalid("site_code", "required")
        if not values.get("username"):
            raise Invalid("username", "required")
        with session.begin_nested():
            campaigns.assign_staff(
                session=session,
                actor=actor,
                campaign_code=campaign.code,
                site_code=values["site_code"][:32],
                username=values["username"][:64],
            )
    except (Invalid, NotFound) as exc:
        field, reason = _error_field(exc, STAFF_FIELDS)
        if isinstance(exc, NotFound):
            field, reason = "site_code", exc.message
        return _campaign_page(
            request,
            session,
            actor,
            campaign.code,
            staff_values=values,
            staff_errors={field: reason},
            status_code=exc.status_code,
        )
    return redirect(f"/testing/campaigns/{campaign.code}?notice=saved")


@router.post("/testing/campaigns/{code}/next-round", response_class=HTMLResponse)
def next_round_submit(
    request: Request, code: Code, actor: ActorDep, session: SessionDep
) -> Response:
    campaign = _managed(session, actor, code)
    try:
        with session.begin_nested():
            campaigns.next_round(session=session, actor=actor, code=campaign.code)
    except Invalid as exc:
        return _campaign_page(
            request, session, actor, campaign.code, action_error=exc.reason, status_code=422
        )
    return redirect(f"/testing/campaigns/{campaign.code}?notice=saved")


@router.post("/testing/campaigns/{code}/close", response_class=HTMLResponse)
def close_submit(code: Code, actor: ActorDep, session: SessionDep) -> Response:
    campaign = _managed(session, actor, code)
    campaigns.close_campaign(session=session, actor=actor, code=campaign.code)
    return redirect(f"/testing/campaigns/{campaign.code}?notice=saved")


def _people_context(campaign: Campaign) -> dict[str, Any]:
    return {"campaign": campaign}


@router.get("/testing/campaigns/{code}/people", response_class=HTMLResponse)
def people_form(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    campaign = _managed(session, actor, code)
    return upload_page(request, PEOPLE_TEMPLATE, _people_context(campaign))


@router.post("/testing/campaigns/{code}/people", response_class=HTMLResponse)
def people_submit(
    request: Request,
    code: Code,
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A list of people to screen (a factory's workers); the same file again adds nobody."""
    campaign = _managed(session, actor, code)
    return handle_upload(
        request,
        session,
        file,
        PEOPLE_TEMPLATE,
        _people_context(campaign),
        lambda data: campaigns.import_people(
            session=session, actor=actor, campaign_code=campaign.code, source=data
        ),
    )
