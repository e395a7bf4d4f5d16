"""Passages: the table stations fill (`sync.receive`), and who travelled in one vehicle
(for tracing)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from phongdich.checkpoints.models import Checkpoint, Passage

DIRECTIONS = ("in", "out")
PASSAGES: Table = Passage.__table__  # type: ignore[assignment]  # for bulk inserts


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
