"""Passages: storing a station's batch, and who travelled in one vehicle (for tracing)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkpoints.models import Checkpoint, Passage
from phongdich.errors import Invalid, NotFound
from phongdich.text import parse_code

DIRECTIONS = ("in", "out")
PASSAGES: Table = Passage.__table__  # type: ignore[assignment]  # for bulk inserts


def get_checkpoint(session: Session, code: str) -> Checkpoint:
    checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.code == parse_code(code)))
    if checkpoint is None:
        raise NotFound("checkpoint", code)
    return checkpoint


@dataclass(frozen=True)
class NewPassage:
    id: uuid.UUID  # made by the station
    at: datetime
    person_id: uuid.UUID
    direction: str = "in"
    group_id: uuid.UUID | None = None
    vehicle_plate: str = ""
    vehicle_type: str = ""
    origin_unit_code: str | None = None
    destination_unit_code: str | None = None
    reason: str = ""
    verdict: str = "pass"


def record_passages(
    *, session: Session, actor: Actor, checkpoint: Checkpoint, passages: Sequence[NewPassage]
) -> int:
    """Store a station's batch; a passage already stored (same id) is not stored again."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    rows: dict[uuid.UUID, dict[str, object]] = {}
    for index, passage in enumerate(passages):
        if passage.direction not in DIRECTIONS:
            raise Invalid(f"passages.{index}.direction", "in or out")
        if passage.at.tzinfo is None:
            raise Invalid(f"passages.{index}.at", "a time with its UTC offset")
        rows[passage.id] = {
            "id": passage.id,
            "at": passage.at.astimezone(UTC),
            "checkpoint_id": checkpoint.id,
            "person_id": passage.person_id,
            "direction": passage.direction,
            "group_id": passage.group_id,
            "vehicle_plate": passage.vehicle_plate.strip().upper()[:16],
            "vehicle_type": passage.vehicle_type[:16],
            "origin_unit_code": passage.origin_unit_code,
            "destination_unit_code": passage.destination_unit_code,
            "reason": passage.reason[:200],
            "verdict": passage.verdict[:16],
            "officer": actor.username[:64],
        }
    known = (
        set(session.scalars(select(Passage.id).where(Passage.id.in_(list(rows)))))
        if rows
        else set()
    )
    fresh = [row for key, row in rows.items() if key not in known]
    if fresh:
        session.execute(insert(PASSAGES), fresh)
        audit.record(
            session,
            actor,
            "create",
            "passages",
            checkpoint.id,
            unit_code=checkpoint.unit_code,
            detail=f"{len(fresh)} passages",
        )
    return len(fresh)


@dataclass(frozen=True)
class Companion:
    """Someone who crossed a checkpoint in the same vehicle as `person_id`."""

    person_id: uuid.UUID
    companion_id: uuid.UUID
    at: datetime
    group_id: uuid.UUID
    vehicle_plate: str
    checkpoint_code: str


def companions(
    session: Session, windows: Mapping[uuid.UUID, tuple[datetime, datetime]]
) -> list[Companion]:
    """For each person, the other occupants of every vehicle they crossed a checkpoint in
    during their window."""
    if not windows:
        return []
    found: list[Companion] = []
    people = sorted(windows)
    for first in range(0, len(people), 500):
        part = people[first : first + 500]
        # Two plain index reads (own crossings, then everyone in those vehicles) rather than
        # one self-join: each uses its own index and costs nothing where nobody crossed.
        crossings = [
            row
            for row in session.execute(
                select(
                    Passage.person_id,
                    Passage.at,
                    Passage.group_id,
                    Passage.vehicle_plate,
                    Passage.checkpoint_id,
                ).where(
                    Passage.person_id.in_(part),
                    Passage.at >= min(windows[p][0] for p in part),
                    Passage.at < max(windows[p][1] for p in part),
                )
            )
            if row.group_id is not None
            and windows[row.person_id][0] <= row.at < windows[row.person_id][1]
        ]
        if not crossings:
            continue
        groups = {row.group_id for row in crossings}
        riders: dict[uuid.UUID, list[uuid.UUID]] = {}
        for person_id, group_id in session.execute(
            select(Passage.person_id, Passage.group_id).where(Passage.group_id.in_(groups))
        ):
            if group_id is not None and person_id is not None:
                riders.setdefault(group_id, []).append(person_id)
        codes = dict(
            session.execute(
                select(Checkpoint.id, Checkpoint.code).where(
                    Checkpoint.id.in_({row.checkpoint_id for row in crossings})
                )
            ).all()
        )
        for row in crossings:
            for rider in dict.fromkeys(riders.get(row.group_id, [])):
                if rider != row.person_id:
                    found.append(
                        Companion(
                            row.person_id,
                            rider,
                            row.at,
                            row.group_id,
                            row.vehicle_plate,
                            codes[row.checkpoint_id],
                        )
                    )
    return found
