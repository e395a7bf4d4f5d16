"""The check-ins of the demo people's daily routines, at the demo venues.

Check-ins cover the days up to the real current time: rows dated in 2021, like the people's
ages, would be purged by retention the first time the worker runs.

Deterministic for a seed and a current time. Rows are made a day and a chunk of people at a
time and bulk-inserted as they come, so memory stays flat however many people there are.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from phongdich.checkins import storage
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.demo import venues

DAYS = 14
CHECKOUT_SHARE = 0.7
CHUNK_PEOPLE = 10_000
# The share of their visits a person scans, one habit drawn per person.
SCAN_HABITS = (0.0, 0.0, 0.3, 0.6, 0.9)
WORKPLACES = ("office", "factory")
ERRANDS = ("shop", "transport", "worship", "commune_checkpoint", "other", "pharmacy")
# Scanned by the venue's own device (a gate, a school's door); elsewhere visitors scan the poster.
_DEVICE_SCANNED = frozenset({"residential_gate", "school", "office", "factory", "hospital"})


@dataclass(slots=True)
class Routine:
    """Where one person goes: drawn once, so their days look like the same life."""

    person_id: uuid.UUID
    gate: int
    daily: int  # workplace or school, -1 for none
    leaves_at: int  # minutes after local midnight, on weekdays
    stays: int  # minutes at work or school
    groceries: tuple[int, int]
    evenings: tuple[int, int]
    care: tuple[int, int]
    errand: int
    shops: float  # chance of a grocery visit on a given day
    scans: float  # share of their visits they scan (no phone, forgotten, a crowded door)


def _routine(
    rng: random.Random,
    places: venues.Places,
    person_id: uuid.UUID,
    unit: str,
    district: str,
    age: int,
) -> Routine:
    def near(categories: Sequence[str]) -> int:
        return places.near(rng, unit, district, categories)

    daily, leaves_at, stays, shops = -1, 0, 0, 0.55
    if 6 <= age <= 17:
        daily, leaves_at, stays, shops = (
            near(("school",)),
            6 * 60 + 30,
            rng.randrange(270, 540),
            0.1,
        )
    elif 18 <= age <= 60 and rng.random() < 0.75:
        # Most work near home; one in three crosses the city.
        if rng.random() < 0.35:
            daily = rng.choice([i for c in WORKPLACES for i in places.by_city.get(c, ())])
        else:
            daily = near(WORKPLACES)
        leaves_at, stays, shops = rng.randrange(390, 540), rng.randrange(450, 570), 0.35
    elif age > 75:
        shops = 0.25
    # Small children go on a parent's scan; many adults have no smartphone or never bother.
    scans = 0.0 if age < 6 else rng.choice(SCAN_HABITS)
    return Routine(
        person_id=person_id,
        gate=near(("residential_gate",)),
        daily=daily,
        leaves_at=leaves_at,
        stays=stays,
        groceries=(near(("market",)), near(("supermarket",))),
        evenings=(near(("cafe",)), near(("restaurant",))),
        care=(near(("hospital",)), near(("pharmacy",))),
        errand=near(ERRANDS),
        shops=shops,
        scans=scans,
    )


def _between(rng: random.Random, low: int, high: int) -> int:
    """`randrange`, without its argument checks: it is called a few million times."""
    return low + int(rng.random() * (high - low))


def _day(rng: random.Random, routine: Routine, weekday: int) -> list[tuple[int, int, int]]:
    """The day's visits as (venue, arrival minute, minutes stayed), in time order."""
    visits: list[tuple[int, int, int]] = []
    working = weekday < 5 and routine.daily >= 0
    if working:
        arrive = routine.leaves_at + _between(rng, 10, 45)
        visits.append((routine.daily, arrive, routine.stays + _between(rng, -30, 30)))
    if rng.random() < routine.shops:
        grocery = routine.groceries[rng.random() < 0.4]
        # Markets early before work; after work, or mid-morning for those at home.
        arrive = _between(rng, 17 * 60 + 30, 19 * 60) if working else _between(rng, 360, 600)
        visits.append((grocery, arrive, _between(rng, 15, 60)))
    if rng.random() < (0.3 if weekday >= 5 else 0.15):
        visits.append(
            (
                routine.evenings[rng.random() < 0.4],
                _between(rng, 1140, 1290),
                _between(rng, 40, 120),
            )
        )
    if rng.random() < 0.02:
        hospital = rng.random() < 0.3
        visits.append(
            (
                routine.care[not hospital],
                _between(rng, 480, 960),
                _between(rng, 60, 180) if hospital else _between(rng, 5, 20),
            )
        )
    if rng.random() < 0.06:
        visits.append((routine.errand, _between(rng, 540, 1200), _between(rng, 10, 90)))
    visits.sort(key=lambda v: v[1])
    return visits


def _rows_of_day(
    rng: random.Random,
    routines: Sequence[Routine],
    first: int,
    stop: int,
    weekday: int,
    window: tuple[float, float],
) -> Iterator[tuple[int, int, str, int]]:
    """(person's index, second of the day, direction, venue) of every scan of the day by these
    people that falls inside `window` (seconds after the day's midnight)."""
    start, end = window
    for person in range(first, min(stop, len(routines))):
        routine = routines[person]
        if not routine.scans:
            continue
        visits = _day(rng, routine, weekday)
        if not visits:
            continue
        scans: list[tuple[int, str, int]] = []  # venue, direction, second of the day
        # The residential gate: out on the way to the first place, in on the way back.
        scans.append((routine.gate, "out", (visits[0][1] - _between(rng, 5, 25)) * 60))
        for venue, arrive, stay in visits:
            scans.append((venue, "in", arrive * 60))
            if rng.random() < CHECKOUT_SHARE:
                scans.append((venue, "out", (arrive + max(stay, 5)) * 60))
        last = max(arrive + stay for _, arrive, stay in visits)
        scans.append((routine.gate, "in", (last + _between(rng, 5, 25)) * 60))
        for venue, direction, second in scans:
            if rng.random() >= routine.scans:
                continue
            second = min(max(second + _between(rng, 0, 60), 0), 86_399)
            if start <= second <= end:
                yield person, second, direction, venue


_EVENT_COLUMNS = ("at", "id", "venue_id", "person_id", "direction", "source", "received_at")
_SQLITE_CACHE_KB = 512 * 1024
# The version (4) and variant bits that `uuid.UUID(..., version=4)` sets.
_V4_MASK = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_V4_BITS = (0x8000 << 48) | (4 << 76)
_PG_UNNEST = text(
    f"INSERT INTO checkin_events ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608  (constants)
    "SELECT * FROM unnest(CAST(:at AS timestamptz[]), CAST(:id AS uuid[]), "
    "CAST(:venue_id AS uuid[]), CAST(:person_id AS uuid[]), CAST(:direction AS varchar[]), "
    "CAST(:source AS varchar[]), CAST(:received_at AS timestamptz[]))"
)


class EventWriter:
    """A bulk insert of check-in rows known to be valid: the model's own INSERT, with the values
    converted beforehand to what the column types would store (`key`, `time`).

    Per-row type processing costs more than SQLite's insert itself (at ten million rows that is
    minutes), and these rows come from the generator, not from outside.
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"
        self.sql = str(  # SQLite's; PostgreSQL takes arrays (`_PG_UNNEST`)
            insert(storage.EVENTS)
            .values()
            .compile(dialect=self.connection.dialect, column_keys=list(_EVENT_COLUMNS))
        )

    def key(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value  # `Uuid` stores 32 hex digits on SQLite

    def new_id(self, rng: random.Random) -> Any:
        """`uuid.UUID(int=rng.getrandbits(128), version=4)`, as stored."""
        value = rng.getrandbits(128) & _V4_MASK | _V4_BITS
        return f"{value:032x}" if self.sqlite else uuid.UUID(int=value)

    def day_base(self, midnight: datetime) -> datetime:
        """The day's UTC midnight, naive on SQLite, for `stamp`."""
        return midnight.replace(tzinfo=None) if self.sqlite else midnight

    def stamp(self, base: datetime, seconds: float) -> Any:
        """A time as `UTCDateTime` stores it (SQLite: naive UTC text with microseconds)."""
        at = base + timedelta(seconds=seconds)
        return at.isoformat(" ", "microseconds") if self.sqlite else at

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.sqlite:
            self.connection.exec_driver_sql(self.sql, list(rows))
        else:
            # One array per column: psycopg parses one short statement, not thousands of rows.
            columns = zip(*rows, strict=True)
            self.connection.execute(
                _PG_UNNEST,
                {name: list(values) for name, values in zip(_EVENT_COLUMNS, columns, strict=True)},
            )

    @contextmanager
    def large_cache(self) -> Iterator[None]:
        """SQLite's default page cache makes a long transaction spill the hot index pages to the
        write-ahead log again and again; a larger one keeps them until the commit."""
        if not self.sqlite:
            yield
            return
        cache = self.connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        self.connection.exec_driver_sql(f"PRAGMA cache_size={-_SQLITE_CACHE_KB}")
        try:
            yield
        finally:
            self.connection.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
            self.connection.exec_driver_sql("PRAGMA shrink_memory")  # give the pages back now


@contextmanager
def indexes_built_after(session: Session) -> Iterator[None]:
    """Into an empty table, load first and build the secondary indexes afterwards, from the
    model's own definitions: sorting millions of entries once is far cheaper than inserting
    each at a random place in an index that no longer fits in the cache."""
    connection = session.connection()
    if connection.execute(select(storage.EVENTS.c.id).limit(1)).first() is not None:
        yield
        return
    indexes = sorted(storage.EVENTS.indexes, key=lambda index: str(index.name))
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


def add_venues_and_checkins(
    session: Session,
    *,
    seed: int,
    manager_id: uuid.UUID | None,
    manager_unit: str,
    ages_on: date,
    days: int = DAYS,
    now: datetime | None = None,
    chunk: int = CHUNK_PEOPLE,
) -> venues.Summary:
    """Venues for the people already inserted, then `days` of their check-ins up to `now`."""
    now = (now or utcnow()).astimezone(UTC)
    rng = random.Random(f"venues:{seed}")
    residents, districts = venues.residents(session)
    places = venues.make_venues(
        session,
        rng,
        residents,
        districts,
        manager_id=manager_id,
        manager_unit=manager_unit,
        now=now,
    )
    routines = [
        _routine(rng, places, pid, unit, districts.get(unit, unit), ages_on.year - year)
        for pid, unit, year in residents
    ]
    del residents
    summary = venues.Summary(venues=len(places.ids))
    tz = get_settings().tz
    window = (now - timedelta(days=days), now)
    today = now.astimezone(tz).date()
    first = window[0].astimezone(tz).date()
    utc_days = {
        window[0].date() + timedelta(days=n)
        for n in range((now.date() - window[0].date()).days + 1)
    }
    storage.ensure_partitions(session, utc_days)
    counts: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    ids, devices = places.ids, [c in _DEVICE_SCANNED for c in places.categories]
    writer = EventWriter(session)
    venue_keys = [writer.key(v) for v in ids]
    person_keys = [writer.key(r.person_id) for r in routines]
    sources = ["device" if device else "phone" for device in devices]
    with writer.large_cache(), indexes_built_after(session):
        for offset in range((today - first).days, -1, -1):
            day = today - timedelta(days=offset)
            midnight = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
            base = writer.day_base(midnight)
            bounds = ((window[0] - midnight).total_seconds(), (now - midnight).total_seconds())
            for part in range(0, len(routines), chunk):
                # One stream per day and chunk: the rows do not depend on how they were batched.
                day_rng = random.Random(f"checkins:{seed}:{offset}:{part}")
                rows = []
                for person, second, direction, venue in _rows_of_day(
                    day_rng, routines, part, part + chunk, day.weekday(), bounds
                ):
                    received = min(second + 1 + int(day_rng.random() * 300), bounds[1])
                    rows.append(
                        (
                            writer.stamp(base, second),
                            writer.new_id(day_rng),
                            venue_keys[venue],
                            person_keys[person],
                            direction,
                            sources[venue],
                            writer.stamp(base, received),
                        )
                    )
                    counts[(venue, day)][direction == "out"] += 1
                writer.write(rows)
                summary.checkins += len(rows)
    count_rows = [
        {
            "venue_id": ids[venue],
            "day": day,
            "unit_code": places.units[venue],
            "checkins": n[0],
            "checkouts": n[1],
        }
        for (venue, day), n in sorted(counts.items())
    ]
    for start in range(0, len(count_rows), 5000):
        session.execute(insert(storage.COUNTS), count_rows[start : start + 5000])
    return summary
