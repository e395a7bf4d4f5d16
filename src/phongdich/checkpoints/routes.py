"""Checkpoints API: the registry (lanes, officers, station tokens), entry rules, invitations."""

from __future__ import annotations

import shlex
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from phongdich.auth.roles import Permission
from phongdich.checkpoints import codes, invitations, registry, rule_preview, rulesets
from phongdich.checkpoints.models import EntryRuleSet, Station
from phongdich.checkpoints.schemas import (
    CheckpointCreate,
    CheckpointPublic,
    CheckpointUpdate,
    InvitationInput,
    InvitationPublic,
    OfficerInput,
    OfficerPublic,
    PreviewInput,
    PreviewRow,
    RuleSetPublic,
    RulesInput,
    StationCreate,
    StationIssued,
    StationPublic,
)
from phongdich.config import Settings
from phongdich.credentials import passes
from phongdich.credentials.keys import keyring
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid, NotFound

router = APIRouter(prefix="/api", tags=["checkpoints"])

Code = Annotated[str, Path(max_length=32)]
Scope = Annotated[str, Query(max_length=48, description="default, checkpoint:<code>, unit:<code>")]


def station_command(server: str, token: str) -> str:
    """What the officer types on the checkpoint's computer."""
    return f"phongdich station --server {shlex.quote(server)} --token {shlex.quote(token)}"


def server_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


def rule_set_public(scope: str, rule_set: EntryRuleSet | None) -> RuleSetPublic:
    published = rulesets.as_published(rule_set)
    return RuleSetPublic(
        scope=scope,
        version=published["version"],
        rules=published["rules"],
        note=published.get("note", ""),
        published_by=published.get("published_by", ""),
        published_at=rule_set.published_at if rule_set else None,
    )


# Registry


@router.get("/checkpoints", response_model=list[CheckpointPublic])
def list_checkpoints(actor: ActorDep, session: SessionDep) -> list[CheckpointPublic]:
    """The checkpoints of the caller's jurisdiction."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    return [
        CheckpointPublic.model_validate(c)
        for c in registry.checkpoints_of(session=session, actor=actor)
    ]


@router.post("/checkpoints", response_model=CheckpointPublic, status_code=status.HTTP_201_CREATED)
def create_checkpoint(
    body: CheckpointCreate, actor: ActorDep, session: SessionDep
) -> CheckpointPublic:
    checkpoint = registry.register_checkpoint(session=session, actor=actor, **body.model_dump())
    return CheckpointPublic.model_validate(checkpoint)


@router.get("/checkpoints/{code}", response_model=CheckpointPublic)
def get_checkpoint(code: Code, actor: ActorDep, session: SessionDep) -> CheckpointPublic:
    actor.require(Permission.CHECKPOINTS_RECORD)
    return CheckpointPublic.model_validate(registry.managed_checkpoint(session, actor, code))


@router.patch("/checkpoints/{code}", response_model=CheckpointPublic)
def update_checkpoint(
    code: Code, body: CheckpointUpdate, actor: ActorDep, session: SessionDep
) -> CheckpointPublic:
    """Rename, change lanes, or close (active=false: its stations are refused) a checkpoint."""
    checkpoint = registry.update_checkpoint(
        session=session, actor=actor, code=code, **body.model_dump(exclude_unset=True)
    )
    return CheckpointPublic.model_validate(checkpoint)


@router.get("/checkpoints/{code}/officers", response_model=list[OfficerPublic])
def list_officers(code: Code, actor: ActorDep, session: SessionDep) -> list[OfficerPublic]:
    actor.require(Permission.CHECKPOINTS_RECORD)
    checkpoint = registry.managed_checkpoint(session, actor, code)
    return [OfficerPublic.model_validate(u) for u in registry.officers_of(session, checkpoint)]


@router.post(
    "/checkpoints/{code}/officers",
    response_model=OfficerPublic,
    status_code=status.HTTP_201_CREATED,
)
def add_officer(
    code: Code, body: OfficerInput, actor: ActorDep, session: SessionDep
) -> OfficerPublic:
    user = registry.add_officer(session=session, actor=actor, code=code, username=body.username)
    return OfficerPublic.model_validate(user)


@router.delete("/checkpoints/{code}/officers/{username}", status_code=204)
def remove_officer(
    code: Code,
    username: Annotated[str, Path(max_length=64)],
    actor: ActorDep,
    session: SessionDep,
) -> Response:
    registry.remove_officer(session=session, actor=actor, code=code, username=username)
    return Response(status_code=204)


@router.get("/checkpoints/{code}/stations", response_model=list[StationPublic])
def list_stations(code: Code, actor: ActorDep, session: SessionDep) -> list[StationPublic]:
    """The checkpoint's station devices; their tokens are never shown again."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = registry.managed_checkpoint(session, actor, code)
    return [StationPublic.model_validate(s) for s in registry.stations_of(session, checkpoint)]


@router.post(
    "/checkpoints/{code}/stations",
    response_model=StationIssued,
    status_code=status.HTTP_201_CREATED,
)
def add_station(
    code: Code, body: StationCreate, request: Request, actor: ActorDep, session: SessionDep
) -> StationIssued:
    """A new station device: the answer holds its token, the only time it is shown."""
    issued = registry.add_station(session=session, actor=actor, code=code, label=body.label)
    return StationIssued(
        station=StationPublic.model_validate(issued.station),
        token=issued.token,
        command=station_command(server_url(request), issued.token),
    )


@router.post("/checkpoints/{code}/stations/{station_id}/revoke", response_model=StationPublic)
def revoke_station(
    code: Code, station_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> StationPublic:
    """Cut a (lost, stolen) station off: its token is refused from now on."""
    checkpoint = registry.managed_checkpoint(session, actor, code)
    found = session.get(Station, station_id)
    if found is None or found.checkpoint_id != checkpoint.id:
        raise NotFound("station", station_id)
    station = registry.revoke_station(session=session, actor=actor, station_id=station_id)
    return StationPublic.model_validate(station)


# Entry rules


@router.get("/entry-rules", response_model=list[RuleSetPublic])
def rule_versions(scope: Scope, actor: ActorDep, session: SessionDep) -> list[RuleSetPublic]:
    """Every published version of the scope, newest first (none yet: the built-in default)."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    where = rulesets.resolve_scope(session, actor, scope)
    found = rulesets.versions(session, where.key)
    if not found:
        return [rule_set_public(where.key, None)] if where.key == rulesets.DEFAULT_SCOPE else []
    return [rule_set_public(where.key, r) for r in found]


@router.post("/entry-rules", response_model=RuleSetPublic, status_code=status.HTTP_201_CREATED)
def publish_rules(body: RulesInput, actor: ActorDep, session: SessionDep) -> RuleSetPublic:
    """Publish the next version; the same rules sent again return the current version."""
    rule_set = rulesets.publish(
        session=session, actor=actor, scope=body.scope, rules=body.rules, note=body.note
    )
    return rule_set_public(rule_set.scope, rule_set)


@router.post("/entry-rules/preview", response_model=list[PreviewRow])
def preview_rules(
    body: PreviewInput, request: Request, actor: ActorDep, session: SessionDep
) -> list[PreviewRow]:
    """The verdict for each sample traveller under these rules, without publishing them."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    settings: Settings = request.app.state.settings
    _, rows = rule_preview.preview(body.rules, body.at or utcnow(), body.sample, settings.tz)
    return [
        PreviewRow(
            label=row.label,
            verdict=row.verdict.verdict,
            reason=row.verdict.reason,
            condition=row.verdict.condition,
            rule_index=row.verdict.rule_index,
        )
        for row in rows
    ]


@router.get("/checkpoints/{code}/entry-rules", response_model=RuleSetPublic)
def applying_rules(
    code: Code,
    destination: Annotated[str, Query(max_length=16, description="the destination unit code")],
    actor: ActorDep,
    session: SessionDep,
) -> RuleSetPublic:
    """The set a station of this checkpoint applies to a traveller bound for `destination`:
    the destination unit's nearest, else the checkpoint's, else the default."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    found = rule_preview.applying(
        session=session, actor=actor, checkpoint_code=code, destination=destination
    )
    published = found.published
    at = published.get("published_at")
    return RuleSetPublic(
        scope=found.scope,
        version=int(published.get("version", 0)),
        rules=list(published.get("rules", [])),
        note=str(published.get("note", "")),
        published_by=str(published.get("published_by", "")),
        published_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
    )


# Invitations


@router.post("/invitations", response_model=InvitationPublic, status_code=status.HTTP_201_CREATED)
def issue_invitation(
    body: InvitationInput, request: Request, actor: ActorDep, session: SessionDep
) -> InvitationPublic:
    """A signed invitation of one of your units for the person holding the document."""
    issued = invitations.issue(
        session=session, actor=actor, keys=keyring(request.app.state.settings), **body.model_dump()
    )
    return InvitationPublic(
        invitation_id=issued.code.invitation_id,
        code=issued.text,
        initials=issued.code.initials,
        unit_code=issued.code.unit,
        valid_from=issued.code.valid_from,
        valid_until=issued.code.valid_until,
        reason=issued.code.reason,
        qr_svg=passes.qr_svg(issued.text),
    )


@router.get("/invitations/qr.png", response_class=Response)
def invitation_qr_png(
    code: Annotated[str, Query(max_length=2000, description="a PDI1: code")],
    request: Request,
    actor: ActorDep,
) -> Response:
    """The QR of an invitation this server signed, as PNG, for printing."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    try:
        invitations.read(code, keyring(request.app.state.settings))
    except codes.CodeError:
        raise Invalid("code", "an invitation code signed by this server (PDI1:…)") from None
    return Response(
        passes.qr_png(code.strip()),
        media_type="image/png",
        headers={"Content-Disposition": 'inline; filename="invitation.png"'},
    )
