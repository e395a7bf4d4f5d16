"""Tracing at scale: one F0 traced to F1 and F2, and a thousand F0 opened at once.

Setup (timed apart, not part of any figure): a city made for tracing — people from the demo's
own generator (households of 1 to 6), one venue per 20 people (full: 1,000,000 people and
50,000 venues), and 14 days of visits: each person visits 0 to 4 venues a day (0.54 on
average), in the same neighbourhood of 500 venues (drawn so that a few are busy: markets and
workplaces, most quiet), for 15 to 120 minutes between 7:00 and 21:00, checking in, and out
seven times in ten. Full scale writes over ten million check-in rows, with the demo's bulk path
(`demo.checkins.EventWriter`: the model's INSERT in the columns' storage form; indexes built
after the load).

- **One F0**: `cases.service.open_case` for a person who checked in during the last two days
  (reference time a day ago), committed, then `cases.tracing.trace` timed alone with its
  commit: F1 at venues and at home, F2 from each F1's window, their exposures, and the
  quarantine and monitoring orders with their scheduled tests.
- **A thousand F0**: 1,000 other people's cases opened in one transaction, then traced end to
  end **through the outbox** as the worker does it (`events.process_pending` until nothing is
  left: each `case.opened` delivery traces its case in its own transaction, together with the
  other handlers the opening triggers). Wall time of the whole.
- Baseline, same database: `checkins.presence.visits_at` — the tracing query of one venue over
  a visit's window (widened by `MAX_VISIT`, paired into visits) — for the venues the F0 visited,
  and the bare indexed range query of one venue-day, each timed alone.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from bench.harness import Result, Stopwatch, fresh_database, load_admin_tree
from phongdich import events
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.cases import service, tracing
from phongdich.cases.models import Case, Contact
from phongdich.checkins import presence, storage
from phongdich.checkins.models import CheckinEvent
from phongdich.config import get_settings
from phongdich.db import Database, utcnow
from phongdich.demo import city
from phongdich.demo.checkins import EventWriter, indexes_built_after
from phongdich.events import OutboxEvent
from phongdich.text import fold
from phongdich.venues.models import Venue

SEED = 1
DAYS = 14
FULL_PEOPLE, QUICK_PEOPLE = 1_000_000, 20_000
PEOPLE_PER_VENUE = 20
NEIGHBOURHOOD = 500  # venues a person chooses among
VISITS_PER_DAY = (0, 1, 2, 3, 4)
VISIT_WEIGHTS = (70, 15, 8, 5, 2)  # 0.54 visits a person a day
CHECKOUT_SHARE = 0.7
FULL_SINGLE, QUICK_SINGLE = 200, 40
FULL_BATCH, QUICK_BATCH = 1_000, 100
BASELINE_QUERIES = 1_000
WRITE_CHUNK = 50_000
ACTOR = system_actor("bench")
P95_TARGET_MS, BATCH_TARGET_S = 100.0, 60.0


@dataclass
class City:
    people: list[uuid.UUID] = field(default_factory=list)
    venues: list[uuid.UUID] = field(default_factory=list)
    recent: list[int] = field(default_factory=list)  # people who checked in in the last 2 days
    checkins: int = 0


def _people(database: Database, count: int, city_rows: City) -> list[int]:
    """The demo's households and people; returns each person's neighbourhood number (by
    household, so that a family shops in the same streets)."""
    hoods: list[int] = []
    blocks = max(1, count // PEOPLE_PER_VENUE // NEIGHBOURHOOD)
    with database.transaction() as session:
        for rows in city.generate(session, people=count, seed=SEED):
            city.insert_rows(session, rows)
            block_of = {h["id"]: h["id"].int % blocks for h in rows.households}
            for person in rows.persons:
                city_rows.people.append(person["id"])
                hoods.append(block_of.get(person["household_id"], 0))
    return hoods


def _venues(database: Database, count: int, now: datetime) -> list[uuid.UUID]:
    rng = random.Random(f"venues:{SEED}")
    with database.transaction() as session:
        units = list(
            session.scalars(
                select(AdminUnit.code).where(
                    AdminUnit.path.startswith(city.CITY + "/"), AdminUnit.level == 3
                )
            )
        )
        ids: list[uuid.UUID] = []
        rows: list[dict[str, Any]] = []
        for index in range(count):
            venue_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            ids.append(venue_id)
            name = f"Điểm {index:06d}"
            rows.append(
                {
                    "id": venue_id,
                    "code": f"BT{index:07d}",
                    "name": name,
                    "name_folded": fold(name),
                    "category": "other",
                    "unit_code": units[(index // NEIGHBOURHOOD) % len(units)],
                    "address": "",
                    "capacity": None,
                    "default_visit_minutes": 30,
                    "status": "approved",
                    "manager_id": None,
                    "created_at": now,
                    "decided_at": now,
                    "decided_by": "bench",
                }
            )
            if len(rows) >= 10_000:
                session.execute(insert(Venue), rows)
                rows = []
        if rows:
            session.execute(insert(Venue), rows)
    return ids


def _checkins(database: Database, built: City, hoods: Sequence[int], now: datetime) -> None:
    """Fourteen days of visits, a day at a time, bulk-written in storage form."""
    tz = get_settings().tz
    venues = len(built.venues)
    hood_size = min(NEIGHBOURHOOD, venues)
    today = now.astimezone(tz).date()
    recent: set[int] = set()
    with database.transaction() as session:
        writer = EventWriter(session)
        venue_keys = [writer.key(v) for v in built.venues]
        person_keys = [writer.key(p) for p in built.people]
        days = [today - timedelta(days=back) for back in range(DAYS, -1, -1)]
        utc_days = {d + timedelta(days=n) for d in days for n in (-1, 0, 1)}
        storage.ensure_partitions(session, utc_days)
        with writer.large_cache(), indexes_built_after(session):
            for day in days:
                rng = random.Random(f"visits:{SEED}:{day.isoformat()}")
                midnight = datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)
                base = writer.day_base(midnight)
                limit = (now - midnight).total_seconds()
                if limit <= 0:
                    continue
                lately = (now - midnight) <= timedelta(days=2)
                visits = rng.choices(VISITS_PER_DAY, VISIT_WEIGHTS, k=len(person_keys))
                rows: list[tuple[Any, ...]] = []
                for person, number in enumerate(visits):
                    if not number:
                        continue
                    first_venue = hoods[person] * NEIGHBOURHOOD % venues
                    for _ in range(number):
                        venue = (first_venue + int(hood_size * rng.random() ** 2)) % venues
                        arrive = 25_200 + int(rng.random() * 50_400)  # 7:00 to 21:00
                        stay = 900 + int(rng.random() * 6_300)  # 15 to 120 minutes
                        if arrive >= limit:
                            continue
                        rows.append(
                            (
                                writer.stamp(base, arrive),
                                writer.new_id(rng),
                                venue_keys[venue],
                                person_keys[person],
                                "in",
                                "phone",
                                writer.stamp(base, arrive + 60),
                            )
                        )
                        if rng.random() < CHECKOUT_SHARE and arrive + stay < limit:
                            rows.append(
                                (
                                    writer.stamp(base, arrive + stay),
                                    writer.new_id(rng),
                                    venue_keys[venue],
                                    person_keys[person],
                                    "out",
                                    "phone",
                                    writer.stamp(base, arrive + stay + 60),
                                )
                            )
                        if lately:
                            recent.add(person)
                    if len(rows) >= WRITE_CHUNK:
                        writer.write(rows)
                        built.checkins += len(rows)
                        rows = []
                writer.write(rows)
                built.checkins += len(rows)
    built.recent = sorted(recent)


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _open(database: Database, people: Sequence[uuid.UUID], now: datetime) -> list[uuid.UUID]:
    """Cases for these people, first positive a day ago, in one transaction."""
    with database.transaction() as session:
        return [
            service.open_case(
                session=session,
                actor=ACTOR,
                person_id=person,
                reference_time=now - timedelta(days=1),
                now=now,
            )[0].id
            for person in people
        ]


def _baseline(
    database: Database, venues: Sequence[uuid.UUID], now: datetime
) -> tuple[list[float], list[float]]:
    """Milliseconds of `visits_at` over a visit's window, and of the bare range query of one
    venue-day, for each of these venues."""
    window, bare = [], []
    with database.transaction() as session:
        for index, venue in enumerate(venues):
            start = now - timedelta(hours=2 + index % 48)
            began = time.perf_counter()
            presence.visits_at(session, venue, start, start + timedelta(hours=2))
            window.append((time.perf_counter() - began) * 1000)
            day = now - timedelta(days=1 + index % (DAYS - 1))
            began = time.perf_counter()
            session.execute(
                select(CheckinEvent.person_id, CheckinEvent.at, CheckinEvent.direction).where(
                    CheckinEvent.venue_id == venue,
                    CheckinEvent.at >= day,
                    CheckinEvent.at < day + timedelta(days=1),
                )
            ).all()
            bare.append((time.perf_counter() - began) * 1000)
    return window, bare


def run(*, quick: bool = False, database_url: str | None = None) -> Result:
    people = QUICK_PEOPLE if quick else FULL_PEOPLE
    singles = QUICK_SINGLE if quick else FULL_SINGLE
    batch = QUICK_BATCH if quick else FULL_BATCH
    make_people, make_venues, make_checkins = Stopwatch(), Stopwatch(), Stopwatch()
    opening, outbox = Stopwatch(), Stopwatch()
    built = City()
    timings: list[float] = []
    f1 = f2 = 0
    events.load_handlers()
    with fresh_database(database_url) as database:
        now = utcnow()
        with make_people.running():
            load_admin_tree(database)
            hoods = _people(database, people, built)
        with make_venues.running():
            built.venues = _venues(database, max(1, people // PEOPLE_PER_VENUE), now)
        with make_checkins.running():
            _checkins(database, built, hoods, now)
        del hoods

        rng = random.Random(SEED)
        chosen = rng.sample(built.recent, min(len(built.recent), singles + batch))
        single_people = [built.people[i] for i in chosen[:singles]]
        batch_people = [built.people[i] for i in chosen[singles:]]
        now = utcnow()
        for person in single_people:
            (case_id,) = _open(database, [person], now)
            began = time.perf_counter()
            with database.transaction() as session:
                case = session.get_one(Case, case_id)
                traced = tracing.trace(session=session, actor=ACTOR, case=case, now=now)
                degrees = [c.degree for c in traced.contacts]
            timings.append((time.perf_counter() - began) * 1000)
            f1 += degrees.count(1)
            f2 += degrees.count(2)
        with database.transaction() as session:
            visited = list(
                session.scalars(
                    select(CheckinEvent.venue_id)
                    .where(
                        CheckinEvent.person_id.in_(single_people),
                        CheckinEvent.at >= now - timedelta(days=3),
                    )
                    .distinct()
                )
            )
            # The single traces' own events are not part of the batch.
            session.execute(update(OutboxEvent).values(dispatched=True))
        sample = (visited * (BASELINE_QUERIES // max(1, len(visited)) + 1))[:BASELINE_QUERIES]
        window_ms, bare_ms = _baseline(database, sample, now)

        began = time.perf_counter()
        with opening.running():
            opened = _open(database, batch_people, utcnow())
        with outbox.running():
            while events.process_pending(database, limit=10_000):
                pass
        batch_seconds = time.perf_counter() - began
        with database.transaction() as session:
            untraced = session.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.id.in_(opened), Case.traced_at.is_(None))
            )
            batch_contacts = session.scalar(
                select(func.count()).select_from(Contact).where(Contact.case_id.in_(opened))
            )
        if untraced:
            raise AssertionError(f"{untraced} cases of the batch were not traced")

    result = Result(
        f"tracing: {people:,} people, {len(built.venues):,} venues, {built.checkins:,} check-in "
        f"rows over {DAYS} days; {len(timings)} single F0, a batch of {len(batch_people):,}"
    )
    p95 = _percentile(timings, 0.95)
    result.add("trace_p50_ms", _percentile(timings, 0.5), "ms", baseline="visits_at_p50_ms")
    result.add("trace_p95_ms", p95, "ms", note=f"target < {P95_TARGET_MS:.0f} ms")
    result.add(
        "batch_1000_s",
        batch_seconds,
        "s",
        note=f"{len(batch_people):,} F0 opened and traced through the outbox; "
        f"target < {BATCH_TARGET_S:.0f} s",
    )
    result.add("visits_at_p50_ms", _percentile(window_ms, 0.5), "ms", note="baseline")
    result.add("visits_at_p95_ms", _percentile(window_ms, 0.95), "ms")
    result.add("venue_day_p50_ms", _percentile(bare_ms, 0.5), "ms", note="bare range query")
    result.add("batch_open_s", opening.seconds, "s", note="opening the batch, one transaction")
    result.add("batch_outbox_s", outbox.seconds, "s", note="the worker's deliveries")
    result.add("batch_cases", len(batch_people), "cases")
    result.add("batch_contacts", batch_contacts or 0, "contacts")
    result.add("f1_avg", f1 / max(1, len(timings)), "F1", note="per single F0")
    result.add("f2_avg", f2 / max(1, len(timings)), "F2", note="per single F0")
    result.add("people", len(built.people), "people")
    result.add("venues", len(built.venues), "venues")
    result.add("checkins", built.checkins, "rows")
    result.add("people_s", make_people.seconds, "s", note="setup: admin tree and people")
    result.add("venues_s", make_venues.seconds, "s", note="setup")
    result.add("checkins_s", make_checkins.seconds, "s", note="setup: check-in rows")
    if quick:
        result.notes.append("quick scale: the targets are for the full scale")
    else:
        verdicts = [
            f"p95 < {P95_TARGET_MS:.0f} ms: {'met' if p95 < P95_TARGET_MS else 'NOT met'}",
            f"{batch:,} F0 in < {BATCH_TARGET_S:.0f} s: "
            f"{'met' if batch_seconds < BATCH_TARGET_S else 'NOT met'}",
        ]
        result.notes.append("targets: " + "; ".join(verdicts))
    return result
