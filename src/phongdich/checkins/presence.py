"""Who was where, when: check-in events paired into visits.

A visit runs from an `in` to the same person's next `out` at the same venue, when that comes
within MAX_VISIT; otherwise it lasts the venue's default visit length. An `out` with no `in`
before it (the entry was not scanned) is a visit of the default length ending then; a second
`out` after a visit (scanned twice, or a corrected paper log) makes that visit end later.
Pairing happens here, at reading time, so events may be stored in any order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkins.models import CheckinEvent
from phongdich.errors import Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from phongdich.venues.service import get_venue

# A shift at a factory or a market stall can run past 12 hours; a check-out later than this
# belongs to another visit.
MAX_VISIT = timedelta(hours=24)
MAX_WINDOW = timedelta(days=31)
# Two scans of the same person in the same direction this close together are one scan.
RESCAN = timedelta(minutes=1)


@dataclass(frozen=True)
class Visit:
    venue_id: uuid.UUID
    person_id: uuid.UUID
    arrived_at: datetime
    left_at: datetime
    left_recorded: bool  # False: the end is the venue's default visit length

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.arrived_at < end and self.left_at > start

    def overlap(self, other: Visit) -> timedelta:
        return max(
            timedelta(0),
            min(self.left_at, other.left_at) - max(self.arrived_at, other.arrived_at),
        )


def pair(
    rows: Iterable[tuple[uuid.UUID, uuid.UUID, datetime, str]], default: dict[uuid.UUID, timedelta]
) -> list[Visit]:
    """Rows of (venue, person, at, direction) ordered by venue, person and time, into visits."""
    visits: list[Visit] = []
    open_in: tuple[uuid.UUID, uuid.UUID, datetime] | None = None

    def close_open() -> None:
        if open_in is not None:
            venue, person, at = open_in
            visits.append(Visit(venue, person, at, at + default[venue], False))

    for venue, person, at, direction in rows:
        same = open_in is not None and open_in[0] == venue and open_in[1] == person
        if not same:
            close_open()
            open_in = None
        if direction == "in":
            if open_in is not None and at - open_in[2] <= RESCAN:
                continue  # a double scan at the door
            close_open()
            open_in = (venue, person, at)
            continue
        if open_in is not None and at - open_in[2] <= MAX_VISIT:
            visits.append(Visit(venue, person, open_in[2], at, True))
            open_in = None
        elif (
            visits
            and (visits[-1].venue_id, visits[-1].person_id) == (venue, person)
            and visits[-1].left_recorded
            and at - visits[-1].arrived_at <= MAX_VISIT
        ):
            # Nobody leaves twice without coming in: a second scan on the way out, or a paper
            # log re-uploaded with a corrected time. The visit lasts until the later one.
            last = visits[-1]
            visits[-1] = Visit(venue, person, last.arrived_at, max(last.left_at, at), True)
        else:
            close_open()
            open_in = None
            visits.append(Visit(venue, person, at - default[venue], at, True))
    close_open()
    return visits


def venue_defaults(
    session: Session,
    venue_ids: Iterable[uuid.UUID],
    known: dict[uuid.UUID, timedelta] | None = None,
) -> dict[uuid.UUID, timedelta]:
    """Each venue's default visit length; `known` (kept by the caller across many reads, such
    as one tracing run) saves asking again for venues already looked up."""
    known = {} if known is None else known
    missing = set(venue_ids) - set(known)
    if missing:
        known.update(
            (vid, timedelta(minutes=minutes))
            for vid, minutes in session.execute(
                select(Venue.id, Venue.default_visit_minutes).where(Venue.id.in_(missing))
            )
        )
    return known


def _visits(
    session: Session,
    key: InstrumentedAttribute[uuid.UUID],
    value: uuid.UUID,
    start: datetime,
    end: datetime,
    defaults: dict[uuid.UUID, timedelta] | None = None,
) -> list[Visit]:
    """The visits overlapping [start, end) among the events where `key == value`: one range of
    the (key, at) index, widened by MAX_VISIT so visits that began or ended outside count."""
    group = CheckinEvent.person_id if key is CheckinEvent.venue_id else CheckinEvent.venue_id
    rows = session.execute(
        select(
            CheckinEvent.venue_id, CheckinEvent.person_id, CheckinEvent.at, CheckinEvent.direction
        )
        .where(
            key == value, CheckinEvent.at >= start - MAX_VISIT, CheckinEvent.at < end + MAX_VISIT
        )
        # At the same instant the `in` comes first ("in" < "out"), whatever the ids.
        .order_by(group, CheckinEvent.at, CheckinEvent.direction)
    ).all()
    if not rows:
        return []
    visits = pair(rows, venue_defaults(session, {r[0] for r in rows}, defaults))
    return [v for v in visits if v.overlaps(start, end)]


def visits_at(
    session: Session,
    venue_id: uuid.UUID,
    start: datetime,
    end: datetime,
    defaults: dict[uuid.UUID, timedelta] | None = None,
) -> list[Visit]:
    """Every visit at the venue overlapping [start, end): the tracing query. `defaults`: a
    cache of visit lengths the caller keeps across many calls."""
    return _visits(session, CheckinEvent.venue_id, venue_id, start, end, defaults)


def visits_of(
    session: Session, person_id: uuid.UUID, start: datetime, end: datetime
) -> list[Visit]:
    """Every visit of the person overlapping [start, end), at any venue, in time order."""
    visits = _visits(session, CheckinEvent.person_id, person_id, start, end)
    return sorted(visits, key=lambda v: (v.arrived_at, v.venue_id))


def visits_of_many(
    session: Session, windows: Mapping[uuid.UUID, tuple[datetime, datetime]]
) -> list[Visit]:
    """Every visit of each person overlapping that person's own window: tracing many F1 at
    once. One query per few hundred people, over the union of their windows."""
    found: list[Visit] = []
    people = sorted(windows)
    for first in range(0, len(people), 500):
        part = people[first : first + 500]
        start = min(windows[p][0] for p in part)
        end = max(windows[p][1] for p in part)
        rows = session.execute(
            select(
                CheckinEvent.venue_id,
                CheckinEvent.person_id,
                CheckinEvent.at,
                CheckinEvent.direction,
            )
            .where(
                CheckinEvent.person_id.in_(part),
                CheckinEvent.at >= start - MAX_VISIT,
                CheckinEvent.at < end + MAX_VISIT,
            )
            .order_by(
                CheckinEvent.person_id,
                CheckinEvent.venue_id,
                CheckinEvent.at,
                CheckinEvent.direction,
            )
        ).all()
        if rows:
            visits = pair(rows, venue_defaults(session, {r[0] for r in rows}))
            found.extend(v for v in visits if v.overlaps(*windows[v.person_id]))
    return sorted(found, key=lambda v: (v.person_id, v.arrived_at, v.venue_id))


def last_event(
    session: Session, venue_id: uuid.UUID, person_id: uuid.UUID, now: datetime
) -> tuple[datetime, str] | None:
    """The person's latest scan at the venue within MAX_VISIT: is a visit open now?"""
    row = session.execute(
        select(CheckinEvent.at, CheckinEvent.direction)
        .where(
            CheckinEvent.person_id == person_id,
            CheckinEvent.at >= now - MAX_VISIT,
            CheckinEvent.at <= now + timedelta(minutes=5),
            CheckinEvent.venue_id == venue_id,
        )
        .order_by(CheckinEvent.at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class PresentPerson:
    visit: Visit
    person: Person


def who_was_there(
    *, session: Session, actor: Actor, venue_code: str, start: datetime, end: datetime
) -> tuple[Venue, Sequence[PresentPerson]]:
    """Officials of the venue's unit only (never its manager); every read is audited."""
    actor.require(Permission.CHECKINS_READ)
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("start" if start.tzinfo is None else "end", "a time with its UTC offset")
    if end <= start:
        raise Invalid("end", "after start")
    if end - start > MAX_WINDOW:
        raise Invalid("end", f"at most {MAX_WINDOW.days} days after start")
    for name, moment, reach in (("start", start, -MAX_VISIT), ("end", end, MAX_VISIT)):
        try:  # the query reaches MAX_VISIT beyond the window, in UTC
            (moment + reach).astimezone(UTC)
        except OverflowError:
            raise Invalid(name, "a time between the years 1 and 9999 in UTC") from None
    try:
        venue = get_venue(session=session, actor=actor, code=venue_code)
    except NotFound:
        raise NotFound("venue", venue_code.strip().upper()) from None
    visits = visits_at(session, venue.id, start, end)
    people = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_({v.person_id for v in visits})))
    }
    found = [PresentPerson(v, people[v.person_id]) for v in visits if v.person_id in people]
    found.sort(key=lambda p: (p.visit.arrived_at, p.person.full_name))
    audit.record(
        session,
        actor,
        "read",
        "venue_presence",
        venue.id,
        unit_code=venue.unit_code,
        detail=f"{start.isoformat()}..{end.isoformat()}: {len(found)} visits",
    )
    return venue, found
