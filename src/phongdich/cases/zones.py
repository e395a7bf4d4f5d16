"""Zone levels (cấp độ dịch): each unit's daily level 1–4 from new community cases.

Level from new community cases per 100,000 residents over the last 7 days (defaults: < 20 → 1
green, 20–50 → 2 yellow, 50–150 → 3 orange, ≥ 150 → 4 red), one level lower where at least 70 %
of residents are fully vaccinated (when known). Officials override with a reason; every
computation and override is a row, the latest row of the day counts, and today's level is
copied to the unit, where pass colours and checkpoint rules read it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, distinct, func, insert, or_, select, update
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, units_within
from phongdich.auth.roles import Permission
from phongdich.cases.models import Case, ZoneLevel
from phongdich.config import get_settings
from phongdich.credentials.status import HealthFact
from phongdich.db import utcnow
from phongdich.errors import Invalid, NotFound
from phongdich.persons.models import Person

LEVELS = (1, 2, 3, 4)
COLOURS = {1: "green", 2: "yellow", 3: "orange", 4: "red"}
THRESHOLDS = (20.0, 50.0, 150.0)  # per 100,000 in 7 days: the lower bounds of levels 2, 3, 4
COVERAGE_RELIEF = 0.7
DAYS = 7


def level_for(rate: float | None, coverage: float | None) -> int:
    if rate is None:
        return 1
    level = 1 + sum(1 for bound in THRESHOLDS if rate >= bound)
    if coverage is not None and coverage >= COVERAGE_RELIEF:
        level = max(1, level - 1)
    return level


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = get_settings().tz
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return end - timedelta(days=DAYS), end


def _rolled_up(paths: Mapping[str, str], counts: Mapping[Any, int]) -> Counter[str]:
    """Counts per unit, added to every unit above it."""
    total: Counter[str] = Counter()
    for code, count in counts.items():
        if code is None or code not in paths:
            continue
        for ancestor in paths[code].split("/"):
            total[ancestor] += count
    return total


def _figures(session: Session, day: date) -> tuple[Counter[str], Counter[str]]:
    """New community cases over the 7 days ending with `day`, and the fully vaccinated, per
    unit with every unit above it included."""
    start, end = _day_bounds(day)
    home = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)
    cases = session.execute(
        select(Case.unit_code, func.count())
        .where(Case.source == "community", Case.opened_at >= start, Case.opened_at < end)
        .group_by(Case.unit_code)
    ).all()
    vaccinated = session.execute(
        select(home, func.count(distinct(HealthFact.person_id)))
        .join(Person, Person.id == HealthFact.person_id)
        .where(
            HealthFact.kind == "vaccination_dose",
            HealthFact.occurred_at < end,
            HealthFact.value["full_course"].as_boolean().is_(True),
        )
        .group_by(home)
    ).all()
    paths = dict(session.execute(select(AdminUnit.code, AdminUnit.path)).all())
    return _rolled_up(paths, dict(cases)), _rolled_up(paths, dict(vaccinated))


def compute(*, session: Session, actor: Actor, day: date, unit_code: str | None = None) -> int:
    """The day's levels for every unit, or for one unit's subtree (system or national admin:
    it touches every unit). Recomputing replaces the day's computed row where a figure changed;
    an override made that day stays on top. Returns how many rows were added.

    Written in bulk: the whole tree is some 11,000 units, computed every hour by the worker."""
    actor.require(Permission.CASES_MANAGE)
    if not actor.nationwide:
        raise Invalid("actor", "zone levels are computed for every unit by the system")
    case_totals, vaccinated_totals = _figures(session, day)
    units = select(AdminUnit.code, AdminUnit.population, AdminUnit.zone_level)
    if unit_code is not None:
        top = session.get(AdminUnit, unit_code)
        if top is None:
            raise NotFound("admin unit", unit_code)
        units = units.where(
            or_(AdminUnit.path == top.path, AdminUnit.path.startswith(top.path + "/"))
        )
    # The latest row of the day per unit: (id, override?, level, figures)
    latest: dict[str, tuple[Any, ...]] = {}
    for row in session.execute(
        select(
            ZoneLevel.unit_code,
            ZoneLevel.id,
            ZoneLevel.override_reason,
            ZoneLevel.level,
            ZoneLevel.new_cases_7d,
            ZoneLevel.population,
            ZoneLevel.coverage,
        )
        .where(ZoneLevel.day == day)
        .order_by(ZoneLevel.created_at)
    ):
        latest[row[0]] = tuple(row[1:])  # later rows win
    now, is_today = utcnow(), day == today()
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    unit_levels: list[dict[str, Any]] = []
    for code, population, current_level in session.execute(units):
        count = case_totals.get(code, 0)
        population = population or None
        rate = count * 100_000 / population if population else None
        coverage = (
            min(1.0, vaccinated_totals[code] / population)
            if population and vaccinated_totals.get(code)
            else None
        )
        computed = level_for(rate, coverage)
        known = latest.get(code)
        figures = {
            "level": computed,
            "computed_level": computed,
            "new_cases_7d": count,
            "population": population,
            "rate_per_100k": rate,
            "coverage": coverage,
        }
        if known is None:
            added.append(
                {
                    "id": uuid.uuid4(),
                    "unit_code": code,
                    "day": day,
                    "override_reason": "",
                    "set_by": actor.username[:64],
                    "created_at": now,
                    **figures,
                }
            )
            level = computed
        elif known[1]:  # overridden that day: the official's level stands
            level = known[2]
        else:
            if (known[2], known[3], known[4], known[5]) != (computed, count, population, coverage):
                changed.append({"row_id": known[0], **{f"new_{k}": v for k, v in figures.items()}})
            level = computed
        if is_today and level != current_level:
            unit_levels.append({"unit": code, "new_level": level})
    if added:
        session.execute(insert(ZoneLevel), added)
    if changed:
        session.execute(
            update(ZoneLevel.__table__)  # type: ignore[arg-type]
            .where(ZoneLevel.__table__.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in figures}),
            changed,
        )
    if unit_levels:
        session.execute(
            update(AdminUnit.__table__)  # type: ignore[arg-type]
            .where(AdminUnit.__table__.c.code == bindparam("unit"))
            .values(zone_level=bindparam("new_level")),
            unit_levels,
        )
    for held in list(session.identity_map.values()):  # the bulk writes bypassed these
        if isinstance(held, AdminUnit | ZoneLevel):
            session.expire(held)
    return len(added)


def today() -> date:
    return utcnow().astimezone(get_settings().tz).date()


def _latest_rows(session: Session, day: date, codes: Sequence[str] | None) -> dict[str, ZoneLevel]:
    query = select(ZoneLevel).where(ZoneLevel.day == day).order_by(ZoneLevel.created_at)
    if codes is not None:
        query = query.where(ZoneLevel.unit_code.in_(list(codes)))
    latest: dict[str, ZoneLevel] = {}
    for row in session.scalars(query):
        latest[row.unit_code] = row  # later rows win
    return latest


def override(
    *, session: Session, actor: Actor, unit_code: str, day: date, level: int, reason: str
) -> ZoneLevel:
    """An official sets a unit's level for the day; kept beside the computed one."""
    actor.require(Permission.CASES_MANAGE)
    if level not in LEVELS:
        raise Invalid("level", "1, 2, 3 or 4")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("reason", "required: why the level differs from the computed one")
    unit = session.get(AdminUnit, unit_code)
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", unit_code)
    if day > today():
        raise Invalid("day", "today or earlier")
    computed = _latest_rows(session, day, [unit.code]).get(unit.code)
    if computed is not None and (computed.level, computed.override_reason) == (level, reason[:300]):
        return computed  # the same decision sent twice (a retried form): recorded once
    row = ZoneLevel(
        unit_code=unit.code,
        day=day,
        level=level,
        computed_level=computed.computed_level if computed else None,
        new_cases_7d=computed.new_cases_7d if computed else None,
        population=computed.population if computed else unit.population,
        rate_per_100k=computed.rate_per_100k if computed else None,
        coverage=computed.coverage if computed else None,
        override_reason=reason[:300],
        set_by=actor.username[:64],
        created_at=max(utcnow(), computed.created_at + timedelta(microseconds=1))
        if computed
        else utcnow(),
    )
    session.add(row)
    if day == today():
        unit.zone_level = level
    session.flush()
    audit.record(
        session,
        actor,
        "override",
        "zone_level",
        unit.code,
        unit_code=unit.code,
        detail=f"{day.isoformat()}: level {level}",
    )
    return row


@dataclass(frozen=True)
class UnitLevel:
    unit: AdminUnit
    row: ZoneLevel | None


def levels(*, session: Session, actor: Actor, day: date) -> list[UnitLevel]:
    """The actor's units with their level for the day (None: not computed)."""
    actor.require(Permission.CASES_READ)
    query = select(AdminUnit).order_by(AdminUnit.path)
    within = units_within(actor)
    if within is not None:
        query = query.where(within)
    units = list(session.scalars(query))
    latest = _latest_rows(session, day, [u.code for u in units])
    return [UnitLevel(u, latest.get(u.code)) for u in units]


def history(*, session: Session, actor: Actor, unit_code: str, days: int = 30) -> list[ZoneLevel]:
    """Every row (computed and overrides) of the unit's last days, newest first."""
    actor.require(Permission.CASES_READ)
    unit = session.get(AdminUnit, unit_code)
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", unit_code)
    since = today() - timedelta(days=days)
    return list(
        session.scalars(
            select(ZoneLevel)
            .where(ZoneLevel.unit_code == unit.code, ZoneLevel.day >= since)
            .order_by(ZoneLevel.day.desc(), ZoneLevel.created_at.desc())
        )
    )
