"""The demo city's outbreak: cases spreading through its check-ins and households.

Ten days ago a resident of Phúc Xá tested positive. Tracing found their F1 (at home and where
they had checked in) and F2; two F1 turned positive in quarantine (F0 → F1 → F0), and when an
F2 fell ill in the community it was traced in turn, and one of their F1 followed. Unrelated
community cases came up in the two demo communes on other days. The screening campaign's
positives open their cases through the outbox handler (`result.positive`); their `case.opened`
is left to the worker, which traces them. Treatment facilities of every tier take the cases by
severity; the commune teams check the quarantined and record their scheduled tests; Phúc Xá
locks down the index case's street and another case's, then narrows it to the lane; zone levels
exist for each of the last seven days.

Cases are opened and traced through the cases services (`open_case`, `trace`, `record_check`,
`declare`, `narrow`) with times set in the past, so the timeline agrees with the check-ins,
which end at the current time. The people are drawn from the seed among those whose tracing
stays small: in the demo's dense city a pupil's or a worker's case has hundreds of F1 and
thousands of F2, which would take the demo tens of seconds.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.models import User
from phongdich.auth.service import actor_for_user
from phongdich.cases import (
    exposures,
    handlers,
    lockdowns,
    quarantine,
    service,
    tracing,
    treatment,
    zones,
)
from phongdich.cases import policy as policies
from phongdich.cases.models import (
    Case,
    Contact,
    HealthCheck,
    QuarantineOrder,
    ScheduledTest,
    ZoneLevel,
)
from phongdich.checkins.models import CheckinEvent
from phongdich.config import get_settings
from phongdich.credentials.status import HealthFact, NewFact, record_facts
from phongdich.db import utcnow
from phongdich.events import OutboxEvent
from phongdich.persons.models import Household, IdentityDocument, Person
from phongdich.venues.models import Venue

PHUC_XA, TRUC_BACH = "00001", "00004"
DEMO_COMMUNES = (PHUC_XA, TRUC_BACH)
DISTRICT, CITY = "001", "01"
INDEX_DAYS_AGO = 10
# (days ago opened, severity) of the cases that follow the index case, in order of opening.
ESCALATED_F1 = ((7, "moderate"), (6, "asymptomatic"))  # two F1 positive in quarantine
ESCALATED_F2 = (5, "severe")  # an F2 ill in the community
SECOND_WAVE = (3, "mild")  # an F1 of that F2
# Unrelated community cases: (days ago, severity, commune); Trúc Bạch, the smaller commune,
# reaches level 2 (20 per 100,000 in 7 days) with its second case.
COMMUNITY = (
    (8, "mild", TRUC_BACH),
    (6, "asymptomatic", PHUC_XA),
    (4, "mild", TRUC_BACH),
    (2, "moderate", TRUC_BACH),
    (1, "mild", PHUC_XA),
)
# Who treats whom: home care, then the Ministry's three tiers (code, name, tier, unit, beds).
FACILITIES = (
    ("CSYT-TAINHA-BD", "Chăm sóc tại nhà quận Ba Đình", 0, DISTRICT, None),
    ("BVDC-BADINH", "Bệnh viện dã chiến quận Ba Đình", 1, DISTRICT, 60),
    ("BV-DONGDA-T2", "Bệnh viện Đống Đa (tầng 2)", 2, CITY, 20),
    ("BV-NHIETDOI-T3", "Bệnh viện Bệnh Nhiệt đới Trung ương cơ sở 2", 3, CITY, 8),
)
POPULATIONS = {CITY: 8_054_000, DISTRICT: 226_000, PHUC_XA: 23_000, TRUC_BACH: 9_900}
CHECKED_ORDERS = 12  # quarantine orders whose daily checks the commune teams recorded
CHECK_DAYS = 3
TESTED_ORDERS = 15  # quarantine orders whose due tests came back
# Each case is drawn among people whose tracing stays this small, so the demo builds in seconds
# (a pupil's case, with the whole school as F1 and their families as F2, would take minutes).
MAX_F1, MAX_BEHIND = 30, 12
CANDIDATES = 8  # people tried for each case
EVENING = timedelta(hours=8)
NOISY = 3  # of those who scanned in more, when none of the quiet ones fits
CROWDED = ("office", "factory", "school", "hospital")


@dataclass(frozen=True)
class OutbreakDemo:
    """What the demo's outbreak holds, for the summary."""

    cases: int
    clusters: int
    f1: int
    f2: int
    quarantined: int  # open quarantine orders
    monitored: int  # open monitoring orders
    lockdown_code: str
    levels: tuple[tuple[date, int], ...]  # the higher of the demo communes' levels, by day
    facilities: int
    untraced: int  # opened from the campaign's positives, for the worker to trace
    health_checks: int
    tests_done: int
    health_facts: int  # written by the cases services: isolation, quarantine, test results

    def line(self) -> str:
        levels = " ".join(f"{day:%d/%m}:{level}" for day, level in self.levels)
        return (
            f"outbreak: {self.cases} cases ({self.untraced} for the worker to trace) in "
            f"{self.clusters} clusters, F1 {self.f1:,}, "
            f"F2 {self.f2:,}, {self.quarantined:,} quarantined ({self.monitored:,} monitored), "
            f"{self.facilities} treatment facilities, lockdown {self.lockdown_code}, "
            f"zone levels of the demo communes {levels}."
        )


class _Run:
    def __init__(self, session: Session, seed: int, now: datetime) -> None:
        self.session = session
        self.rng = random.Random(f"outbreak:{seed}")
        self.now = now
        self.system = system_actor("demo")
        self.policy = policies.current(session)
        self.cases: list[Case] = []
        # Who scanned in at a workplace, a school or a hospital during the outbreak.
        self.workers = self._crowded(None, self.at(INDEX_DAYS_AGO + 3), self.now)

    def at(self, days_ago: float, hours: float = 0.0) -> datetime:
        return self.now - timedelta(days=days_ago, hours=hours)

    def open(
        self,
        person_id: uuid.UUID,
        days_ago: float,
        severity: str,
        *,
        onset_days: float = 1.0,
    ) -> Case:
        """A case opened `days_ago` with symptoms a day or so before, traced when opened."""
        opened = self.at(days_ago)
        case, _ = service.open_case(
            session=self.session,
            actor=self.system,
            person_id=person_id,
            reference_time=opened - timedelta(days=onset_days),
            reference_kind="symptom_onset",
            severity=severity,
            isolation_place="home" if severity == "asymptomatic" else "facility",
            now=opened,
        )
        tracing.trace(session=self.session, actor=self.system, case=case, now=opened)
        self.cases.append(case)
        return case

    def contacts(self, case: Case, degree: int) -> list[uuid.UUID]:
        """The case's active contacts of that degree, those living in a demo commune if any."""
        found = self.session.execute(
            select(Contact.person_id, Contact.unit_code).where(
                Contact.case_id == case.id, Contact.degree == degree, Contact.status == "active"
            )
        ).all()
        local = [p for p, unit in found if unit in DEMO_COMMUNES]
        return local or [p for p, _ in found]

    def window(self, days_ago: float, onset_days: float) -> tuple[datetime, datetime]:
        """The infectious window of a case opened then, in the community all along."""
        opened = self.at(days_ago)
        return opened - timedelta(days=onset_days) - self.policy.window_before, opened

    def quiet(
        self, people: Sequence[uuid.UUID], start: datetime, end: datetime, most: int
    ) -> list[uuid.UUID]:
        """Those who scanned in at most `most` times in [start, end) while nobody they live
        with scanned in at all: their tracing stays small (no school or factory behind it)."""
        members = self.session.execute(
            select(Person.id, Person.household_id).where(
                Person.household_id.in_(
                    select(Person.household_id).where(Person.id.in_(list(people)))
                ),
                Person.merged_into_id.is_(None),
            )
        ).all()
        household = dict(members)
        # Cases are isolated: their scans before that no longer reach their household.
        everyone = ({p for p, _ in members} | set(people)) - set(
            self.session.scalars(select(Case.person_id))
        )
        scans = self._scans(everyone, start, end)
        for person_id in everyone & self.workers:
            scans[person_id] += most + 1
        by_household: Counter[uuid.UUID] = Counter()
        for person_id in everyone:
            home = household.get(person_id)
            if home is not None:
                by_household[home] += scans[person_id]

        def others(person_id: uuid.UUID) -> int:
            home = household.get(person_id)
            return 0 if home is None else by_household[home] - scans[person_id]

        return [p for p in people if scans[p] <= most and not others(p)]

    def _crowded(
        self, people: set[uuid.UUID] | None, start: datetime, end: datetime
    ) -> set[uuid.UUID]:
        """Those of these people (None: anyone) who scanned in at a workplace, a school or a
        hospital: hundreds of F1 each."""
        query = (
            select(CheckinEvent.person_id)
            .distinct()
            .join(Venue, Venue.id == CheckinEvent.venue_id)
            .where(
                CheckinEvent.at >= start,
                CheckinEvent.at < end,
                CheckinEvent.direction == "in",
                Venue.category.in_(CROWDED),
            )
        )
        if people is None:
            return set(self.session.scalars(query))
        listed = sorted(people, key=lambda p: p.hex)
        found: set[uuid.UUID] = set()
        for first in range(0, len(listed), 1000):
            part = listed[first : first + 1000]
            found.update(self.session.scalars(query.where(CheckinEvent.person_id.in_(part))))
        return found

    def _scans(self, people: set[uuid.UUID], start: datetime, end: datetime) -> Counter[uuid.UUID]:
        found: Counter[uuid.UUID] = Counter()
        listed = sorted(people, key=lambda p: p.hex)
        for first in range(0, len(listed), 1000):
            found.update(
                dict(
                    self.session.execute(
                        select(CheckinEvent.person_id, func.count())
                        .where(
                            CheckinEvent.person_id.in_(listed[first : first + 1000]),
                            CheckinEvent.at >= start,
                            CheckinEvent.at < end,
                            CheckinEvent.direction == "in",
                        )
                        .group_by(CheckinEvent.person_id)
                    ).all()
                )
            )
        return found

    def footprint(self, person_id: uuid.UUID, start: datetime, end: datetime) -> tuple[int, int]:
        """How many F1 tracing would find for this window (read, not written), and a measure of
        the F2 behind them: their scans before quarantine, a thousand for each who scanned in
        at a workplace, a school or a hospital (hundreds of F2 each)."""
        found = exposures.find(self.session, {person_id: (start, end)}, self.policy)
        f1: dict[uuid.UUID, datetime] = {}
        for item in found:
            if item.person_id != person_id:
                f1[item.person_id] = min(item.start, f1.get(item.person_id, item.start))
        since = min(f1.values(), default=start)
        crowded = len(set(f1) & self.workers)
        scans = sum(self._scans(set(f1), since, end).values())
        return len(f1), 1000 * crowded + scans

    def _stable_order(self, people: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """The people by document number: record ids are random, the city's documents come
        from the seed, so the same seed picks the same people."""
        numbers: dict[uuid.UUID, str] = {}
        listed = list(people)
        for first in range(0, len(listed), 1000):
            for person_id, number in self.session.execute(
                select(IdentityDocument.person_id, func.min(IdentityDocument.number))
                .where(IdentityDocument.person_id.in_(listed[first : first + 1000]))
                .group_by(IdentityDocument.person_id)
            ):
                numbers[person_id] = number
        return sorted(listed, key=lambda p: (numbers.get(p, ""), p.hex))

    def choose(
        self,
        people: Sequence[uuid.UUID],
        days_ago: float,
        onset_days: float = 1.0,
        *,
        most: int = 2,
        least: int = 0,
        needed: bool = False,
    ) -> uuid.UUID | None:
        """One of these people (in the seed's order, quiet ones first) whose case, opened then,
        would stay within the demo's limits with at least `least` F1. When none of those tried
        does: None, or if the case is `needed`, the one nearest the limits."""
        start, end = self.window(days_ago, onset_days)
        order = self._stable_order(people)
        self.rng.shuffle(order)
        tried: list[tuple[int, int, uuid.UUID]] = []

        def fits(person_id: uuid.UUID) -> bool:
            f1, behind = self.footprint(person_id, start, end)
            if least <= f1 <= MAX_F1 and behind <= MAX_BEHIND:
                return True
            tried.append((int(f1 < least), int(f1 > MAX_F1) * f1 + behind, person_id))
            return False

        quiet: list[uuid.UUID] = []
        for first in range(0, len(order), 200):
            quiet += self.quiet(order[first : first + 200], start, end, most)
            if len(quiet) >= CANDIDATES:
                break
        for person_id in quiet[:CANDIDATES]:
            if fits(person_id):
                return person_id
        if not needed:
            return None
        noisy = [p for p in order if p not in set(quiet)]
        for person_id in noisy[:NOISY]:
            if fits(person_id):
                return person_id
        return min(tried)[2] if tried else None


def _census(session: Session) -> None:
    """The populations of the city, the district and the two demo communes (2019 census,
    rounded), where none is known: zone levels are rates per 100,000 residents, and those of
    the demo's few thousand people would put every unit with a case at level 4."""
    for row in session.scalars(select(AdminUnit).where(AdminUnit.code.in_(list(POPULATIONS)))):
        if row.population is None:
            row.population = POPULATIONS[row.code]
    session.flush()


def _facilities(session: Session, actor: Actor) -> int:
    for code, name, tier, unit, beds in FACILITIES:
        treatment.create_facility(
            session=session, actor=actor, code=code, name=name, tier=tier, unit_code=unit, beds=beds
        )
    return len(FACILITIES)


def _index_person(run: _Run) -> uuid.UUID | None:
    """A resident of Phúc Xá, living with others, who scanned in at places in the days before
    their symptoms, and whose tracing the demo can afford."""
    start, end = run.at(INDEX_DAYS_AGO + 3), run.at(INDEX_DAYS_AGO)
    unit = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)
    shared = (
        select(Person.household_id)
        .where(Person.household_id.is_not(None))
        .group_by(Person.household_id)
        .having(func.count() > 2)
    )
    people = run.session.scalars(
        select(CheckinEvent.person_id)
        .distinct()
        .join(Person, Person.id == CheckinEvent.person_id)
        .where(
            CheckinEvent.at >= start,
            CheckinEvent.at < end,
            unit == PHUC_XA,
            Person.merged_into_id.is_(None),
            Person.household_id.in_(shared),
        )
    ).all()
    # Out for the evening before the positive test, at home the days before: their F1 were
    # quarantined within hours of meeting them, so the F2 are few.
    earlier = set(
        run.session.scalars(
            select(CheckinEvent.person_id).where(
                CheckinEvent.person_id.in_(people),
                CheckinEvent.at >= start - run.policy.window_before,
                CheckinEvent.at < end - EVENING,
            )
        )
    )
    evening = [p for p in people if p not in earlier]
    return run.choose(evening or people, INDEX_DAYS_AGO, 0.5, most=4, least=4, needed=True)


def _community_person(run: _Run, days_ago: float, commune: str) -> uuid.UUID | None:
    """A resident of the commune with no case and no contact so far: an unrelated case."""
    unit = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)
    known = select(Contact.person_id).union(select(Case.person_id))
    people = list(
        run.session.scalars(
            select(Person.id)
            .where(
                unit == commune,
                Person.merged_into_id.is_(None),
                Person.id.not_in(known),
            )
            .order_by(Person.id)
        )
    )
    return run.choose(people, days_ago)


def _cases(run: _Run) -> Case | None:
    """The index case, those who followed it and the unrelated community cases, opened and
    traced in the order of the days they were opened; returns the index case."""
    index_person = _index_person(run)
    if index_person is None:
        return None
    index = run.open(index_person, INDEX_DAYS_AGO, "mild", onset_days=0.5)
    community = list(COMMUNITY)

    def community_until(days_ago: float) -> None:
        while community and community[0][0] >= days_ago:
            day, severity, commune = community.pop(0)
            person = _community_person(run, day, commune)
            if person is not None:
                run.open(person, day, severity)

    for days_ago, severity in ESCALATED_F1:
        community_until(days_ago)
        # Symptoms the day after their quarantine began.
        onset = INDEX_DAYS_AGO - 1 - days_ago
        person = run.choose(run.contacts(index, 1), days_ago, onset, most=6, needed=True)
        if person is not None:
            run.open(person, days_ago, severity, onset_days=onset)
    days_ago, severity = ESCALATED_F2
    community_until(days_ago)
    person = run.choose(run.contacts(index, 2), days_ago, most=3, least=1)
    if person is not None:
        f2_case = run.open(person, days_ago, severity)
        days_ago, severity = SECOND_WAVE
        community_until(days_ago)
        person = run.choose(run.contacts(f2_case, 1), days_ago)
        if person is not None:
            run.open(person, days_ago, severity)
    community_until(0)
    return index


def _event_view(stored: OutboxEvent) -> events.Event:
    return events.Event(
        stored.id, stored.topic, dict(stored.payload), stored.unit_code, stored.created_at
    )


def _from_positive_results(run: _Run) -> int:
    """The campaign's positives through the outbox handler, as the worker would run it: each
    opens its case. Tracing them is left to the worker (`case.opened`), as in production: they
    are whoever the campaign found, and a pupil's case traces a whole school (seconds of work).
    Returns how many cases wait for it."""
    session = run.session
    pending = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.topic == handlers.POSITIVE_TOPIC, OutboxEvent.dispatched.is_(False))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
    ).all()
    for stored in pending:
        handlers.open_from_positive(session, _event_view(stored))
    session.flush()
    return (
        session.scalar(select(func.count()).select_from(Case).where(Case.traced_at.is_(None))) or 0
    )


def _street_of(session: Session, person_id: uuid.UUID) -> tuple[str, str] | None:
    """(lane with street, street) of the person's household: 'ngõ 12, phố X', 'phố X'."""
    address = session.scalar(
        select(Household.address)
        .join(Person, Person.household_id == Household.id)
        .where(Person.id == person_id)
    )
    parts = [p.strip() for p in (address or "").split(",")]
    if len(parts) < 3 or not parts[-1].startswith("phố"):
        return None
    return f"{parts[-2]}, {parts[-1]}", parts[-1]


def _lockdown(run: _Run, index: Case) -> str:
    """Phúc Xá closes the index case's street and another case's, then narrows to the lane."""
    home = _street_of(run.session, index.person_id)
    if home is None:
        return ""
    lane, street = home
    streets = [street]
    for case in run.cases:
        other = _street_of(run.session, case.person_id) if case.unit_code == PHUC_XA else None
        if other is not None and other[1] not in streets:
            streets.append(other[1])
            break
    lockdown = lockdowns.declare(
        session=run.session,
        actor=run.system,
        unit_code=PHUC_XA,
        reason=f"Ca bệnh {index.code} cư trú tại {street}",
        areas=[lockdowns.AreaInput("street", PHUC_XA, s) for s in streets],
        starts_at=index.opened_at,
        case_code=index.code,
    )
    areas = lockdowns.active_areas(run.session, lockdown)
    lockdowns.narrow(
        session=run.session,
        actor=run.system,
        code=lockdown.code,
        remove=[a.id for a in areas],
        add=[lockdowns.AreaInput("address", PHUC_XA, lane)],
        reason="Kết quả xét nghiệm toàn phố âm tính; chỉ phong tỏa ngõ của ca bệnh",
    )
    return lockdown.code


def _officer(session: Session, unit_code: str | None) -> Actor:
    username = {PHUC_XA: "yte.phucxa", TRUC_BACH: "yte.trucbach"}.get(unit_code or "")
    user = session.scalar(select(User).where(User.username == username)) if username else None
    return actor_for_user(session, user, origin="demo") if user else system_actor("demo")


def _open_orders(run: _Run, limit: int) -> list[QuarantineOrder]:
    return list(
        run.session.scalars(
            select(QuarantineOrder)
            .where(
                QuarantineOrder.status == quarantine.OPEN,
                QuarantineOrder.kind == "quarantine",
                QuarantineOrder.unit_code.in_(DEMO_COMMUNES),
            )
            .order_by(QuarantineOrder.issued_at, QuarantineOrder.person_id)
            .limit(limit)
        )
    )


def _health_checks(run: _Run) -> None:
    """The commune teams' daily checks of the last days; one quarantined person has a fever."""
    today = quarantine.local_day(run.now)
    for number, order in enumerate(_open_orders(run, CHECKED_ORDERS)):
        actor = _officer(run.session, order.unit_code)
        first = max(quarantine.local_day(order.issued_at), today - timedelta(days=CHECK_DAYS - 1))
        day = first
        while day <= today:
            fever = number == 0 and day == today
            quarantine.record_check(
                session=run.session,
                actor=actor,
                order_id=order.id,
                day=day,
                temperature=38.2 if fever else round(run.rng.uniform(36.2, 37.2), 1),
                symptoms=["sốt", "ho khan"] if fever else [],
                note="Gọi điện hỏi thăm" if run.rng.random() < 0.5 else "",
            )
            day += timedelta(days=1)


def _scheduled_results(run: _Run) -> None:
    """Results of the tests the commune teams took on the due days, all negative so far."""
    orders = _open_orders(run, TESTED_ORDERS)
    today = quarantine.local_day(run.now)
    tests = run.session.scalars(
        select(ScheduledTest)
        .where(
            ScheduledTest.order_id.in_([o.id for o in orders]),
            ScheduledTest.status == "due",
            ScheduledTest.due_on <= today,
        )
        .order_by(ScheduledTest.order_id, ScheduledTest.due_on)
    ).all()
    person_of = {o.id: o.person_id for o in orders}
    tz = get_settings().tz
    facts = [
        NewFact(
            person_of[test.order_id],
            "test_result",
            min(datetime.combine(test.due_on, time(9), tz), run.now - timedelta(hours=1)),
            {"method": "rapid_antigen", "result": "negative"},
            f"quarantine-test:{test.id}",
        )
        for test in tests
    ]
    record_facts(session=run.session, actor=run.system, domain=quarantine.FACTS_DOMAIN, facts=facts)
    quarantine.apply_results(run.session, sorted({f.person_id for f in facts}))


def _zone_levels(run: _Run) -> None:
    """Levels for each of the last seven days of the city's units, as the daily job would
    have computed them (today's is copied to the units)."""
    today = zones.today()
    for back in range(zones.DAYS - 1, -1, -1):
        zones.compute(
            session=run.session, actor=run.system, day=today - timedelta(days=back), unit_code=CITY
        )


def _summary(run: _Run, lockdown_code: str, facilities: int, untraced: int) -> OutbreakDemo:
    session = run.session
    degrees = Counter(session.scalars(select(Contact.degree)).all())
    orders = Counter(
        session.scalars(
            select(QuarantineOrder.kind).where(QuarantineOrder.status == quarantine.OPEN)
        ).all()
    )
    clusters = session.scalar(
        select(func.count(distinct(Case.cluster_id))).where(Case.cluster_id.is_not(None))
    )
    levels = session.execute(
        select(ZoneLevel.day, func.max(ZoneLevel.level))
        .where(ZoneLevel.unit_code.in_(DEMO_COMMUNES))
        .group_by(ZoneLevel.day)
        .order_by(ZoneLevel.day)
    ).all()
    return OutbreakDemo(
        cases=session.scalar(select(func.count()).select_from(Case)) or 0,
        clusters=clusters or 0,
        f1=degrees[1],
        f2=degrees[2],
        quarantined=orders["quarantine"],
        monitored=orders["monitoring"],
        lockdown_code=lockdown_code,
        levels=tuple(dict(levels).items()),
        facilities=facilities,
        untraced=untraced,
        health_checks=session.scalar(select(func.count()).select_from(HealthCheck)) or 0,
        health_facts=session.scalar(
            select(func.count())
            .select_from(HealthFact)
            .where(HealthFact.source_domain == quarantine.FACTS_DOMAIN)
        )
        or 0,
        tests_done=session.scalar(
            select(func.count()).select_from(ScheduledTest).where(ScheduledTest.status == "done")
        )
        or 0,
    )


def add_outbreak(session: Session, *, seed: int, now: datetime | None = None) -> OutbreakDemo:
    """The outbreak, on a demo city with its check-ins (and its testing campaign) in place."""
    run = _Run(session, seed, (now or utcnow()).replace(microsecond=0))
    _census(session)
    facilities = _facilities(session, run.system)
    index = _cases(run)
    untraced = _from_positive_results(run)
    lockdown_code = _lockdown(run, index) if index is not None else ""
    _health_checks(run)
    _scheduled_results(run)
    _zone_levels(run)
    session.flush()
    return _summary(run, lockdown_code, facilities, untraced)
