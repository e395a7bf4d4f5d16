"""Building blocks for case and tracing tests: venues, visits, cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.cases import service, tracing
from phongdich.cases.models import Case
from phongdich.checkins import service as checkins
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.factories import PHUC_XA

# The outbreak's clock: the F0's positive sample is taken at T0.
T0 = datetime(2021, 9, 10, 2, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=6)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_venue(
    session: Session, actor: Actor, name: str = "Chợ Phúc Xá", unit: str = PHUC_XA, **more: object
) -> Venue:
    data = VenueInput(name=name, category="market", unit_code=unit, **more)  # type: ignore[arg-type]
    return register_venue(session=session, actor=actor, data=data)


def visit(
    session: Session,
    actor: Actor,
    venue: Venue,
    person: Person,
    arrived: datetime,
    left: datetime | None = None,
) -> None:
    """A check-in, and a check-out when `left` is given."""
    items = [
        CheckinEventIn(
            id=uuid.uuid4(), venue_code=venue.code, person_id=person.id, at=arrived, direction="in"
        )
    ]
    if left is not None:
        items.append(
            CheckinEventIn(
                id=uuid.uuid4(), venue_code=venue.code, person_id=person.id, at=left, direction="out"
            )
        )
    report = checkins.ingest(session=session, actor=actor, events=items, now=NOW)
    assert set(report.statuses) == {"accepted"}, report.statuses


def open_case(
    session: Session, actor: Actor, person: Person, reference: datetime = T0, **more: object
) -> Case:
    case, created = service.open_case(
        session=session, actor=actor, person_id=person.id, reference_time=reference, now=NOW,
        **more,  # type: ignore[arg-type]
    )
    assert created
    return case


def trace(session: Session, actor: Actor, case: Case) -> tracing.TraceResult:
    return tracing.trace(session=session, actor=actor, case=case, now=NOW)
