"""Passages written straight into the table, as tracing and report tests need them (a
station's passages go through `checkpoints.sync.receive`, tested on its own)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.checkpoints.models import Checkpoint
from phongdich.checkpoints.passages import PASSAGES
from phongdich.text import plate


@dataclass(frozen=True)
class NewPassage:
    id: uuid.UUID
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
    rows = [
        {
            "id": p.id,
            "at": p.at.astimezone(UTC),
            "checkpoint_id": checkpoint.id,
            "person_id": p.person_id,
            "direction": p.direction,
            "group_id": p.group_id,
            "vehicle_plate": plate(p.vehicle_plate),
            "vehicle_type": p.vehicle_type,
            "origin_unit_code": p.origin_unit_code,
            "destination_unit_code": p.destination_unit_code,
            "reason": p.reason,
            "verdict": p.verdict,
            "officer": actor.username[:64],
        }
        for p in passages
    ]
    if rows:
        session.execute(insert(PASSAGES), rows)
    return len(rows)
