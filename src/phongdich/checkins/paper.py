"""Uploading a venue's paper logbook, written while the network was down.

CSV columns `venue_code,document_number,full_name,phone,checkin_at,checkout_at`. Every row is
checked; bad rows are reported with their line and reason, good rows kept. Each row becomes an
`in` (and an `out` when the check-out time is written) whose id is derived from the row's
content, so uploading the same log twice, or a corrected copy, adds nothing twice. A document
number not registered yet registers the person with the name and phone written in the log.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Permission
from phongdich.checkins.presence import MAX_VISIT
from phongdich.checkins.service import (
    Prepared,
    VenueAccess,
    check_time,
    document_owners,
    store,
)
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.errors import Invalid
from phongdich.importing import ImportReport, read_source, rows
from phongdich.persons.documents import Document, parse_document, parse_phone
from phongdich.persons.schemas import PersonInput
from phongdich.persons.service import UnitPaths, create_from, normalise
from phongdich.venues.models import Venue
from phongdich.web.reasons import N_

COLUMNS = ("venue_code", "document_number", "full_name", "phone", "checkin_at", "checkout_at")
# Paper-row ids: a fixed namespace, so the same row always gives the same event ids.
PAPER_NAMESPACE = uuid.UUID("6f1c8a52-3b0e-4c8e-9d55-0a4f3c1b7e21")
# A stay longer than a visit can last is refused: tracing would never pair it (MAX_VISIT).
MAX_PAPER_VISIT = MAX_VISIT
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M",
)
TIME_RULE = N_("a date and time such as 2021-08-01 08:30 or 01/08/2021 08:30")
CHECKOUT_BEFORE = N_("before the check-in time")
CHECKOUT_TOO_LATE = N_("more than 24 hours after the check-in time")
NAME_FOR_NEW = N_("required for a document number not registered yet")
ROW_REPEATED = "the same check-in is on line {line} with another check-out time"
PAPER_ORIGIN = "paper check-in log"


def parse_local_time(value: str, field_name: str) -> datetime:
    """A time as written on paper: local time unless it says its offset."""
    text = re.sub(r"\s+", " ", value.strip()).replace("T", " ")
    if not text:
        raise Invalid(field_name, "required")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in TIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)  # noqa: DTZ007  (local time, set below)
                break
            except ValueError:
                continue
        else:
            raise Invalid(field_name, TIME_RULE) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=get_settings().tz)


def paper_event_id(
    venue_id: uuid.UUID, document: Document, at: datetime, direction: str
) -> uuid.UUID:
    return uuid.uuid5(
        PAPER_NAMESPACE,
        f"{venue_id}|{document.nationality}|{document.number}|{at.isoformat()}|{direction}",
    )


@dataclass
class PaperReport(ImportReport):
    people_registered: int = 0
    events: int = field(default=0)

    def as_dict(self, *, max_errors: int = 1000) -> dict[str, object]:
        return {
            **super().as_dict(max_errors=max_errors),
            "people_registered": self.people_registered,
        }


@dataclass
class _Row:
    line: int
    venue: Venue
    document: Document
    full_name: str
    phone: str | None
    checkin_at: datetime
    checkout_at: datetime | None


def _parse_row(line: int, row: dict[str, str], venues: VenueAccess, now: datetime) -> _Row:
    venue = venues.venue(row["venue_code"]) if row["venue_code"] else None
    if venue is None:
        raise Invalid("venue_code", "required")
    document = parse_document(row["document_number"])
    phone = parse_phone(row["phone"] or None)
    checkin_at = check_time(parse_local_time(row["checkin_at"], "checkin_at"), now, "checkin_at")
    checkout_at = None
    if row["checkout_at"]:
        checkout_at = check_time(
            parse_local_time(row["checkout_at"], "checkout_at"), now, "checkout_at"
        )
        if checkout_at < checkin_at:
            raise Invalid("checkout_at", CHECKOUT_BEFORE)
        if checkout_at - checkin_at > MAX_PAPER_VISIT:
            raise Invalid("checkout_at", CHECKOUT_TOO_LATE)
    return _Row(line, venue, document, row["full_name"], phone, checkin_at, checkout_at)


def import_paper_log(
    *, session: Session, actor: Actor, source: bytes | str | Path, now: datetime | None = None
) -> PaperReport:
    actor.require(Permission.CHECKINS_RECORD)
    now = now or utcnow()
    report = PaperReport()
    venues = VenueAccess(session, actor)
    parsed: list[_Row] = []
    seen: dict[tuple[uuid.UUID, Document, datetime], _Row] = {}
    for line, row in rows(read_source(source), required=COLUMNS):
        try:
            item = _parse_row(line, row, venues, now)
        except Invalid as exc:
            report.error(line, exc.field, exc.reason)
            continue
        key = (item.venue.id, item.document, item.checkin_at)
        earlier = seen.get(key)
        if earlier is not None:
            if earlier.checkout_at != item.checkout_at:
                report.error(line, "checkout_at", ROW_REPEATED.format(line=earlier.line))
            else:
                report.unchanged += 1
            continue
        seen[key] = item
        parsed.append(item)

    owners = document_owners(session, (r.document for r in parsed))
    registrar = system_actor(f"{PAPER_ORIGIN} uploaded by {actor.username}")
    units = UnitPaths(session)
    kept: list[tuple[_Row, uuid.UUID]] = []
    registered: list[tuple[object, str | None]] = []
    for item in parsed:
        owner_key = (item.document.nationality, item.document.number)
        person_id = owners.get(owner_key)
        if person_id is None:
            try:
                person_id = _register(session, registrar, units, item)
            except Invalid as exc:
                report.error(item.line, exc.field, exc.reason)
                continue
            owners[owner_key] = person_id
            registered.append((person_id, item.venue.unit_code))
        kept.append((item, person_id))

    events: list[Prepared] = []
    for item, person_id in kept:
        venue = item.venue
        for at, direction in ((item.checkin_at, "in"), (item.checkout_at, "out")):
            if at is not None:
                event_id = paper_event_id(venue.id, item.document, at, direction)
                events.append(Prepared(event_id, venue, person_id, at, direction))
    new = store(session, events, source="paper", now=now)
    for item, _ in kept:
        venue_id = item.venue.id
        ids = {paper_event_id(venue_id, item.document, item.checkin_at, "in")}
        if item.checkout_at is not None:
            ids.add(paper_event_id(venue_id, item.document, item.checkout_at, "out"))
        if ids & new:
            report.created += 1
        else:
            report.unchanged += 1
    report.errors.sort(key=lambda e: e.line)  # rows refused at registration came last
    report.people_registered = len(registered)
    report.events = len(new)
    audit.record_many(
        session, registrar, "create", "person", registered, detail="registered from a paper log"
    )
    audit.record(
        session,
        actor,
        "import",
        "checkin_batch",
        None,
        detail=(
            f"source=paper rows={report.rows_ok} new_events={len(new)} "
            f"rejected={len(report.errors)} people_registered={len(registered)}"
        ),
    )
    return report


def _register(session: Session, registrar: Actor, units: UnitPaths, item: _Row) -> uuid.UUID:
    """Someone first known from a logbook: registered where the venue is, until they declare."""
    if len(item.full_name.strip()) < 2:
        raise Invalid("full_name", NAME_FOR_NEW)
    try:
        data = PersonInput(
            document_number=item.document.number,
            nationality=item.document.nationality,
            full_name=item.full_name,
            phone=item.phone,
            temporary_unit_code=item.venue.unit_code,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(str(error["loc"][0]) if error["loc"] else "row", error["msg"]) from None
    person = create_from(session, registrar, normalise(data, units, registrar))
    return person.id
