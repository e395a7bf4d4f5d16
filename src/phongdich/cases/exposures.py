"""Finding exposures: who shared a venue, a household or a vehicle with whom, and when.

Pure reading, in bulk: given each source person's window (the F0's infectious window, or an
F1's time between first exposure and quarantine), every other person exposed to them and how.
Tracing (`tracing.py`) decides who becomes a contact; this module only measures.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.cases.policy import Policy
from phongdich.checkins.presence import venue_defaults, visits_at, visits_of_many
from phongdich.checkpoints.passages import companions
from phongdich.persons.models import Person

Windows = Mapping[uuid.UUID, tuple[datetime, datetime]]
VIAS = ("venue", "household", "vehicle", "declared")


@dataclass(frozen=True)
class Found:
    person_id: uuid.UUID  # the exposed person
    source_person_id: uuid.UUID  # whom they were exposed to
    via: str
    # Names the exposure across runs: a second trace recognises what it found before.
    key: str
    start: datetime
    end: datetime
    overlap_minutes: int | None = None
    venue_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    vehicle_plate: str = ""


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def at_venues(session: Session, windows: Windows, min_overlap: timedelta) -> list[Found]:
    """Visits overlapping a source's visit, inside the source's window, by `min_overlap` or
    more (exactly `min_overlap` counts)."""
    # (source, clipped start, clipped end, the source's arrival as recorded)
    spans: dict[uuid.UUID, list[tuple[uuid.UUID, datetime, datetime, datetime]]]
    spans = defaultdict(list)
    for visit in visits_of_many(session, windows):
        window_start, window_end = windows[visit.person_id]
        start, end = max(visit.arrived_at, window_start), min(visit.left_at, window_end)
        if end - start >= min_overlap:
            spans[visit.venue_id].append((visit.person_id, start, end, visit.arrived_at))
    found: list[Found] = []
    # Every venue's default visit length in one read, not one a venue.
    lengths = venue_defaults(session, spans)
    for venue_id, sources in spans.items():
        lowest = min(start for _, start, _, _ in sources)
        highest = max(end for _, _, end, _ in sources)
        for other in visits_at(session, venue_id, lowest, highest, lengths):
            for source, start, end, arrived in sources:
                if other.person_id == source:
                    continue  # the source's own other visits
                overlap_start = max(start, other.arrived_at)
                overlap_end = min(end, other.left_at)
                if overlap_end - overlap_start < min_overlap:
                    continue
                found.append(
                    Found(
                        person_id=other.person_id,
                        source_person_id=source,
                        via="venue",
                        # The two visits as recorded, not their clipped overlap: a window
                        # moved by a corrected onset finds the same exposure again.
                        key=(
                            f"venue:{venue_id.hex}:{source.hex}:"
                            f"{_stamp(arrived)}:{_stamp(other.arrived_at)}"
                        ),
                        start=overlap_start,
                        end=overlap_end,
                        overlap_minutes=int((overlap_end - overlap_start).total_seconds() // 60),
                        venue_id=venue_id,
                    )
                )
    return found


def in_households(session: Session, windows: Windows) -> list[Found]:
    """Everyone living with a source is exposed for the source's whole window."""
    # Conditions on other columns are checked here, not in SQL: SQLite would otherwise pick
    # their indexes (household set, not merged) over the keys and read the whole table.
    sources = list(windows)
    households: dict[uuid.UUID, uuid.UUID] = {}
    for first in range(0, len(sources), 1000):
        for person_id, household_id in session.execute(
            select(Person.id, Person.household_id).where(
                Person.id.in_(sources[first : first + 1000])
            )
        ):
            if household_id is not None:
                households[person_id] = household_id
    if not households:
        return []
    members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    homes = sorted(set(households.values()))
    for first in range(0, len(homes), 1000):
        for person_id, household_id, merged in session.execute(
            select(Person.id, Person.household_id, Person.merged_into_id).where(
                Person.household_id.in_(homes[first : first + 1000])
            )
        ):
            if household_id is not None and merged is None:
                members[household_id].append(person_id)
    found: list[Found] = []
    for source, household_id in households.items():
        if household_id is None:
            continue
        start, end = windows[source]
        for member in members[household_id]:
            if member != source:
                found.append(
                    Found(
                        person_id=member,
                        source_person_id=source,
                        via="household",
                        key=f"household:{household_id.hex}:{source.hex}",
                        start=start,
                        end=end,
                        household_id=household_id,
                    )
                )
    return found


def in_vehicles(session: Session, windows: Windows) -> list[Found]:
    """Everyone who crossed a checkpoint in the same vehicle as a source inside its window."""
    return [
        Found(
            person_id=c.companion_id,
            source_person_id=c.person_id,
            via="vehicle",
            key=f"vehicle:{c.group_id.hex}:{c.person_id.hex}",
            start=c.at,
            end=c.at,
            vehicle_plate=c.vehicle_plate,
        )
        for c in companions(session, windows)
    ]


def find(session: Session, windows: Windows, policy: Policy) -> list[Found]:
    """Every exposure to the sources by the policy's rules (empty windows find nothing)."""
    open_windows = {person: (s, e) for person, (s, e) in windows.items() if e > s}
    found = at_venues(session, open_windows, policy.min_overlap) if open_windows else []
    if policy.trace_household and windows:
        # Living together does not stop at isolation in the home (a contact quarantined at home
        # who turns positive): an empty window still covers the time before the reference.
        homes = {p: (s, e if e > s else s + policy.window_before) for p, (s, e) in windows.items()}
        found.extend(in_households(session, homes))
    if policy.trace_vehicle and open_windows:
        found.extend(in_vehicles(session, open_windows))
    return found
