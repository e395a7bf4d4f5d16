"""Tracing against an independent count: random check-ins imported from paper logs, traced,
and the F1 and F2 (with every exposure) compared with a brute-force reading of the raw stays.

The brute force knows only the rules: a stay lasts from check-in to check-out, or the venue's
default length; the F0's window runs from 48 hours before the reference time to isolation; an
F1 shared a venue with the F0 inside that window for 15 minutes or more; an F2 did the same with
an F1 between the F1's first exposure and the issue of the F1's quarantine.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.cases.models import Case, QuarantineOrder
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from tests.cases.helpers import (
    NOW,
    T0,
    Stay,
    contacts,
    documents_by_person,
    exposures_of,
    import_stays,
    make_venue,
    open_case,
    trace,
)
from tests.factories import BA_DINH, PHUC_XA, TRUC_BACH, cccd, make_user

WINDOW_BEFORE = timedelta(hours=48)
MIN_OVERLAP = timedelta(minutes=15)
# Venue default visit lengths, in minutes: a stay with no check-out lasts this long.
DEFAULTS = (20, 30, 45, 60, 90)
PEOPLE = 40
FAMILY_NAMES = ("Nguyễn Văn", "Trần Thị", "Lê Đức", "Phạm Ngọc")
GIVEN_NAMES = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Minh", "Nga")

# A (venue code, source document, start, end, overlap minutes) exposure as the rules see it.
Seen = tuple[str, str, datetime, datetime, int]


@pytest.fixture
def officer(session: Session) -> Actor:
    """A district officer: check-ins in both communes, cases and tracing."""
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


@dataclass(frozen=True)
class Interval:
    venue_code: str
    document: str
    start: datetime
    end: datetime


def scenario(rng: random.Random, venues: Sequence[Venue]) -> list[Stay]:
    """About 40 people making 3 to 8 stays each in the 60 hours before NOW, never in two
    places at once; a third of the stays have no check-out written."""
    stays: list[Stay] = []
    for index in range(PEOPLE):
        document = cccd(born=1950 + index)
        family, given = divmod(index, len(GIVEN_NAMES))
        name = f"{FAMILY_NAMES[family % len(FAMILY_NAMES)]} {GIVEN_NAMES[given]}"
        free_from = NOW - timedelta(hours=60) + timedelta(minutes=rng.randrange(0, 600))
        for _ in range(rng.randint(3, 8)):
            arrived = free_from + timedelta(minutes=rng.randrange(0, 6 * 60))
            venue = rng.choice(venues)
            if rng.random() < 0.35:
                left = None
                ends = arrived + timedelta(minutes=venue.default_visit_minutes)
            else:
                left = arrived + timedelta(minutes=rng.randrange(5, 150))
                ends = left
            if ends > NOW:
                break
            stays.append(Stay(venue, document, name, arrived, left))
            free_from = ends + timedelta(minutes=rng.randrange(1, 120))
    return stays


def intervals(stays: Sequence[Stay]) -> dict[str, list[Interval]]:
    by_document: dict[str, list[Interval]] = defaultdict(list)
    for s in stays:
        end = s.left or s.arrived + timedelta(minutes=s.venue.default_visit_minutes)
        by_document[s.document_number].append(
            Interval(s.venue.code, s.document_number, s.arrived, end)
        )
    return by_document


def exposed(
    sources: dict[str, tuple[datetime, datetime]], everyone: dict[str, list[Interval]]
) -> dict[str, set[Seen]]:
    """Everyone who shared a venue with a source inside the source's window, 15 minutes or
    more, with each such overlap: pair by pair, nothing clever."""
    found: dict[str, set[Seen]] = defaultdict(set)
    for source, (opens, closes) in sources.items():
        for mine in everyone.get(source, []):
            for other, theirs in everyone.items():
                if other == source:
                    continue
                for stay in theirs:
                    if stay.venue_code != mine.venue_code:
                        continue
                    start = max(mine.start, stay.start, opens)
                    end = min(mine.end, stay.end, closes)
                    if end - start >= MIN_OVERLAP:
                        minutes = int((end - start).total_seconds() // 60)
                        found[other].add((stay.venue_code, source, start, end, minutes))
    return found


def recorded(session: Session, case: Case, degree: int) -> dict[str, set[Seen]]:
    """The case's contacts of one degree and their exposures, named by document number."""
    documents = documents_by_person(session)
    codes = dict(session.execute(select(Venue.id, Venue.code)).all())
    found: dict[str, set[Seen]] = {}
    for contact in contacts(session, case).values():
        if contact.degree != degree:
            continue
        found[documents[contact.person_id]] = {
            (
                codes[e.venue_id] if e.venue_id else e.via,
                documents[e.source_person_id],
                e.start,
                e.end,
                e.overlap_minutes or 0,
            )
            for e in exposures_of(session, contact)
        }
    return found


@pytest.mark.parametrize("seed", [7, 2021, 31337])
def test_random_check_ins_trace_to_the_brute_force_contacts(
    session: Session, officer: Actor, seed: int
) -> None:
    rng = random.Random(seed)
    venues = [
        make_venue(
            session,
            officer,
            name=f"Quán số {n}",
            unit=PHUC_XA if n % 2 else TRUC_BACH,
            default_visit_minutes=minutes,
        )
        for n, minutes in enumerate(DEFAULTS)
    ]
    stays = scenario(rng, venues)
    report = import_stays(session, officer, stays)
    assert report.people_registered == PEOPLE
    everyone = intervals(stays)

    window = (T0 - WINDOW_BEFORE, NOW)  # the case is opened (isolated) at NOW
    busiest = max(
        everyone,
        key=lambda d: (sum(1 for i in everyone[d] if i.end > window[0]), d),
    )
    owners = {number: pid for pid, number in documents_by_person(session).items()}
    f0 = session.get_one(Person, owners[busiest])
    case = open_case(session, officer, f0)
    result = trace(session, officer, case)

    first = exposed({busiest: window}, everyone)
    # Each F1 was exposed from their first overlap until their quarantine was issued (NOW).
    f1_windows = {d: (min(s[2] for s in seen), NOW) for d, seen in first.items()}
    second = {
        d: seen
        for d, seen in exposed(f1_windows, everyone).items()
        if d not in first and d != busiest
    }
    assert len(first) >= 5, "the scenario must find F1"
    assert len(second) >= 5, "the scenario must reach F2"
    assert recorded(session, case, 1) == first
    assert recorded(session, case, 2) == second
    assert result.new_contacts == len(first) + len(second)
    assert result.new_exposures == sum(map(len, first.values())) + sum(map(len, second.values()))
    # Each contact's dates follow their exposures; F1 are quarantined, F2 monitored, from the
    # last exposure.
    documents = documents_by_person(session)
    orders = {o.person_id: o for o in session.scalars(select(QuarantineOrder))}
    for contact in contacts(session, case).values():
        seen = first.get(documents[contact.person_id]) or second[documents[contact.person_id]]
        last = max(s[3] for s in seen)
        assert contact.first_exposure_at == min(s[2] for s in seen)
        assert contact.last_exposure_at == last
        order = orders[contact.person_id]
        assert (order.kind, order.starts_at, order.contact_id) == (
            "quarantine" if contact.degree == 1 else "monitoring",
            last,
            contact.id,
        )
    assert set(orders) == set(contacts(session, case))
