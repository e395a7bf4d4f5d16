"""The demo's outbreak: cases traced through the demo city's check-ins and households.

`build_demo` commits, so these tests use databases of their own (see conftest.py); anything a
test writes is rolled back, so every test sees the demo as it was built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from rich.console import Console
from sqlalchemy import func, select

from phongdich.auth.actor import system_actor
from phongdich.cases import clusters, lockdowns, tracing, treatment, zones
from phongdich.cases.models import (
    Case,
    Contact,
    HealthCheck,
    Lockdown,
    QuarantineOrder,
    ScheduledTest,
    ZoneLevel,
)
from phongdich.db import Database
from phongdich.demo import outbreak
from phongdich.events import OutboxEvent
from tests.demo.helpers import Built, build, rolled_back

PEOPLE = 1500
SEED = 7
SYSTEM = system_actor("test")


@pytest.fixture(scope="module")
def built(fresh_database: Callable[[], Database]) -> Built:
    return build(fresh_database(), people=PEOPLE, seed=SEED)


def test_cases_were_traced_to_f1_and_f2_with_their_orders(built: Built) -> None:
    with rolled_back(built.database) as session:
        cases = session.scalars(select(Case)).all()
        degrees = Counter(session.scalars(select(Contact.degree)))
        orders = Counter(
            (kind, status)
            for kind, status in session.execute(
                select(QuarantineOrder.kind, QuarantineOrder.status)
            )
        )
        assert len(cases) >= 6
        traced = [c for c in cases if c.traced_at is not None]
        assert len(traced) >= 4
        # Opened on different days, as the check-ins went on.
        assert len({c.opened_at.date() for c in cases}) >= 4
        assert degrees[1] > 0
        assert degrees[2] > 0
        assert orders[("quarantine", "active")] > 0
        assert orders[("monitoring", "active")] > 0
        summary = built.result.outbreak
        assert summary is not None
        assert (summary.cases, summary.f1, summary.f2) == (len(cases), degrees[1], degrees[2])


def test_an_f1_who_turned_positive_became_an_f0_in_the_same_cluster(built: Built) -> None:
    with rolled_back(built.database) as session:
        escalated = session.scalars(
            select(Case).where(Case.from_contact_id.is_not(None), Case.source == "quarantine")
        ).all()
        assert escalated
        for case in escalated:
            contact = session.get_one(Contact, case.from_contact_id)
            parent = session.get_one(Case, contact.case_id)
            assert (contact.degree, contact.status) == (1, "converted")
            assert contact.converted_case_id == case.id
            assert contact.person_id == case.person_id
            assert parent.opened_at < case.opened_at
            assert parent.cluster_id is not None
            assert case.cluster_id == parent.cluster_id
            orders = session.scalars(
                select(QuarantineOrder.status).where(QuarantineOrder.person_id == case.person_id)
            ).all()
            assert "converted" in orders
            assert "active" not in orders


def test_a_cluster_holds_at_least_three_cases_and_draws_its_graph(built: Built) -> None:
    with rolled_back(built.database) as session:
        found = clusters.list_clusters(session=session, actor=SYSTEM)
        biggest, count = max(found, key=lambda pair: pair[1])
        graph = clusters.graph(session=session, actor=SYSTEM, code=biggest.code)
        assert count >= 3
        assert graph["cases"] == count
        kinds = Counter(node["kind"] for node in graph["nodes"])
        assert kinds["case"] == count
        assert kinds["F1"] > 0
        assert any(edge["converted"] for edge in graph["edges"])


def test_zone_levels_exist_for_each_of_the_last_seven_days(built: Built) -> None:
    today = zones.today()
    with rolled_back(built.database) as session:
        rows = session.execute(
            select(ZoneLevel.unit_code, ZoneLevel.day, ZoneLevel.level, ZoneLevel.new_cases_7d)
        ).all()
        days = {day for _, day, _, _ in rows}
        levels = {(unit, day): level for unit, day, level, _ in rows}
        assert days == {today - timedelta(days=back) for back in range(7)}
        assert max(levels.values()) > 1
        # Cases came into the 7-day count on different days: some unit changed level.
        history: dict[str, set[int]] = {}
        for (unit, _), level in levels.items():
            history.setdefault(unit, set()).add(level)
        assert any(len(seen) > 1 for seen in history.values())
        counts = {day: n for unit, day, _, n in rows if unit == outbreak.CITY}
        assert len(set(counts.values())) > 1
        # The rows are the ones the daily job computes: recomputing changes no level.
        for back in (0, 4):
            day = today - timedelta(days=back)
            zones.compute(session=session, actor=SYSTEM, day=day)
            again = session.execute(
                select(ZoneLevel.unit_code, ZoneLevel.level).where(
                    ZoneLevel.day == day, ZoneLevel.population.is_not(None)
                )
            ).all()
            assert again
            assert all(levels[(unit, day)] == level for unit, level in again)


def test_a_lockdown_on_streets_was_narrowed_to_the_lane(built: Built) -> None:
    with rolled_back(built.database) as session:
        lockdown = session.scalars(select(Lockdown)).one()
        changes = lockdowns.changes(session, lockdown)
        areas = lockdowns.active_areas(session, lockdown)
        _, residents, _ = lockdowns.residents(session=session, actor=SYSTEM, code=lockdown.code)
        assert [c.action for c in changes] == ["declare", "narrow"]
        assert changes[0].detail.startswith("street 00001")
        assert [a.kind for a in areas] == ["address"]
        assert lockdown.case_id is not None
        assert residents >= 1
        summary = built.result.outbreak
        assert summary is not None
        assert summary.lockdown_code == lockdown.code


def test_treatment_facilities_of_every_tier_take_the_cases(built: Built) -> None:
    with rolled_back(built.database) as session:
        places = treatment.occupancy(session=session, actor=SYSTEM)
        cases = session.scalars(select(Case)).all()
        tiers = {f.facility.id: f.facility.tier for f in places}
        assert sorted(f.facility.tier for f in places) == [0, 1, 2, 3]
        assert all(f.facility.beds is None or f.occupied <= f.facility.beds for f in places)
        assert sum(f.occupied for f in places) == sum(1 for c in cases if c.facility_id)
        for case in cases:
            assert case.facility_id is not None
            assert tiers[case.facility_id] == treatment.TIER_FOR[case.severity]
        assert len({tiers[c.facility_id] for c in cases if c.facility_id}) >= 3


def test_quarantined_people_were_checked_and_tested(built: Built) -> None:
    with rolled_back(built.database) as session:
        checks = session.scalars(select(HealthCheck)).all()
        done = session.execute(
            select(ScheduledTest.result, func.count())
            .where(ScheduledTest.status == "done")
            .group_by(ScheduledTest.result)
        ).all()
        assert checks
        assert any(c.temperature is not None and c.temperature >= 38 for c in checks)
        assert dict(done).get("negative", 0) > 0
        summary = built.result.outbreak
        assert summary is not None
        assert (summary.health_checks, summary.tests_done) == (len(checks), sum(n for _, n in done))


def test_the_campaign_positives_opened_cases_through_the_outbox(built: Built) -> None:
    with rolled_back(built.database) as session:
        samples = [
            str(e.payload["sample_id"])
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == "result.positive")
            )
        ]
        opened = session.scalars(select(Case).where(Case.sample_id.in_(samples))).all()
        untraced = session.scalars(select(Case).where(Case.traced_at.is_(None))).all()
        assert samples
        assert len(opened) == len(samples)
        assert {c.id for c in untraced} <= {c.id for c in opened}  # the worker traces those
        summary = built.result.outbreak
        assert summary is not None
        assert summary.untraced == len(untraced)


def test_tracing_every_case_again_adds_nothing(built: Built) -> None:
    with rolled_back(built.database) as session:
        cases = session.scalars(select(Case).order_by(Case.opened_at)).all()
        for case in cases:
            if case.traced_at is None:  # left to the worker: its first tracing adds
                tracing.trace(session=session, actor=SYSTEM, case=case)
        before = session.scalar(select(func.count()).select_from(Contact))
        for case in cases:
            result = tracing.trace(session=session, actor=SYSTEM, case=case)
            assert (result.new_contacts, result.new_exposures) == (0, 0), case.code
        assert session.scalar(select(func.count()).select_from(Contact)) == before


def test_the_summary_names_the_outbreak(built: Built) -> None:
    console = Console(record=True, width=300)
    built.result.print(console)
    text = console.export_text()
    summary = built.result.outbreak
    assert summary is not None
    assert f"outbreak: {summary.cases} cases" in text
    assert summary.lockdown_code in text
    assert "zone levels" in text


def _outbreak_people(database: Database) -> list[tuple[object, ...]]:
    with rolled_back(database) as session:
        rows = session.execute(
            select(Case.person_id, Case.source, Case.severity).order_by(Case.person_id)
        ).all()
        return [tuple(row) for row in rows]


def test_the_same_seed_spreads_the_same_outbreak(
    built: Built, fresh_database: Callable[[], Database]
) -> None:
    again = build(fresh_database(), people=PEOPLE, seed=SEED)
    assert _outbreak_people(again.database) == _outbreak_people(built.database)
    first, second = built.result.outbreak, again.result.outbreak
    assert first is not None
    assert second is not None
    assert (second.cases, second.clusters, second.levels) == (
        first.cases,
        first.clusters,
        first.levels,
    )
