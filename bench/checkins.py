"""Check-ins at scale: device batches through the service, and the tracing query.

The database is the demo city with four weeks of check-ins (full: over ten million rows).
Devices upload batches of 10,000 scans through `checkins.service.ingest`, each checked (venue,
jurisdiction, time window, person or CCCD card, re-sent ids) and counted per venue and day; the
baseline bulk-inserts rows of the same kind with Core `insert(checkin_events)`, no checks, into
the same database, the two alternating round by round. The tracing query is
`presence.visits_at` for random venues and random two-hour windows.
"""

from __future__ import annotations

import random
import resource
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.harness import Result, Stopwatch, fresh_database, per_second
from phongdich.auth.models import User
from phongdich.auth.service import actor_for_user
from phongdich.checkins import presence, service, storage
from phongdich.checkins.models import CheckinDailyCount
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.db import Database, utcnow
from phongdich.demo.city import build_demo
from phongdich.persons.models import IdentityDocument, Person
from phongdich.venues.models import Venue

SEED = 1
DAYS = 28  # inside the 30-day retention window, so ingest accepts every time drawn
FULL_PEOPLE = 340_000  # about 1.1 scans per person per day: over ten million rows
QUICK_PEOPLE = 7_000  # about 200,000 rows
BATCH = 10_000
FULL_ROUNDS = 10
QUICK_ROUNDS = 3
QUERIES = 1_000
WINDOW = timedelta(hours=2)
DUPLICATE_SHARE = 0.01  # re-sent scans of the previous batch
CARD_SHARE = 0.05  # scans of a CCCD card rather than a personal pass


def _rss_mb(field: str = "VmRSS") -> float:
    """The process's resident memory now (VmRSS) or at its peak since the last reset (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Start VmHWM again from the current RSS, so the peak is the ingest phase's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class City:
    """What a device could scan in the built city: venue codes (weighted by their traffic),
    people and their CCCD numbers."""

    codes: list[str]
    venue_ids: dict[str, uuid.UUID]
    weights: list[int]
    people: list[uuid.UUID]
    cards: list[tuple[str, uuid.UUID]]

    @classmethod
    def load(cls, database: Database) -> City:
        with database.transaction() as session:
            traffic: dict[uuid.UUID, int] = {
                vid: int(total or 0)
                for vid, total in session.execute(
                    select(
                        CheckinDailyCount.venue_id, func.sum(CheckinDailyCount.checkins)
                    ).group_by(CheckinDailyCount.venue_id)
                )
            }
            venues = [
                (code, vid)
                for code, vid in session.execute(select(Venue.code, Venue.id).order_by(Venue.code))
            ]
            people = list(
                session.scalars(
                    select(Person.id).where(Person.merged_into_id.is_(None)).order_by(Person.id)
                )
            )
            cards = [
                (number, pid)
                for number, pid in session.execute(
                    select(IdentityDocument.number, IdentityDocument.person_id).order_by(
                        IdentityDocument.number
                    )
                )
            ]
        return cls(
            codes=[code for code, _ in venues],
            venue_ids=dict(venues),
            weights=[int(traffic.get(vid, 0)) + 1 for _, vid in venues],
            people=people,
            cards=cards,
        )


@dataclass(frozen=True)
class Scan:
    id: uuid.UUID
    code: str
    person_id: uuid.UUID
    card: str | None
    at: datetime
    direction: str


def scans(city: City, rng: random.Random, count: int, now: datetime) -> Iterator[Scan]:
    """New scans at daytime hours in the last `DAYS` days, at venues in proportion to their
    traffic."""
    codes = rng.choices(city.codes, weights=city.weights, k=count)
    for code in codes:
        day = now - timedelta(days=rng.randrange(DAYS - 1))
        at = day.replace(hour=rng.randrange(0, 15), minute=rng.randrange(60))  # 7:00-22:00 local
        if at > now:
            at -= timedelta(days=1)
        card: str | None = None
        if rng.random() < CARD_SHARE:
            card, person = rng.choice(city.cards)
        else:
            person = rng.choice(city.people)
        yield Scan(
            uuid.UUID(int=rng.getrandbits(128), version=4),
            code,
            person,
            card,
            at,
            "in" if rng.random() < 0.6 else "out",
        )


def device_batch(
    city: City, rng: random.Random, now: datetime, previous: Sequence[CheckinEventIn]
) -> list[CheckinEventIn]:
    """A device's upload: new scans and about 1% re-sent from its previous upload."""
    resent = rng.sample(list(previous), int(BATCH * DUPLICATE_SHARE)) if previous else []
    events = [
        CheckinEventIn(
            id=s.id,
            venue_code=s.code,
            person_id=None if s.card else s.person_id,
            document_number=s.card,
            nationality="VNM" if s.card else None,
            at=s.at,
            direction="in" if s.direction == "in" else "out",
        )
        for s in scans(city, rng, BATCH - len(resent), now)
    ]
    events[len(events) // 2 : len(events) // 2] = resent
    return events


def raw_rows(city: City, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """Rows of the same kind, already resolved, for the baseline's unchecked bulk insert."""
    return [
        {
            "at": s.at,
            "id": s.id,
            "venue_id": city.venue_ids[s.code],
            "person_id": s.person_id,
            "direction": s.direction,
            "source": "device",
            "received_at": now,
        }
        for s in scans(city, rng, BATCH, now)
    ]


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(*, quick: bool = False, database_url: str | None = None) -> Result:
    people = QUICK_PEOPLE if quick else FULL_PEOPLE
    rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
    result = Result(
        f"check-ins: demo city of {people:,} people, {DAYS} days of check-ins; "
        f"{rounds} rounds of {BATCH:,}-event device batches; {QUERIES:,} tracing queries"
    )
    build, ingest, raw = Stopwatch(), Stopwatch(), Stopwatch()
    with fresh_database(database_url) as database:
        with build.running():
            built = build_demo(database, people=people, seed=SEED, checkin_days=DAYS)
        city = City.load(database)
        with database.transaction() as session:
            user = session.scalars(select(User).where(User.username == "soyte.hanoi")).one()
            actor = actor_for_user(session, user, origin="bench")

        rng = random.Random(SEED)
        accepted = duplicates = 0
        previous: list[CheckinEventIn] = []
        peak_reset = _reset_peak()
        rss_start = rss_first = _rss_mb()
        for index in range(rounds):
            now = utcnow()
            events = device_batch(city, rng, now, previous)
            rows = raw_rows(city, rng, now)

            def through_service(events: list[CheckinEventIn] = events) -> None:
                nonlocal accepted, duplicates
                with ingest.running(), database.transaction() as session:
                    report = service.ingest(session=session, actor=actor, events=events)
                if report.rejections:
                    raise AssertionError(f"rejected: {list(report.rejections.items())[:3]}")
                accepted += report.count("accepted")
                duplicates += report.count("duplicate")

            def bulk(rows: list[dict[str, Any]] = rows) -> None:
                with raw.running(), database.transaction() as session:
                    session.execute(insert(storage.EVENTS), rows)

            # Alternate which goes first, so neither always meets a freshly checkpointed file.
            for work in (through_service, bulk) if index % 2 == 0 else (bulk, through_service):
                work()
            previous = events
            del rows
            if index == 0:
                rss_first = _rss_mb()  # one batch of each kind now held: the level to stay at
        rss_end = _rss_mb()
        peak = _rss_mb("VmHWM") if peak_reset else max(rss_start, rss_end)

        timings: list[float] = []
        visits = 0
        query_rng = random.Random(SEED + 1)
        now = utcnow()
        with database.transaction() as session:
            total = session.scalar(select(func.count()).select_from(storage.EVENTS)) or 0
            for _ in range(QUERIES):
                venue = city.venue_ids[query_rng.choice(city.codes)]
                start = now - timedelta(
                    seconds=query_rng.randrange(int(WINDOW.total_seconds()), DAYS * 86_400)
                )
                began = time.perf_counter()
                found = presence.visits_at(session, venue, start, start + WINDOW)
                timings.append((time.perf_counter() - began) * 1000)
                visits += len(found)

    submitted = rounds * BATCH
    ingest_rate = per_second(submitted, ingest.seconds)
    raw_rate = per_second(submitted, raw.seconds)
    result.add("checkins_per_s", ingest_rate, "events/s", baseline="raw_rows_per_s")
    result.add("ratio_to_raw", ingest_rate / raw_rate, "x", note="target >= 0.5")
    result.add("window_p50_ms", _percentile(timings, 0.5), "ms", note="target < 5 ms")
    result.add("window_p95_ms", _percentile(timings, 0.95), "ms")
    result.add("peak_rss_mb", peak, "MB", note="during the ingest phase")
    result.add("raw_rows_per_s", raw_rate, "rows/s", note="baseline: Core insert, no checks")
    result.add("rss_start_mb", rss_start, "MB", note="at the start of the ingest phase")
    result.add("rss_first_round_mb", rss_first, "MB", note="after the first round")
    result.add("rss_end_mb", rss_end, "MB", note="at its end")
    result.add("rows", total, "rows", note="check-in rows at the end")
    result.add("demo_checkins", built.checkins, "rows", note="written by build_demo")
    result.add("build_seconds", build.seconds, "s", note="the whole build_demo, check-ins included")
    result.add("people", built.people, "people")
    result.add("venues", built.venues, "venues")
    result.add("window_visits_avg", visits / QUERIES, "visits", note="per tracing query")
    result.notes.append(
        f"ingest: {accepted:,} accepted, {duplicates:,} duplicates of {submitted:,} events "
        f"({CARD_SHARE:.0%} by CCCD card); one transaction per batch"
    )
    return result
