"""Zone levels: the thresholds, a week of cases in two communes rolled up to the district and
the province, overrides kept beside the computed level, and the history."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import service, zones
from phongdich.cases.models import ZoneLevel
from phongdich.config import get_settings
from phongdich.errors import Invalid, NotFound
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    HOAN_KIEM,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    make_person,
    make_user,
)

SYSTEM = system_actor("tests")


@pytest.mark.parametrize(
    ("rate", "coverage", "level"),
    [
        (None, None, 1),
        (0.0, None, 1),
        (19.99, None, 1),
        (20.0, None, 2),
        (49.99, None, 2),
        (50.0, None, 3),
        (149.99, None, 3),
        (150.0, None, 4),
        (10_000.0, None, 4),
        (150.0, 0.6999, 4),
        (150.0, 0.70, 3),
        (50.0, 0.70, 2),
        (20.0, 0.95, 1),
        (19.99, 1.0, 1),  # never below green
    ],
)
def test_level_for_the_thresholds_and_the_vaccination_relief(
    rate: float | None, coverage: float | None, level: int
) -> None:
    assert zones.level_for(rate, coverage) == level


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), get_settings().tz)


def opened(session: Session, unit: str, day: date, count: int, source: str = "community") -> None:
    """`count` cases of people living in `unit`, opened at noon of `day`."""
    for _ in range(count):
        person = make_person(session, permanent_unit_code=unit)
        service.open_case(
            session=session,
            actor=SYSTEM,
            person_id=person.id,
            reference_time=noon(day) - timedelta(hours=6),
            source=source,
            now=noon(day),
        )


def level_rows(session: Session, day: date) -> dict[str, ZoneLevel]:
    return {
        u.unit.code: u.row
        for u in zones.levels(session=session, actor=SYSTEM, day=day)
        if u.row is not None
    }


def test_a_week_of_cases_gives_each_unit_its_daily_level(session: Session) -> None:
    today = zones.today()
    week = [today - timedelta(days=n) for n in range(6, -1, -1)]  # today last
    # Phúc Xá (18,000 people): 1 case a week ago, 2 six days ago, 2 three days ago, 5 today,
    # and an imported case today that does not count. Trúc Bạch (9,000): 5 cases five days ago.
    # Hàng Bạc (no population known): 3 cases yesterday.
    opened(session, PHUC_XA, today - timedelta(days=7), 1)
    opened(session, PHUC_XA, today - timedelta(days=6), 2)
    opened(session, PHUC_XA, today - timedelta(days=3), 2)
    opened(session, PHUC_XA, today, 5)
    opened(session, PHUC_XA, today, 1, source="imported")
    opened(session, TRUC_BACH, today - timedelta(days=5), 5)
    opened(session, HANG_BAC, today - timedelta(days=1), 3)

    # Today first: computing the past afterwards must not touch the units' current level.
    for day in [week[-1], *week[:-1]]:
        zones.compute(session=session, actor=SYSTEM, day=day)
    rows = {day: level_rows(session, day) for day in week}

    def series(code: str, what: str = "level") -> list[object]:
        return [getattr(rows[day][code], what) for day in week]

    assert series(PHUC_XA, "new_cases_7d") == [3, 3, 3, 5, 5, 5, 9]
    # 5 cases in 18,000 people: 27.8 per 100,000; 9 cases: exactly 50.
    assert series(PHUC_XA) == [1, 1, 1, 2, 2, 2, 3]
    assert series(PHUC_XA, "rate_per_100k")[-1] == pytest.approx(50.0)
    assert series(TRUC_BACH, "new_cases_7d") == [0, 5, 5, 5, 5, 5, 5]
    assert series(TRUC_BACH) == [1, 3, 3, 3, 3, 3, 3]
    assert series(HANG_BAC, "new_cases_7d") == [0, 0, 0, 0, 0, 3, 3]
    assert series(HANG_BAC, "rate_per_100k") == [None] * 7
    assert series(HANG_BAC) == [1] * 7
    # Rolled up: the district and the province count their communes' cases.
    assert series(BA_DINH, "new_cases_7d") == [3, 8, 8, 10, 10, 10, 14]
    assert series(HOAN_KIEM, "new_cases_7d") == [0, 0, 0, 0, 0, 3, 3]
    assert series(HA_NOI, "new_cases_7d") == [3, 8, 8, 10, 10, 13, 17]
    assert series(BA_DINH, "rate_per_100k")[-1] == pytest.approx(14 * 100_000 / 221_893)
    assert series(BA_DINH) == [1] * 7
    assert series(TAN_DINH, "new_cases_7d") == [0] * 7

    units = {u.code: u.zone_level for u in session.scalars(select(AdminUnit))}
    assert (units[PHUC_XA], units[TRUC_BACH], units[BA_DINH], units[HANG_BAC]) == (3, 3, 1, 1)

    # Recomputing a day replaces its computed row instead of adding one.
    before = session.scalars(select(ZoneLevel).where(ZoneLevel.unit_code == PHUC_XA)).all()
    assert zones.compute(session=session, actor=SYSTEM, day=today) == 0
    after = session.scalars(select(ZoneLevel).where(ZoneLevel.unit_code == PHUC_XA)).all()
    assert len(after) == len(before) == 7


def test_an_override_is_kept_beside_the_computed_level(session: Session) -> None:
    today = zones.today()
    yesterday = today - timedelta(days=1)
    _, officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    opened(session, TRUC_BACH, yesterday, 5)
    zones.compute(session=session, actor=SYSTEM, day=today)
    zones.compute(session=session, actor=SYSTEM, day=yesterday)
    assert level_rows(session, today)[TRUC_BACH].level == 3

    zones.override(
        session=session,
        actor=officer,
        unit_code=TRUC_BACH,
        day=today,
        level=4,
        reason="ổ dịch trong khu tập thể chưa rõ nguồn",
    )
    zones.override(
        session=session,
        actor=officer,
        unit_code=TRUC_BACH,
        day=yesterday,
        level=2,
        reason="số ca hôm qua nhập trùng",
    )
    zones.override(
        session=session, actor=officer, unit_code=TRUC_BACH, day=today, level=2, reason="đã khoanh"
    )
    latest = level_rows(session, today)[TRUC_BACH]
    assert (latest.level, latest.computed_level, latest.override_reason) == (2, 3, "đã khoanh")
    assert latest.set_by == officer.username
    assert session.get_one(AdminUnit, TRUC_BACH).zone_level == 2

    # The daily computation runs again: the override stays on top.
    zones.compute(session=session, actor=SYSTEM, day=today)
    assert level_rows(session, today)[TRUC_BACH].level == 2
    assert session.get_one(AdminUnit, TRUC_BACH).zone_level == 2

    history = zones.history(session=session, actor=officer, unit_code=TRUC_BACH)
    assert [(r.day, r.level, r.computed_level, r.override_reason) for r in history] == [
        (today, 2, 3, "đã khoanh"),
        (today, 4, 3, "ổ dịch trong khu tập thể chưa rõ nguồn"),
        (today, 3, 3, ""),
        (yesterday, 2, 3, "số ca hôm qua nhập trùng"),
        (yesterday, 3, 3, ""),
    ]
    assert [
        r.day for r in zones.history(session=session, actor=officer, unit_code=TRUC_BACH, days=0)
    ] == [today] * 3
    # An override of an earlier day leaves the unit's current level alone.
    assert session.get_one(AdminUnit, PHUC_XA).zone_level == 1
    zones.override(
        session=session, actor=officer, unit_code=PHUC_XA, day=yesterday, level=4, reason="x y"
    )
    assert session.get_one(AdminUnit, PHUC_XA).zone_level == 1


def test_overrides_and_computation_are_checked(session: Session) -> None:
    today = zones.today()
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)

    def override(
        unit: str = PHUC_XA, day: date = today, level: int = 2, reason: str = "lý do"
    ) -> ZoneLevel:
        return zones.override(
            session=session, actor=commune, unit_code=unit, day=day, level=level, reason=reason
        )

    for kwargs, field in [
        ({"level": 0}, "level"),
        ({"level": 5}, "level"),
        ({"reason": "  "}, "reason"),
        ({"day": today + timedelta(days=1)}, "day"),
    ]:
        with pytest.raises(Invalid) as bad:
            override(**kwargs)  # type: ignore[arg-type]
        assert bad.value.field == field
    with pytest.raises(NotFound):
        override(unit=TRUC_BACH)
    with pytest.raises(NotFound):
        zones.history(session=session, actor=commune, unit_code=BA_DINH)
    with pytest.raises(Invalid):  # a commune cannot compute every unit's level
        zones.compute(session=session, actor=commune, day=today)
    # Without a computed row the override still records what was decided, and claims no count.
    row = override(level=3)
    assert (row.level, row.computed_level, row.new_cases_7d) == (3, None, None)
    assert [u.unit.code for u in zones.levels(session=session, actor=commune, day=today)] == [
        PHUC_XA
    ]
