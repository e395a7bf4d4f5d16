"""Recording check-ins: device batches, one-tap phone check-ins, staff scans.

Every path ends in `store`, one bulk insert that skips rows already stored, so a re-sent batch,
a double tap or a re-uploaded paper log never doubles anything. Events may come days late and in
any order: a visit is only paired up when it is read (`presence.py`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkins import storage
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.errors import Invalid
from phongdich.persons.documents import Document, parse_document
from phongdich.persons.models import IdentityDocument, Person
from phongdich.venues.models import Venue
from phongdich.venues.service import SUSPENDED, may_manage
from phongdich.web.reasons import N_

# A device's clock may run a little fast; more than this is a wrong clock, not a real scan.
FUTURE_TOLERANCE = timedelta(hours=1)
LOOKUP_CHUNK = 5000
MAX_MERGE_LINKS = 5  # merge chains are one or two links long
UNKNOWN_VENUE = N_("no venue with this code")
NOT_YOUR_VENUE = N_("not a venue you record check-ins for")
VENUE_SUSPENDED = N_("this venue is suspended and takes no check-ins")
UNKNOWN_PERSON = N_("no person with this id")
UNKNOWN_DOCUMENT = N_("no person registered with this document")
TOO_OLD = N_("older than the retention window")
IN_FUTURE = N_("in the future")
OUT_OF_RANGE = "a time between the years 1 and 9999 in UTC"
ID_REUSED = N_("this id is used twice in the batch with other details")


@dataclass(frozen=True)
class Prepared:
    """A checked event, ready to store."""

    id: uuid.UUID
    venue: Venue
    person_id: uuid.UUID
    at: datetime
    direction: str


@dataclass
class Rejection:
    field: str
    reason: str


@dataclass
class IngestReport:
    """Per event, in the order given: accepted, duplicate, or rejected with field and reason."""

    ids: list[uuid.UUID] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    rejections: dict[int, Rejection] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return self.statuses.count(status)


def local_day(at: datetime) -> date:
    return at.astimezone(get_settings().tz).date()


def oldest_accepted(now: datetime) -> datetime:
    """Events older than the retention window would be purged at once: they are refused."""
    return now - timedelta(days=get_settings().checkin_retention_days)


def check_time(at: datetime, now: datetime, field_name: str = "at") -> datetime:
    if at.tzinfo is None:
        raise Invalid(field_name, "a time with its UTC offset")
    try:
        at = at.astimezone(UTC)
    except OverflowError:  # within hours of year 1 or 9999: no UTC time to store
        raise Invalid(field_name, OUT_OF_RANGE) from None
    if at < oldest_accepted(now):
        raise Invalid(field_name, TOO_OLD)
    if at > now + FUTURE_TOLERANCE:
        raise Invalid(field_name, IN_FUTURE)
    return at


class VenueAccess:
    """Venues looked up once per code, with whether the actor may record check-ins there."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self._venues: dict[str, Venue | None] = {}
        self._paths: dict[str, str | None] = {}
        self._checked: dict[str, Venue | str] = {}

    def load(self, codes: Iterable[str]) -> None:
        wanted = {c.strip().upper() for c in codes} - self._venues.keys()
        for code in wanted:
            self._venues[code] = None
        if not wanted:
            return
        venues = list(self.session.scalars(select(Venue).where(Venue.code.in_(wanted))))
        for venue in venues:
            self._venues[venue.code] = venue
        units = {v.unit_code for v in venues} - self._paths.keys()
        if units:
            for code, path in self.session.execute(
                select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(units))
            ):
                self._paths[code] = path

    def venue(self, code: str, field_name: str = "venue_code") -> Venue:
        """The venue, or Invalid naming why not; decided once per code (a batch holds few)."""
        verdict = self._checked.get(code)
        if verdict is None:
            verdict = self._checked[code] = self._check(code)
        if isinstance(verdict, str):
            raise Invalid(field_name, verdict)
        return verdict

    def _check(self, raw: str) -> Venue | str:
        code = raw.strip().upper()
        if code not in self._venues:
            self.load([code])
        venue = self._venues[code]
        if venue is None:
            return UNKNOWN_VENUE
        if not may_manage(self.actor, venue, self._paths.get(venue.unit_code)):
            return NOT_YOUR_VENUE
        if venue.status == SUSPENDED:
            return VENUE_SUSPENDED
        return venue


def _chunks(items: Sequence[object], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def current_ids(session: Session, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each known id mapped to the record that is current (a merged duplicate's survivor)."""
    asked = set(person_ids)
    link: dict[uuid.UUID, uuid.UUID | None] = {}
    pending = set(asked)
    for _ in range(MAX_MERGE_LINKS):
        pending -= link.keys()
        if not pending:
            break
        following: set[uuid.UUID] = set()
        for part in _chunks(list(pending)):
            for pid, into in session.execute(
                select(Person.id, Person.merged_into_id).where(
                    storage.one_of(session, Person.id, part)
                )
            ):
                link[pid] = into
                if into is not None:
                    following.add(into)
        pending = following
    found: dict[uuid.UUID, uuid.UUID] = {}
    for pid in asked:
        current: uuid.UUID | None = pid
        for _ in range(MAX_MERGE_LINKS):
            if current not in link or link[current] is None:
                break
            current = link[current]
        if current in link and link[current] is None:
            found[pid] = current
    return found


def document_owners(
    session: Session, documents: Iterable[Document]
) -> dict[tuple[str, str], uuid.UUID]:
    """(nationality, number) → the person holding the document."""
    wanted = {(d.nationality, d.number) for d in documents}
    numbers = list({number for _, number in wanted})
    owners: dict[tuple[str, str], uuid.UUID] = {}
    for part in _chunks(numbers):
        for number, nationality, person_id in session.execute(
            select(
                IdentityDocument.number, IdentityDocument.nationality, IdentityDocument.person_id
            ).where(storage.one_of(session, IdentityDocument.number, part))
        ):
            if (nationality, number) in wanted:
                owners[(nationality, number)] = person_id
    current = current_ids(session, owners.values())
    return {key: current[pid] for key, pid in owners.items() if pid in current}


def store(
    session: Session, events: Sequence[Prepared], *, source: str, now: datetime | None = None
) -> set[uuid.UUID]:
    """Insert what is new, count it per venue and local day; return the ids that were new."""
    now = now or utcnow()
    rows = [
        {
            "at": e.at,
            "id": e.id,
            "venue_id": e.venue.id,
            "person_id": e.person_id,
            "direction": e.direction,
            "source": source,
            "received_at": now,
        }
        for e in events
    ]
    new = storage.insert_new(session, rows)
    counts: dict[tuple[uuid.UUID, date, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in events:
        if e.id in new:
            counts[(e.venue.id, local_day(e.at), e.venue.unit_code)][e.direction == "out"] += 1
    storage.add_counts(session, counts)
    return new


def ingest(
    *,
    session: Session,
    actor: Actor,
    events: Sequence[CheckinEventIn],
    source: str = "device",
    now: datetime | None = None,
) -> IngestReport:
    """A device's batch: each event accepted, duplicate (already stored) or rejected."""
    actor.require(Permission.CHECKINS_RECORD)
    now = now or utcnow()
    report = IngestReport()
    venues = VenueAccess(session, actor)
    venues.load(e.venue_code for e in events)
    documents: dict[int, Document] = {}
    for index, event in enumerate(events):
        if event.document_number:
            try:
                documents[index] = parse_document(
                    event.document_number, nationality=event.nationality or None
                )
            except Invalid as exc:
                report.rejections[index] = Rejection(exc.field, exc.reason)
    people = current_ids(session, (e.person_id for e in events if e.person_id))
    owners = document_owners(session, documents.values())

    first_seen: dict[uuid.UUID, CheckinEventIn] = {}
    prepared: list[Prepared] = []
    for index, event in enumerate(events):
        report.ids.append(event.id)
        report.statuses.append("rejected")
        if index in report.rejections:
            continue
        earlier = first_seen.get(event.id)
        if earlier is not None:
            if earlier == event:
                report.statuses[index] = "duplicate"
            else:
                report.rejections[index] = Rejection("id", ID_REUSED)
            continue
        first_seen[event.id] = event
        try:
            venue = venues.venue(event.venue_code)
            at = check_time(event.at, now)
        except Invalid as exc:
            report.rejections[index] = Rejection(exc.field, exc.reason)
            continue
        if event.person_id is not None:
            person_id = people.get(event.person_id)
            if person_id is None:
                report.rejections[index] = Rejection("person_id", UNKNOWN_PERSON)
                continue
        else:
            document = documents[index]
            person_id = owners.get((document.nationality, document.number))
            if person_id is None:
                report.rejections[index] = Rejection("document_number", UNKNOWN_DOCUMENT)
                continue
        prepared.append(Prepared(event.id, venue, person_id, at, event.direction))
        report.statuses[index] = "pending"

    new = store(session, prepared, source=source, now=now)
    for index, status in enumerate(report.statuses):
        if status == "pending":
            report.statuses[index] = "accepted" if report.ids[index] in new else "duplicate"
    units = {p.venue.unit_code for p in prepared}
    audit.record(
        session,
        actor,
        "ingest",
        "checkin_batch",
        None,
        unit_code=next(iter(units)) if len(units) == 1 else None,
        detail=(
            f"source={source} accepted={report.count('accepted')} "
            f"duplicate={report.count('duplicate')} rejected={report.count('rejected')} "
            f"venues={len({p.venue.id for p in prepared})}"
        ),
    )
    return report
