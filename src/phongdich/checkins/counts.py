"""Check-in counts per venue and per admin unit, per local day, from the daily counts table.

The counts outlive the events (they hold nobody's identity), so a unit's history of scans per
day stays after retention has purged who made them.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, units_within
from phongdich.auth.roles import Permission
from phongdich.checkins.models import CheckinDailyCount
from phongdich.checkins.schemas import DayCount, UnitCounts, UnitDayCount, VenueCounts
from phongdich.errors import Invalid, NotFound
from phongdich.venues.models import Venue
from phongdich.venues.service import APPROVED, PENDING, get_venue

MAX_DAYS = 366


def _range(first: date, last: date) -> list[date]:
    if last < first:
        raise Invalid("to", "on or after from")
    if (last - first).days >= MAX_DAYS:
        raise Invalid("from", f"at most {MAX_DAYS} days")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def venue_counts(
    *, session: Session, actor: Actor, code: str, first: date, last: date
) -> VenueCounts:
    """For the venue's manager and its officials: numbers only, nobody's identity."""
    venue = get_venue(session=session, actor=actor, code=code)
    days = _range(first, last)
    found = {
        day: (ins, outs)
        for day, ins, outs in session.execute(
            select(CheckinDailyCount.day, CheckinDailyCount.checkins, CheckinDailyCount.checkouts)
            .where(CheckinDailyCount.venue_id == venue.id)
            .where(CheckinDailyCount.day.between(first, last))
        )
    }
    return VenueCounts(
        venue_code=venue.code,
        days=[
            DayCount(day=d, checkins=found.get(d, (0, 0))[0], checkouts=found.get(d, (0, 0))[1])
            for d in days
        ],
    )


def _subtree(unit: AdminUnit) -> object:
    return (
        select(AdminUnit.code)
        .where(or_(AdminUnit.path == unit.path, AdminUnit.path.startswith(unit.path + "/")))
        .scalar_subquery()
    )


def unit_counts(
    *, session: Session, actor: Actor, unit_code: str, first: date, last: date
) -> UnitCounts:
    """Venues registered and active, and scans per day, in the unit and every unit below it."""
    actor.require(Permission.VENUES_MANAGE)
    unit = session.get(AdminUnit, unit_code.strip())
    within = units_within(actor)
    if unit is None or (
        within is not None
        and session.scalar(select(AdminUnit.code).where(AdminUnit.code == unit.code, within))
        is None
    ):
        raise NotFound("admin unit", unit_code.strip())
    days = _range(first, last)
    subtree = _subtree(unit)
    by_status = dict(
        session.execute(
            select(Venue.status, func.count())
            .where(Venue.unit_code.in_(subtree))  # type: ignore[arg-type]
            .group_by(Venue.status)
        ).all()
    )
    per_day = {
        day: (int(ins or 0), int(outs or 0), int(active or 0))
        for day, ins, outs, active in session.execute(
            select(
                CheckinDailyCount.day,
                func.sum(CheckinDailyCount.checkins),
                func.sum(CheckinDailyCount.checkouts),
                func.count(func.distinct(CheckinDailyCount.venue_id)),
            )
            .where(CheckinDailyCount.unit_code.in_(subtree))  # type: ignore[arg-type]
            .where(CheckinDailyCount.day.between(first, last))
            .group_by(CheckinDailyCount.day)
        )
    }
    return UnitCounts(
        unit_code=unit.code,
        venues_registered=sum(by_status.values()),
        venues_approved=by_status.get(APPROVED, 0),
        venues_pending=by_status.get(PENDING, 0),
        days=[
            UnitDayCount(
                day=d,
                scans=per_day.get(d, (0, 0, 0))[0] + per_day.get(d, (0, 0, 0))[1],
                checkins=per_day.get(d, (0, 0, 0))[0],
                checkouts=per_day.get(d, (0, 0, 0))[1],
                venues_active=per_day.get(d, (0, 0, 0))[2],
            )
            for d in days
        ],
    )
