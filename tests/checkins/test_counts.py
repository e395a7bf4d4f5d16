"""Check-in counts per venue and per admin unit, per local day: numbers, never names."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.checkins import service
from phongdich.checkins.counts import unit_counts, venue_counts
from phongdich.checkins.schemas import CheckinEventIn, DayCount, UnitDayCount
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    make_person,
    make_user,
)

NOW = datetime(2021, 9, 3, 8, 0, tzinfo=UTC)
SYSTEM = system_actor("tests")
AUG_31, SEP_1, SEP_2 = date(2021, 8, 31), date(2021, 9, 1), date(2021, 9, 2)


def make_venue(session: Session, actor: Actor, unit: str, name: str = "Chợ") -> Venue:
    data = VenueInput(name=name, category="market", unit_code=unit)
    return register_venue(session=session, actor=actor, data=data)


def record(
    session: Session, venue: Venue, person: Person, at: datetime, direction: str = "in"
) -> None:
    item = CheckinEventIn(
        id=uuid.uuid4(),
        venue_code=venue.code,
        person_id=person.id,
        at=at,
        direction=direction,
    )
    report = service.ingest(session=session, actor=SYSTEM, events=[item], now=NOW)
    assert report.statuses == ["accepted"]


def test_per_venue_per_local_day(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = make_venue(session, manager, PHUC_XA)
    person = make_person(session)
    record(session, venue, person, datetime(2021, 9, 1, 2, 0, tzinfo=UTC))
    record(session, venue, person, datetime(2021, 9, 1, 3, 0, tzinfo=UTC), "out")
    record(session, venue, person, datetime(2021, 9, 1, 16, 59, tzinfo=UTC))  # 23:59 local
    record(session, venue, person, datetime(2021, 9, 1, 17, 0, tzinfo=UTC))  # 00:00 on the 2nd
    counts = venue_counts(session=session, actor=manager, code=venue.code, first=AUG_31, last=SEP_2)
    assert counts.venue_code == venue.code
    assert counts.days == [
        DayCount(day=AUG_31, checkins=0, checkouts=0),
        DayCount(day=SEP_1, checkins=2, checkouts=1),
        DayCount(day=SEP_2, checkins=1, checkouts=0),
    ]
    # Its officials see the same numbers; another manager sees no venue.
    _, official = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    same = venue_counts(session=session, actor=official, code=venue.code, first=AUG_31, last=SEP_2)
    assert same == counts
    _, other = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    with pytest.raises(NotFound):
        venue_counts(session=session, actor=other, code=venue.code, first=SEP_1, last=SEP_1)


def test_per_unit_with_every_unit_below(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    pending = make_venue(session, manager, PHUC_XA, "Quán chờ duyệt")
    phuc_xa = make_venue(session, SYSTEM, PHUC_XA)
    truc_bach = make_venue(session, SYSTEM, TRUC_BACH)
    hang_bac = make_venue(session, SYSTEM, HANG_BAC)
    make_venue(session, SYSTEM, TAN_DINH)
    a, b = make_person(session), make_person(session)
    sep_1 = datetime(2021, 9, 1, 3, 0, tzinfo=UTC)
    record(session, phuc_xa, a, sep_1)
    record(session, phuc_xa, b, sep_1)
    record(session, phuc_xa, a, sep_1 + timedelta(hours=1), "out")
    record(session, truc_bach, a, sep_1 + timedelta(hours=2))
    record(session, pending, b, sep_1 + timedelta(days=1))
    record(session, hang_bac, b, sep_1)

    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    ba_dinh = unit_counts(
        session=session, actor=district, unit_code=BA_DINH, first=SEP_1, last=SEP_2
    )
    assert (ba_dinh.unit_code, ba_dinh.venues_registered, ba_dinh.venues_approved) == (
        BA_DINH,
        3,
        2,
    )
    assert ba_dinh.venues_pending == 1
    assert ba_dinh.days == [
        UnitDayCount(day=SEP_1, scans=4, checkins=3, checkouts=1, venues_active=2),
        UnitDayCount(day=SEP_2, scans=1, checkins=1, checkouts=0, venues_active=1),
    ]
    commune = unit_counts(
        session=session, actor=district, unit_code=TRUC_BACH, first=SEP_1, last=SEP_1
    )
    assert (commune.venues_registered, commune.days[0].scans) == (1, 1)
    city = unit_counts(session=session, actor=SYSTEM, unit_code=HA_NOI, first=SEP_1, last=SEP_1)
    assert (city.venues_registered, city.days[0].scans, city.days[0].venues_active) == (4, 5, 3)
    # Outside the jurisdiction looks like no unit at all.
    with pytest.raises(NotFound):
        unit_counts(session=session, actor=district, unit_code=HANG_BAC, first=SEP_1, last=SEP_1)
    with pytest.raises(NotFound):
        unit_counts(session=session, actor=district, unit_code="99999", first=SEP_1, last=SEP_1)
    with pytest.raises(Forbidden):
        unit_counts(session=session, actor=manager, unit_code=PHUC_XA, first=SEP_1, last=SEP_1)


def test_the_day_range_is_checked(session: Session) -> None:
    venue = make_venue(session, SYSTEM, PHUC_XA)
    for first, last, field in (
        (SEP_2, SEP_1, "to"),
        (date(2020, 1, 1), date(2021, 1, 1), "from"),
    ):
        with pytest.raises(Invalid) as bad:
            venue_counts(session=session, actor=SYSTEM, code=venue.code, first=first, last=last)
        assert bad.value.field == field
        with pytest.raises(Invalid):
            unit_counts(session=session, actor=SYSTEM, unit_code=PHUC_XA, first=first, last=last)
    year = venue_counts(
        session=session,
        actor=SYSTEM,
        code=venue.code,
        first=date(2020, 1, 1),
        last=date(2020, 12, 31),
    )
    assert len(year.days) == 366
