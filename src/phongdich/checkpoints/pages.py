"""Officials' pages for the checkpoint registry: checkpoints, lanes, officers, station devices,
and invitations.

The pages call the registry's services in the actor's jurisdiction. A refused form is shown
again with the reason beside the field and what was typed kept; each change runs in a
savepoint, so a refusal leaves nothing behind. A station's token is shown once, on the page
that answers the form that made it, never in a URL or a redirect.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkpoints import invitations, registry
from phongdich.checkpoints.models import Checkpoint
from phongdich.checkpoints.routes import station_command
from phongdich.config import Settings
from phongdich.credentials import passes
from phongdich.credentials.keys import keyring
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.web.forms import FormValues, redirect
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

Errors = dict[str, str]
# Pages of other capabilities live under /checkpoints/ too (reports, rules, invitations):
# a checkpoint's page must not catch them, whichever router is registered first.
RESERVED = ("new", "rules", "reports", "invitations", "transfers", "notices")


class CheckpointCodeConvertor(Convertor[str]):
    regex = r"(?!(?:" + "|".join(RESERVED) + r")(?:/|$))[^/]{1,40}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("checkpoint_code", CheckpointCodeConvertor())
CodePath = Annotated[str, Path(max_length=40)]


def lanes_of(text: str) -> list[str]:
    """Lanes typed as 'general, driver'."""
    return [lane for lane in text.replace(";", ",").split(",") if lane.strip()]


def server_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


# The list and a new checkpoint


@router.get("/checkpoints", response_class=HTMLResponse)
def checkpoint_list(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """The jurisdiction's checkpoints, with links to their rules and the daily reports."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    found = registry.checkpoints_of(session=session, actor=actor)
    codes = {c.unit_code for c in found}
    rows = session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes)))
    names = {row.code: row.name for row in rows}
    return render(
        request,
        "checkpoints/registry_list.html",
        {
            "checkpoints": found,
            "unit_names": names,
            "may_manage": actor.can(Permission.CHECKPOINTS_MANAGE),
        },
    )


def _new_page(
    request: Request, values: Mapping[str, str], errors: Errors, status_code: int = 200
) -> Response:
    return render(
        request,
        "checkpoints/registry_new.html",
        {"values": values, "errors": errors},
        status_code=status_code,
    )


@router.get("/checkpoints/new", response_class=HTMLResponse)
def checkpoint_new(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    return _new_page(request, {"unit_code": actor.unit_code or "", "lanes": "general"}, {})


@router.post("/checkpoints/new", response_class=HTMLResponse)
def checkpoint_create(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    try:
        with session.begin_nested():
            checkpoint = registry.register_checkpoint(
                session=session,
                actor=actor,
                code=values.get("code", "")[:40],
                name=values.get("name", "")[:400],
                unit_code=values.get("unit_code", "")[:16],
                road=values.get("road", "")[:400],
                lanes=lanes_of(values.get("lanes", "")[:400]),
            )
    except Invalid as exc:
        return _new_page(request, values, {_lane_field(exc.field): exc.reason}, exc.status_code)
    except Conflict as exc:
        return _new_page(request, values, {"code": exc.message}, exc.status_code)
    except NotFound as exc:
        return _new_page(request, values, {"unit_code": exc.message}, 422)
    return redirect(f"/checkpoints/{checkpoint.code}?notice=created")


def _lane_field(field: str) -> str:
    """'lanes.2' is shown beside the one lanes box."""
    return "lanes" if field.startswith("lanes") else field


# One checkpoint


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    checkpoint: Checkpoint,
    *,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    issued: registry.IssuedStation | None = None,
    status_code: int = 200,
) -> Response:
    unit = session.get(AdminUnit, checkpoint.unit_code)
    context: dict[str, Any] = {
        "checkpoint": checkpoint,
        "unit": unit,
        "officers": registry.officers_of(session, checkpoint),
        "stations": registry.stations_of(session, checkpoint),
        "may_manage": actor.can(Permission.CHECKPOINTS_MANAGE),
        "values": values
        or {
            "name": checkpoint.name,
            "road": checkpoint.road,
            "lanes": ", ".join(checkpoint.lanes),
        },
        "errors": errors or {},
        "issued": issued,
        "command": station_command(server_url(request), issued.token) if issued else "",
    }
    return render(request, "checkpoints/registry_detail.html", context, status_code=status_code)


@router.get("/checkpoints/{code:checkpoint_code}", response_class=HTMLResponse)
def checkpoint_detail(
    request: Request, code: CodePath, actor: ActorDep, session: SessionDep
) -> Response:
    actor.require(Permission.CHECKPOINTS_RECORD)
    checkpoint = registry.managed_checkpoint(session, actor, code[:40])
    return _detail_page(request, session, actor, checkpoint)


@router.post("/checkpoints/{code:checkpoint_code}/edit", response_class=HTMLResponse)
def checkpoint_edit(
    request: Request, code: CodePath, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = registry.managed_checkpoint(session, actor, code[:40])
    try:
        with session.begin_nested():
            registry.update_checkpoint(
                session=session,
                actor=actor,
                code=checkpoint.code,
                name=values.get("name", "")[:400],
                road=values.get("road", "")[:400],
                lanes=lanes_of(values.get("lanes", "")[:400]),
                active=values.get("active") == "on",
            )
    except Invalid as exc:
        session.refresh(checkpoint)
        return _detail_page(
            request,
            session,
            actor,
            checkpoint,
            values=values,
            errors={_lane_field(exc.field): exc.reason},
            status_code=exc.status_code,
        )
    return redirect(f"/checkpoints/{checkpoint.code}?notice=saved")


@router.post("/checkpoints/{code:checkpoint_code}/officers", response_class=HTMLResponse)
def officer_add(
    request: Request, code: CodePath, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = registry.managed_checkpoint(session, actor, code[:40])
    username = values.get("username", "")[:64]
    try:
        if not username:
            raise Invalid("username", "required")
        with session.begin_nested():
            registry.add_officer(
                session=session, actor=actor, code=checkpoint.code, username=username
            )
    except (Invalid, NotFound) as exc:
        reason = exc.reason if isinstance(exc, Invalid) else f"no user {username} in your units"
        return _detail_page(
            request,
            session,
            actor,
            checkpoint,
            values={"username": username},
            errors={"username": reason},
            status_code=422,
        )
    return redirect(f"/checkpoints/{checkpoint.code}?notice=officer-added")


@router.post("/checkpoints/{code:checkpoint_code}/officers/remove", response_class=HTMLResponse)
def officer_remove(
    request: Request, code: CodePath, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = registry.managed_checkpoint(session, actor, code[:40])
    try:
        with session.begin_nested():
            registry.remove_officer(
                session=session,
                actor=actor,
                code=checkpoint.code,
                username=values.get("username", "")[:64],
            )
    except NotFound:
        pass  # removed already (a form sent twice): the page shows who is left
    return redirect(f"/checkpoints/{checkpoint.code}?notice=officer-removed")


@router.post("/checkpoints/{code:checkpoint_code}/stations", response_class=HTMLResponse)
def station_add(
    request: Request, code: CodePath, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """A new station: its token is on this answer only."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = registry.managed_checkpoint(session, actor, code[:40])
    issued = registry.add_station(
        session=session, actor=actor, code=checkpoint.code, label=values.get("label", "")[:200]
    )
    return _detail_page(request, session, actor, checkpoint, issued=issued, status_code=201)


@router.post(
    "/checkpoints/{code:checkpoint_code}/stations/{station_id}/revoke",
    response_class=HTMLResponse,
)
def station_revoke(
    request: Request,
    code: CodePath,
    station_id: Annotated[str, Path(max_length=40)],
    actor: ActorDep,
    session: SessionDep,
) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = registry.managed_checkpoint(session, actor, code[:40])
    station = next(
        (s for s in registry.stations_of(session, checkpoint) if str(s.id) == station_id), None
    )
    if station is None:
        raise NotFound("station", station_id)
    registry.revoke_station(session=session, actor=actor, station_id=station.id)
    return redirect(f"/checkpoints/{checkpoint.code}?notice=station-revoked")


# Invitations


def _invitation_page(
    request: Request,
    actor: Actor,
    values: Mapping[str, str],
    errors: Errors,
    issued: invitations.IssuedInvitation | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "checkpoints/registry_invitations.html",
        {
            "values": values,
            "errors": errors,
            "issued": issued,
            "qr": passes.qr_svg(issued.text) if issued else "",
        },
        status_code=status_code,
    )


def _local_today(request: Request) -> date:
    settings: Settings = request.app.state.settings
    return utcnow().astimezone(settings.tz).date()


@router.get("/checkpoints/invitations", response_class=HTMLResponse)
def invitation_form(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    today = _local_today(request).isoformat()
    values = {"unit_code": actor.unit_code or "", "valid_from": today, "valid_until": today}
    return _invitation_page(request, actor, values, {})


def _form_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise Invalid(field, "a date as YYYY-MM-DD") from None


@router.post("/checkpoints/invitations", response_class=HTMLResponse)
def invitation_issue(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Sign an invitation and show its QR to print (the code is not kept by the server)."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    try:
        document = values.get("document_number", "")[:20]
        if not document:
            raise Invalid("document_number", "required")
        with session.begin_nested():
            issued = invitations.issue(
                session=session,
                actor=actor,
                document_number=document,
                unit_code=values.get("unit_code", "")[:16],
                valid_from=_form_day(values.get("valid_from", ""), "valid_from"),
                valid_until=_form_day(values.get("valid_until", ""), "valid_until"),
                reason=values.get("reason", "")[:400],
                keys=keyring(request.app.state.settings),
                today=_local_today(request),
            )
    except Invalid as exc:
        return _invitation_page(request, actor, values, {exc.field: exc.reason}, None, 422)
    except NotFound as exc:
        field = "unit_code" if exc.what == "admin unit" else "document_number"
        return _invitation_page(request, actor, values, {field: exc.message}, None, 422)
    return _invitation_page(request, actor, values, {}, issued, 201)
