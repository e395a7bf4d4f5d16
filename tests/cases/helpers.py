"""Building blocks for case and tracing tests: venues, visits, cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.cases import service, tracing
from phongdich.cases.models import Case, Contact, Exposure, QuarantineOrder
from phongdich.checkins import paper
from phongdich.checkins import service as checkins
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.config import get_settings
from phongdich.persons.models import Household, IdentityDocument, Person
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
    data = VenueInput(name=name, category="market", unit_code=unit, **more)
    return register_venue(session=session, actor=actor, data=data)


def visit(
    session: Session,
    actor: Actor,
    venue: Venue,
    person: Person,
    arrived: datetime,
    left: datetime | None = None,
    now: datetime = NOW,
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
                id=uuid.uuid4(),
                venue_code=venue.code,
                person_id=person.id,
                at=left,
                direction="out",
            )
        )
    report = checkins.ingest(session=session, actor=actor, events=items, now=now)
    assert set(report.statuses) == {"accepted"}, report.statuses


def open_case(
    session: Session, actor: Actor, person: Person, reference: datetime = T0, **more: object
) -> Case:
    case, created = service.open_case(
        session=session,
        actor=actor,
        person_id=person.id,
        reference_time=reference,
        now=NOW,
        **more,  # type: ignore[arg-type]
    )
    assert created
    return case


def trace(session: Session, actor: Actor, case: Case) -> tracing.TraceResult:
    return tracing.trace(session=session, actor=actor, case=case, now=NOW)


# Paper logbooks: the venues' check-ins typed up as CSV and imported as an officer would.


@dataclass(frozen=True)
class Stay:
    """One row of a venue's paper log: who came when, and left when (None: not written)."""

    venue: Venue
    document_number: str
    full_name: str
    arrived: datetime
    left: datetime | None = None


def _local(moment: datetime) -> str:
    return moment.astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M")


def paper_log(stays: Sequence[Stay]) -> str:
    """The CSV as typed from the logbooks: local times, minutes only, empty check-out allowed."""
    lines = [",".join(paper.COLUMNS)]
    for stay in stays:
        left = _local(stay.left) if stay.left is not None else ""
        lines.append(
            f"{stay.venue.code},{stay.document_number},{stay.full_name},,"
            f"{_local(stay.arrived)},{left}"
        )
    return "\n".join(lines) + "\n"


def import_stays(
    session: Session, actor: Actor, stays: Sequence[Stay], now: datetime = NOW
) -> paper.PaperReport:
    """Import the stays through the paper-log upload; every row must be accepted."""
    report = paper.import_paper_log(session=session, actor=actor, source=paper_log(stays), now=now)
    assert not report.errors, report.errors[:3]
    return report


def stay(venue: Venue, person: Person, arrived: datetime, left: datetime | None = None) -> Stay:
    return Stay(venue, person.documents[0].number, person.full_name, arrived, left)


def documents_by_person(session: Session) -> dict[uuid.UUID, str]:
    """Each person's first document number: how tests name people across runs."""
    found: dict[uuid.UUID, str] = {}
    for person_id, number in session.execute(
        select(IdentityDocument.person_id, IdentityDocument.number).order_by(
            IdentityDocument.number
        )
    ):
        found.setdefault(person_id, number)
    return found


def contacts(session: Session, case: Case) -> dict[uuid.UUID, Contact]:
    return {
        c.person_id: c for c in session.scalars(select(Contact).where(Contact.case_id == case.id))
    }


def exposures_of(session: Session, contact: Contact) -> list[Exposure]:
    return list(
        session.scalars(
            select(Exposure)
            .where(Exposure.contact_id == contact.id)
            .order_by(Exposure.start, Exposure.key)
        )
    )


def order_of(session: Session, person: Person) -> QuarantineOrder:
    """The person's one quarantine or monitoring order."""
    return session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.person_id == person.id)
    ).one()


def hm(hours: int, minutes: int = 0) -> datetime:
    """T0 moved by whole hours and minutes (paper logs keep minutes only)."""
    return T0 + timedelta(hours=hours, minutes=minutes)


# (where: venue code, plate or household code; via; start; end; overlap minutes)
Shown = tuple[str, str, datetime, datetime, int | None]


def contact_table(session: Session, case: Case) -> dict[str, tuple[int, list[Shown]]]:
    """The case's contacts by full name: their degree and their exposures in time order."""
    venues = dict(session.execute(select(Venue.id, Venue.code)).all())
    households = dict(session.execute(select(Household.id, Household.code)).all())
    table: dict[str, tuple[int, list[Shown]]] = {}
    for contact in contacts(session, case).values():
        person = session.get_one(Person, contact.person_id)
        shown: list[Shown] = []
        for e in exposures_of(session, contact):
            where = e.vehicle_plate
            if e.venue_id is not None:
                where = venues[e.venue_id]
            elif e.household_id is not None:
                where = households[e.household_id]
            shown.append((where, e.via, e.start, e.end, e.overlap_minutes))
        table[person.full_name] = (contact.degree, shown)
    return table
