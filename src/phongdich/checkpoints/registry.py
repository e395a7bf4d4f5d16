"""The checkpoint registry: checkpoints, their lanes, officers and station devices.

A station authenticates with a device token of its own (not a user's): a stolen station
computer is cut off by revoking that one token, and every passage it sends names the station.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, in_jurisdiction
from phongdich.auth.models import User
from phongdich.auth.passwords import hash_token, new_token
from phongdich.auth.roles import Permission, Role
from phongdich.checkpoints.models import Checkpoint, CheckpointOfficer, Station
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound, Unauthorized
from phongdich.text import clean_name, parse_code

LANES = ("general", "driver", "priority", "freight")
MAX_LANES = 8


def check_lanes(lanes: Sequence[str] | None, field: str = "lanes") -> list[str]:
    """Lane names (the known ones or the province's own): short, unique, at least one."""
    chosen = [lane.strip().lower() for lane in (lanes or ["general"]) if lane.strip()]
    if not chosen:
        raise Invalid(field, "at least one lane")
    if len(chosen) > MAX_LANES:
        raise Invalid(field, f"at most {MAX_LANES} lanes")
    for index, lane in enumerate(chosen):
        if len(lane) > 16 or not lane.replace("_", "").isalnum():
            raise Invalid(f"{field}.{index}", "a lane name: letters, digits and _, at most 16")
    return list(dict.fromkeys(chosen))


def _checkpoint_unit(session: Session, actor: Actor, unit_code: str) -> AdminUnit:
    unit = session.get(AdminUnit, (unit_code or "").strip())
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", unit_code)
    return unit


def register_checkpoint(
    *,
    session: Session,
    actor: Actor,
    code: str,
    name: str,
    unit_code: str,
    road: str = "",
    lanes: Sequence[str] | None = None,
) -> Checkpoint:
    """A gateway of the unit (province, district or commune) on one road."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    code = parse_code(code)
    unit = _checkpoint_unit(session, actor, unit_code)
    if session.scalar(select(Checkpoint.id).where(Checkpoint.code == code)) is not None:
        raise Conflict(f"checkpoint {code} already exists")
    name = clean_name(name)
    if not name:
        raise Invalid("name", "required")
    checkpoint = Checkpoint(
        code=code,
        name=name[:200],
        unit_code=unit.code,
        road=clean_name(road)[:200],
        lanes=check_lanes(lanes),
    )
    session.add(checkpoint)
    session.flush()
    audit.record(session, actor, "create", "checkpoint", checkpoint.id, unit_code=unit.code)
    return checkpoint


def managed_checkpoint(session: Session, actor: Actor, code: str) -> Checkpoint:
    """A checkpoint of the actor's jurisdiction (others look not found)."""
    checkpoint = session.scalar(
        select(Checkpoint).where(
            Checkpoint.code == parse_code(code), in_jurisdiction(actor, Checkpoint.unit_code)
        )
    )
    if checkpoint is None:
        raise NotFound("checkpoint", code)
    return checkpoint


def checkpoints_of(session: Session, actor: Actor) -> list[Checkpoint]:
    return list(
        session.scalars(
            select(Checkpoint)
            .where(in_jurisdiction(actor, Checkpoint.unit_code))
            .order_by(Checkpoint.unit_code, Checkpoint.code)
        )
    )


def update_checkpoint(
    *,
    session: Session,
    actor: Actor,
    code: str,
    name: str | None = None,
    road: str | None = None,
    lanes: Sequence[str] | None = None,
    active: bool | None = None,
) -> Checkpoint:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = managed_checkpoint(session, actor, code)
    if name is not None:
        cleaned = clean_name(name)
        if not cleaned:
            raise Invalid("name", "required")
        checkpoint.name = cleaned[:200]
    if road is not None:
        checkpoint.road = clean_name(road)[:200]
    if lanes is not None:
        checkpoint.lanes = check_lanes(lanes)
    if active is not None:
        checkpoint.active = active
    session.flush()
    audit.record(
        session, actor, "update", "checkpoint", checkpoint.id, unit_code=checkpoint.unit_code
    )
    return checkpoint


def add_officer(*, session: Session, actor: Actor, code: str, username: str) -> User:
    """Staff the checkpoint with a user of the jurisdiction (idempotent)."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = managed_checkpoint(session, actor, code)
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    unit = session.get(AdminUnit, user.unit_code) if user and user.unit_code else None
    if user is None or unit is None or not covers(actor, unit.path):
        raise NotFound("user", username)
    if not Actor(user.id, user.username, Role(user.role)).can(Permission.CHECKPOINTS_RECORD):
        raise Invalid("username", "this user's role may not record passages")
    if session.get(CheckpointOfficer, (checkpoint.id, user.id)) is None:
        session.add(CheckpointOfficer(checkpoint_id=checkpoint.id, user_id=user.id))
        session.flush()
        audit.record(
            session,
            actor,
            "update",
            "checkpoint",
            checkpoint.id,
            unit_code=checkpoint.unit_code,
            detail=f"officer {user.username} added",
        )
    return user


def remove_officer(*, session: Session, actor: Actor, code: str, username: str) -> None:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = managed_checkpoint(session, actor, code)
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    row = session.get(CheckpointOfficer, (checkpoint.id, user.id)) if user else None
    if row is None:
        raise NotFound("officer", username)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "checkpoint",
        checkpoint.id,
        unit_code=checkpoint.unit_code,
        detail=f"officer {username.strip().lower()} removed",
    )


def officers_of(session: Session, checkpoint: Checkpoint) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(CheckpointOfficer, CheckpointOfficer.user_id == User.id)
            .where(CheckpointOfficer.checkpoint_id == checkpoint.id)
            .order_by(User.username)
        )
    )


@dataclass(frozen=True)
class IssuedStation:
    station: Station
    token: str  # shown once


def add_station(*, session: Session, actor: Actor, code: str, label: str = "") -> IssuedStation:
    """A new station device for the checkpoint; its token is returned once."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    checkpoint = managed_checkpoint(session, actor, code)
    token = new_token()
    station = Station(
        checkpoint_id=checkpoint.id,
        label=clean_name(label)[:100] or f"{checkpoint.code} station",
        token_hash=hash_token(token),
        created_by=actor.username[:64],
    )
    session.add(station)
    session.flush()
    audit.record(session, actor, "create", "station", station.id, unit_code=checkpoint.unit_code)
    return IssuedStation(station, token)


def revoke_station(*, session: Session, actor: Actor, station_id: uuid.UUID) -> Station:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    station = session.get(Station, station_id)
    checkpoint = session.get(Checkpoint, station.checkpoint_id) if station else None
    unit = session.get(AdminUnit, checkpoint.unit_code) if checkpoint else None
    if station is None or unit is None or not covers(actor, unit.path):
        raise NotFound("station", station_id)
    if station.revoked_at is None:
        station.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor, "revoke", "station", station.id, unit_code=unit.code)
    return station


def stations_of(session: Session, checkpoint: Checkpoint) -> list[Station]:
    return list(
        session.scalars(
            select(Station)
            .where(Station.checkpoint_id == checkpoint.id)
            .order_by(Station.created_at)
        )
    )


@dataclass(frozen=True)
class StationContext:
    """A station that presented a valid token, with its checkpoint and the actor it acts as."""

    station: Station
    checkpoint: Checkpoint
    actor: Actor


def station_for_token(session: Session, token: str) -> StationContext:
    """Unauthorized for an unknown or revoked token, or a checkpoint no longer active."""
    if not token or len(token) > 200:
        raise Unauthorized("invalid station token")
    station = session.scalar(select(Station).where(Station.token_hash == hash_token(token)))
    checkpoint = session.get(Checkpoint, station.checkpoint_id) if station else None
    # A closed checkpoint's stations still sync what they recorded: only revoking the token
    # cuts a station off.
    if station is None or checkpoint is None or station.revoked_at is not None:
        raise Unauthorized("invalid station token")
    unit = session.get(AdminUnit, checkpoint.unit_code)
    actor = Actor(
        user_id=None,
        username=f"station:{checkpoint.code}"[:64],
        role=Role.CHECKPOINT_OFFICER,
        unit_code=checkpoint.unit_code,
        unit_path=unit.path if unit else None,
        origin=f"station {station.id}",
    )
    station.last_seen_at = utcnow()
    return StationContext(station, checkpoint, actor)
