"""The checkpoint's daily report: one local day (Asia/Ho_Chi_Minh) of a checkpoint's passages,
aggregated into figures the commune, district and province read each evening.

A report is a row per checkpoint and local day whose figures are JSON counts. It is recomputed
from the passages whenever a station sends some for that day (see `handlers.py`) and by the
worker for yesterday and today (`jobs.py`): recomputing is an upsert, so doing it twice, or two
workers racing, leaves one row with the same figures. A unit's report is the sum of its
checkpoints' reports: a person who crossed two of them counts at both.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, covers
from phongdich.auth.roles import Permission
from phongdich.checkpoints.models import Checkpoint, DailyReport, Passage
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.errors import Invalid, NotFound
from phongdich.text import parse_code
from phongdich.web import i18n
from phongdich.web.reasons import N_

VERSION = 1
VERDICT_KEYS = ("pass", "conditional", "turn_back")
ZONE_KEYS = ("1", "2", "3", "4", "unknown")
HIGH_ZONE = 3
# What the station records as the verdict's reason when the traveller showed protection: a full
# course of vaccination, recovery, or a recent negative test (see entry_rules.DEFAULT_RULES).
PROTECTED_REASONS = frozenset(
    {
        "Fully vaccinated at least 14 days ago",
        "Recovered within the last 180 days",
        "Negative PCR test within the last 72 hours",
        "Negative rapid test within the last 24 hours",
    }
)
# Past these, the plain-language line calls the day's risk elevated.
ELEVATED_HIGH_ZONE_SHARE = 0.2
ELEVATED_UNPROTECTED_SHARE = 0.2
MAX_PAST_DAYS = 3660


# Local days


def local_day(at: datetime) -> date:
    return at.astimezone(get_settings().tz).date()


def today() -> date:
    return local_day(utcnow())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as a UTC interval [start, end)."""
    tz = get_settings().tz
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_days_of_utc_dates(dates: Iterable[date]) -> list[date]:
    """The local days a UTC date overlaps (two in Việt Nam: UTC+7 ends in the next day)."""
    found: set[date] = set()
    for utc_date in dates:
        start = datetime.combine(utc_date, time(0), tzinfo=UTC)
        found.add(local_day(start))
        found.add(local_day(start + timedelta(days=1) - timedelta(microseconds=1)))
    return sorted(found)


def parse_day(text: str | None, field: str = "day") -> date:
    """A report day from a query or the console: YYYY-MM-DD, not in the future (local)."""
    if text is None or not text.strip():
        return today()
    day: date | None = None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            day = None
    if day is None:
        raise Invalid(field, N_("a date as YYYY-MM-DD"))
    if day > today() or day < today() - timedelta(days=MAX_PAST_DAYS):
        raise Invalid(field, N_("a day from the last ten years until today"))
    return day


# One checkpoint's day


def _zero() -> dict[str, Any]:
    return {
        "version": VERSION,
        "passages": {"in": 0, "out": 0},
        "people": {"in": 0, "out": 0},
        "vehicles": {"in": 0, "out": 0},
        "verdicts": dict.fromkeys(VERDICT_KEYS, 0),
        "turned_back": {"passages": 0, "people": 0},
        "flagged": {"passages": 0, "groups": 0},
        "rapid_tests": {"taken": 0, "positive": 0, "negative": 0},
        "lanes": {},
        "transfers": {"people": 0, "transfers": 0},
        "unresolved": 0,
        "zone_levels": dict.fromkeys(ZONE_KEYS, 0),
        "origins": [],
        "risk": {
            "admitted": 0,
            "from_high_zones": 0,
            "unprotected": 0,
            "positives": 0,
            "flagged_groups": 0,
        },
    }


@dataclass(frozen=True)
class _Origin:
    province: str
    district: str | None
    zone_level: int | None


def _origins(session: Session, codes: set[str]) -> dict[str, _Origin]:
    """Origin unit -> its province, its district (None where the tree has none, as since 2025)
    and its zone level, or its nearest ancestor's."""
    if not codes:
        return {}
    units = {
        row.code: row
        for row in session.execute(
            select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes))
        )
    }
    lineage = {code for row in units.values() for code in row.path.split("/")}
    known = {
        row.code: (row.level, row.zone_level)
        for row in session.execute(
            select(AdminUnit.code, AdminUnit.level, AdminUnit.zone_level).where(
                AdminUnit.code.in_(lineage)
            )
        )
    }
    found: dict[str, _Origin] = {}
    for code, row in units.items():
        path = row.path.split("/")
        district = next((c for c in path[1:] if known.get(c, (0, None))[0] == 2), None)
        level = next(
            (known[c][1] for c in reversed(path) if c in known and known[c][1] is not None), None
        )
        found[code] = _Origin(path[0], district, level)
    return found


def compute(session: Session, checkpoint: Checkpoint, day: date) -> dict[str, Any]:
    """The figures of one checkpoint's local day, from its passages."""
    start, end = day_bounds(day)
    rows = session.execute(
        select(
            Passage.id,
            Passage.person_id,
            Passage.direction,
            Passage.group_id,
            Passage.vehicle_plate,
            Passage.origin_unit_code,
            Passage.origin_zone_level,
            Passage.verdict,
            Passage.flagged,
            Passage.rapid_test,
            Passage.transfer_id,
            Passage.lane,
            Passage.reasons,
        ).where(Passage.checkpoint_id == checkpoint.id, Passage.at >= start, Passage.at < end)
    ).all()
    figures = _zero()
    origins = _origins(session, {r.origin_unit_code for r in rows if r.origin_unit_code})
    people: dict[str, set[object]] = {"in": set(), "out": set()}
    vehicles: dict[str, set[uuid.UUID]] = {"in": set(), "out": set()}
    turned_back: set[object] = set()
    flagged_groups: set[object] = set()
    transfers: set[uuid.UUID] = set()
    transfer_people: set[object] = set()
    admitted: set[object] = set()
    high: set[object] = set()
    unprotected: set[object] = set()
    by_zone: dict[str, set[object]] = {key: set() for key in ZONE_KEYS}
    by_origin: dict[tuple[str, str | None], dict[str, Any]] = {}
    for row in rows:
        # Someone known only by a foreign certificate counts once per passage.
        person: object = row.person_id if row.person_id is not None else row.id
        direction = row.direction if row.direction in ("in", "out") else "in"
        figures["passages"][direction] += 1
        people[direction].add(person)
        if row.group_id is not None and row.vehicle_plate:
            vehicles[direction].add(row.group_id)
        verdict = row.verdict if row.verdict in VERDICT_KEYS else "pass"
        figures["verdicts"][verdict] += 1
        if verdict == "turn_back":
            figures["turned_back"]["passages"] += 1
            turned_back.add(person)
        if row.flagged:
            figures["flagged"]["passages"] += 1
            flagged_groups.add(row.group_id if row.group_id is not None else row.id)
        if row.rapid_test in ("positive", "negative"):
            figures["rapid_tests"]["taken"] += 1
            figures["rapid_tests"][row.rapid_test] += 1
        figures["lanes"][row.lane] = figures["lanes"].get(row.lane, 0) + 1
        if row.transfer_id is not None:
            transfers.add(row.transfer_id)
            transfer_people.add(person)
        if row.person_id is None:
            figures["unresolved"] += 1
        if direction != "in":
            continue
        origin = origins.get(row.origin_unit_code or "")
        # The level the station saw at the crossing; today's only for passages without one.
        level = (
            row.origin_zone_level
            if row.origin_zone_level is not None
            else (origin.zone_level if origin else None)
        )
        zone = str(level) if level in (1, 2, 3, 4) else "unknown"
        by_zone[zone].add(person)
        if origin is not None:
            entry = by_origin.setdefault(
                (origin.province, origin.district),
                {
                    "province": origin.province,
                    "district": origin.district,
                    "passages": 0,
                    "people": set(),
                    "turned_back": 0,
                    "zone_levels": dict.fromkeys(ZONE_KEYS, 0),
                },
            )
            entry["passages"] += 1
            entry["people"].add(person)
            entry["zone_levels"][zone] += 1
            entry["turned_back"] += verdict == "turn_back"
        if verdict == "turn_back":
            continue
        admitted.add(person)
        if level is not None and level >= HIGH_ZONE:
            high.add(person)
        if row.rapid_test != "negative" and not PROTECTED_REASONS.intersection(row.reasons or ()):
            unprotected.add(person)
    for direction in ("in", "out"):
        figures["people"][direction] = len(people[direction])
        figures["vehicles"][direction] = len(vehicles[direction])
    figures["turned_back"]["people"] = len(turned_back)
    figures["flagged"]["groups"] = len(flagged_groups)
    figures["transfers"] = {"people": len(transfer_people), "transfers": len(transfers)}
    figures["zone_levels"] = {key: len(found) for key, found in by_zone.items()}
    figures["origins"] = sorted(
        ({**entry, "people": len(entry["people"])} for entry in by_origin.values()),
        key=lambda e: (-e["passages"], e["province"], e["district"] or ""),
    )
    figures["risk"] = {
        "admitted": len(admitted),
        "from_high_zones": len(high),
        "unprotected": len(unprotected),
        "positives": figures["rapid_tests"]["positive"],
        "flagged_groups": len(flagged_groups),
    }
    return figures


def store(session: Session, checkpoint: Checkpoint, day: date) -> dict[str, Any]:
    """Compute and keep the checkpoint's day: one row whatever the number of calls.

    An upsert on (checkpoint, day) rather than read-then-insert: two workers recomputing the
    same day at once would otherwise both insert and one would fail on the unique constraint.
    """
    figures = compute(session, checkpoint, day)
    values = {
        "id": uuid.uuid4(),
        "checkpoint_id": checkpoint.id,
        "unit_code": checkpoint.unit_code,
        "day": day,
        "figures": figures,
        "computed_at": utcnow(),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(DailyReport).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["checkpoint_id", "day"],
            set_={
                "figures": statement.excluded.figures,
                "computed_at": statement.excluded.computed_at,
                "unit_code": statement.excluded.unit_code,
            },
        )
    )
    return figures


def recompute(session: Session, checkpoint_id: uuid.UUID, days: Iterable[date]) -> int:
    """Store the checkpoint's reports for these days (future days are skipped); returns how
    many were stored. For the outbox handler and the worker: no actor, nothing personal."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        return 0
    last = today()
    stored = 0
    for day in sorted(set(days)):
        if day <= last:
            store(session, checkpoint, day)
            stored += 1
    return stored


def recompute_all(session: Session, days: Sequence[date]) -> int:
    """Every checkpoint that is active or had passages on these days."""
    stored = 0
    for day in days:
        start, end = day_bounds(day)
        crossed = select(Passage.checkpoint_id).where(Passage.at >= start, Passage.at < end)
        for checkpoint in session.scalars(
            select(Checkpoint).where(Checkpoint.active.is_(True) | Checkpoint.id.in_(crossed))
        ):
            store(session, checkpoint, day)
            stored += 1
    return stored


# Reading: one checkpoint, a unit's roll-up


def add(total: dict[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    """Add one report's figures into a running total (origins merged by province and
    district; counts added; anything else kept from the first)."""
    for key, value in part.items():
        if key == "version":
            total[key] = max(int(total.get(key, 0)), int(value))
        elif key == "origins":
            merged = {(o["province"], o["district"]): dict(o) for o in total.get(key, [])}
            for origin in value:
                slot = (origin["province"], origin["district"])
                if slot in merged:
                    merged[slot] = add(
                        {**merged[slot], "zone_levels": dict(merged[slot]["zone_levels"])},
                        {k: v for k, v in origin.items() if k not in ("province", "district")},
                    )
                else:
                    merged[slot] = {**origin, "zone_levels": dict(origin["zone_levels"])}
            total[key] = sorted(
                merged.values(),
                key=lambda e: (-e["passages"], e["province"], e["district"] or ""),
            )
        elif isinstance(value, Mapping):
            total[key] = add(dict(total.get(key, {})), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            total[key] = int(total.get(key, 0)) + value
        else:
            total.setdefault(key, value)
    return total


def empty() -> dict[str, Any]:
    return _zero()


@dataclass
class CheckpointDay:
    checkpoint: Checkpoint
    figures: dict[str, Any]
    computed_at: datetime | None  # None: computed for this read, not stored yet


@dataclass
class ChildUnit:
    unit: AdminUnit
    checkpoints: int
    figures: dict[str, Any]


@dataclass
class UnitReport:
    """A unit's day: its checkpoints' figures summed, each checkpoint, each child unit."""

    day: date
    unit: AdminUnit | None  # None: the whole country (a nationwide actor's default)
    lineage: list[AdminUnit]
    totals: dict[str, Any]
    checkpoints: list[CheckpointDay]
    children: list[ChildUnit] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # unit code -> name (origins, children)


def _require(actor: Actor) -> None:
    actor.require(Permission.CHECKPOINTS_RECORD)


def _unit(session: Session, actor: Actor, code: str | None) -> AdminUnit | None:
    """The unit asked for (the actor's own by default), inside the actor's jurisdiction."""
    wanted = (code or "").strip() or actor.unit_code
    if not wanted:
        if actor.nationwide:
            return None
        raise NotFound("admin unit", "")
    if len(wanted) > 16:
        raise Invalid("unit", N_("an admin unit code"))
    unit = session.get(AdminUnit, wanted)
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", wanted)
    return unit


def _subtree(unit: AdminUnit | None) -> Any:
    if unit is None:
        return select(AdminUnit.code)
    return select(AdminUnit.code).where(
        (AdminUnit.path == unit.path) | AdminUnit.path.startswith(unit.path + "/")
    )


def day_figures(
    session: Session, checkpoints: Sequence[Checkpoint], day: date
) -> list[CheckpointDay]:
    """Stored figures where the day was computed; computed now (not stored) where passages
    exist without a report yet; zero where the checkpoint had no passage."""
    if not checkpoints:
        return []
    ids = [c.id for c in checkpoints]
    stored = {
        row.checkpoint_id: row
        for row in session.scalars(
            select(DailyReport)
            .where(DailyReport.checkpoint_id.in_(ids), DailyReport.day == day)
            .execution_options(populate_existing=True)
        )
    }
    start, end = day_bounds(day)
    missing = [i for i in ids if i not in stored]
    crossed = (
        set(
            session.scalars(
                select(Passage.checkpoint_id)
                .where(Passage.checkpoint_id.in_(missing), Passage.at >= start, Passage.at < end)
                .group_by(Passage.checkpoint_id)
            )
        )
        if missing
        else set()
    )
    found = []
    for checkpoint in checkpoints:
        row = stored.get(checkpoint.id)
        if row is not None:
            found.append(CheckpointDay(checkpoint, add(_zero(), row.figures), row.computed_at))
        elif checkpoint.id in crossed:
            found.append(CheckpointDay(checkpoint, compute(session, checkpoint, day), None))
        else:
            found.append(CheckpointDay(checkpoint, _zero(), None))
    return found


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes)))
    return {str(code): str(name) for code, name in rows}


def _origin_codes(figures: Mapping[str, Any]) -> set[str]:
    return {
        code for o in figures.get("origins", []) for code in (o["province"], o["district"]) if code
    }


def unit_report(*, session: Session, actor: Actor, unit_code: str | None, day: date) -> UnitReport:
    """The unit's checkpoints on the day, summed, with each child unit that has checkpoints."""
    _require(actor)
    unit = _unit(session, actor, unit_code)
    checkpoints = list(
        session.scalars(
            select(Checkpoint)
            .where(Checkpoint.unit_code.in_(_subtree(unit)))
            .order_by(Checkpoint.unit_code, Checkpoint.code)
        )
    )
    days = day_figures(session, checkpoints, day)
    totals = _zero()
    for item in days:
        add(totals, item.figures)
    paths = {
        str(code): str(path)
        for code, path in session.execute(
            select(AdminUnit.code, AdminUnit.path).where(
                AdminUnit.code.in_({c.unit_code for c in checkpoints})
            )
        )
    }
    # Each checkpoint counts towards the child of `unit` on its path (none for the unit's own).
    depth = len(unit.path.split("/")) if unit is not None else 0
    by_child: dict[str, ChildUnit] = {}
    child_codes = {
        paths[c.unit_code].split("/")[depth]
        for c in checkpoints
        if c.unit_code in paths and len(paths[c.unit_code].split("/")) > depth
    }
    child_units = {
        u.code: u for u in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(child_codes)))
    }
    for item in days:
        path = paths.get(item.checkpoint.unit_code, "").split("/")
        if len(path) <= depth or path[depth] not in child_units:
            continue
        child = by_child.setdefault(path[depth], ChildUnit(child_units[path[depth]], 0, _zero()))
        child.checkpoints += 1
        add(child.figures, item.figures)
    lineage = []
    if unit is not None:
        ancestors = {
            u.code: u
            for u in session.scalars(
                select(AdminUnit).where(AdminUnit.code.in_(unit.path.split("/")))
            )
        }
        lineage = [
            ancestors[c]
            for c in unit.path.split("/")
            if c in ancestors and covers(actor, ancestors[c].path)
        ]
    codes = _origin_codes(totals) | {c.unit_code for c in checkpoints}
    return UnitReport(
        day=day,
        unit=unit,
        lineage=lineage,
        totals=totals,
        checkpoints=days,
        children=sorted(by_child.values(), key=lambda c: c.unit.code),
        names=_names(session, codes),
    )


def checkpoint_report(
    *, session: Session, actor: Actor, code: str, day: date
) -> tuple[CheckpointDay, dict[str, str]]:
    """One checkpoint's day, if the checkpoint is in the actor's jurisdiction."""
    _require(actor)
    checkpoint = session.scalar(select(Checkpoint).where(Checkpoint.code == parse_code(code)))
    unit = session.get(AdminUnit, checkpoint.unit_code) if checkpoint else None
    if checkpoint is None or unit is None or not covers(actor, unit.path):
        raise NotFound("checkpoint", code)
    (item,) = day_figures(session, [checkpoint], day)
    return item, _names(session, _origin_codes(item.figures) | {checkpoint.unit_code})


def stored_count(session: Session, checkpoint_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(DailyReport)
            .where(DailyReport.checkpoint_id == checkpoint_id)
        )
        or 0
    )


# The plain-language line

RISK_LOW, RISK_ELEVATED, RISK_HIGH = "low", "elevated", "high"
RISK_LABELS = {
    RISK_LOW: N_("Low risk"),
    RISK_ELEVATED: N_("Elevated risk"),
    RISK_HIGH: N_("High risk"),
}


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def risk_level(figures: Mapping[str, Any]) -> str:
    """High with a positive or a flagged vehicle; elevated when many came from level 3–4 zones
    or without protection; low otherwise."""
    risk = figures.get("risk", {})
    if risk.get("positives", 0) or risk.get("flagged_groups", 0):
        return RISK_HIGH
    admitted = int(risk.get("admitted", 0))
    if (
        share(int(risk.get("from_high_zones", 0)), admitted) >= ELEVATED_HIGH_ZONE_SHARE
        or share(int(risk.get("unprotected", 0)), admitted) >= ELEVATED_UNPROTECTED_SHARE
    ):
        return RISK_ELEVATED
    return RISK_LOW


def risk_line(
    figures: Mapping[str, Any], locale: str | None = None, *, with_level: bool = True
) -> str:
    """One sentence for the evening briefing, in the reader's language (pages show the level
    beside it as a badge, so they leave it out of the sentence)."""
    translations = i18n.translations(locale or i18n.current_locale())
    gettext = translations.gettext
    risk = figures.get("risk", {})
    admitted = int(risk.get("admitted", 0))
    if not admitted and not figures.get("turned_back", {}).get("passages", 0):
        return gettext(N_("No one crossed."))
    level = gettext(RISK_LABELS[risk_level(figures)])
    parts = [
        gettext(N_("%(level)s: %(n)s people admitted")) % {"level": level, "n": admitted}
        if with_level
        else gettext(N_("%(n)s people admitted")) % {"n": admitted},
        gettext(N_("%(n)s from level 3–4 zones (%(pct)s%%)"))
        % {
            "n": risk.get("from_high_zones", 0),
            "pct": round(100 * share(int(risk.get("from_high_zones", 0)), admitted)),
        },
        gettext(N_("%(pct)s%% without a recent negative test or full vaccination"))
        % {"pct": round(100 * share(int(risk.get("unprotected", 0)), admitted))},
        gettext(N_("%(n)s turned back")) % {"n": figures["turned_back"]["people"]},
    ]
    if risk.get("positives", 0):
        parts.append(gettext(N_("%(n)s positive rapid tests")) % {"n": risk["positives"]})
    if risk.get("flagged_groups", 0):
        parts.append(gettext(N_("%(n)s flagged groups")) % {"n": risk["flagged_groups"]})
    return "; ".join(parts) + "."
