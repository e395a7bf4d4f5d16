"""The two live ways to check in: a citizen's one tap on the poster page, a staff member's scan.

Staff scan the visitor's personal pass or, for people without a phone, the QR on their CCCD
card (or type the number). They see the colour and the initials only; a red status is refused
and nothing is recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkins.presence import RESCAN, last_event
from phongdich.checkins.schemas import ScanInput, ScanResult
from phongdich.checkins.service import Prepared, check_time, current_ids, store
from phongdich.credentials import scanned
from phongdich.credentials.passes import initials_of
from phongdich.credentials.scanned import Scanned
from phongdich.credentials.verify import TrustStore
from phongdich.db import utcnow
from phongdich.errors import Invalid, NotFound
from phongdich.venues.models import Venue
from phongdich.venues.service import SUSPENDED, find_venue, get_venue
from phongdich.web.reasons import N_

REFUSED_RED = N_("red status: entry refused")


def _direction(
    session: Session, venue: Venue, person_id: uuid.UUID, asked: str, now: datetime
) -> tuple[str, bool]:
    """(direction, already recorded): `auto` leaves when a visit is open, enters otherwise;
    the same scan again within a minute is the scan already recorded."""
    last = last_event(session, venue.id, person_id, now)
    if asked == "auto":
        if last is not None and now - last[0] <= RESCAN:
            return last[1], True
        return ("out" if last is not None and last[1] == "in" else "in"), False
    if last is not None and last[1] == asked and now - last[0] <= RESCAN:
        return asked, True
    return asked, False


def identify(
    session: Session, text: str, venue: Venue, store_: TrustStore, now: datetime
) -> Scanned:
    """The person behind what was scanned at a venue; an unknown CCCD card registers them there."""
    return scanned.identify(
        session, text, store_, now, register_unit_code=venue.unit_code, where=f"venue {venue.code}"
    )


def scan(
    *,
    session: Session,
    actor: Actor,
    venue_code: str,
    data: ScanInput,
    trust: TrustStore,
    now: datetime | None = None,
) -> ScanResult:
    """A venue's staff scanned a visitor; red is refused, anything else is recorded."""
    actor.require(Permission.CHECKINS_RECORD)
    now = now or utcnow()
    venue = get_venue(session=session, actor=actor, code=venue_code)
    if venue.status == SUSPENDED:
        raise Invalid("venue_code", N_("this venue is suspended and takes no check-ins"))
    visitor = identify(session, data.text, venue, trust, now)
    person = visitor.person
    result = ScanResult(
        recorded=False,
        direction=None,
        colour=visitor.colour,
        initials=initials_of(person.full_name),
        birth_year=person.birth_year,
        at=None,
        refused=visitor.colour == "red",
        reasons=[*visitor.reasons, *([REFUSED_RED] if visitor.colour == "red" else [])],
    )
    if result.refused:
        return result
    direction, repeated = _direction(session, venue, person.id, data.direction, now)
    if not repeated:
        store(
            session,
            [Prepared(data.id or uuid.uuid4(), venue, person.id, now, direction)],
            source="staff",
            now=now,
        )
    return result.model_copy(update={"recorded": True, "direction": direction, "at": now})


@dataclass(frozen=True)
class PhoneCheckin:
    venue: Venue
    direction: str
    at: datetime


def phone_checkin(
    *,
    session: Session,
    venue_code: str,
    person_id: uuid.UUID,
    direction: str,
    event_id: uuid.UUID,
    now: datetime | None = None,
) -> PhoneCheckin:
    """A citizen's tap on the poster page; a second tap within a minute is the same check-in."""
    now = now or utcnow()
    venue = find_venue(session=session, code=venue_code)
    if venue is None:
        raise NotFound("venue", venue_code.strip().upper())
    if venue.status == SUSPENDED:
        raise Invalid("venue_code", N_("this venue is suspended and takes no check-ins"))
    if direction not in ("in", "out"):
        raise Invalid("direction", "in | out")
    current = current_ids(session, [person_id]).get(person_id)
    if current is None:
        raise NotFound("person", person_id)
    at = check_time(now, now)
    _, repeated = _direction(session, venue, current, direction, at)
    if not repeated:
        store(session, [Prepared(event_id, venue, current, at, direction)], source="phone", now=now)
    return PhoneCheckin(venue, direction, at)


def visit_open(
    session: Session, venue: Venue, person_id: uuid.UUID, now: datetime
) -> datetime | None:
    """When the person checked in here, if they have not checked out since."""
    last = last_event(session, venue.id, person_id, now)
    return last[0] if last is not None and last[1] == "in" else None
