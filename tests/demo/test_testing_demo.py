"""The demo's mass testing: labs, a campaign half-way through, pools being resolved.

`build_demo` commits, so these tests use databases of their own, as in test_city.py. The city
is larger than in the other demo tests, so that its two communes fill several tubes per stage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from rich.console import Console
from sqlalchemy import select

from phongdich.credentials.status import HealthFact
from phongdich.db import Database
from phongdich.demo import testing as demo_testing
from phongdich.demo.city import build_demo
from phongdich.events import OutboxEvent
from phongdich.testing import campaigns, figures, labs, resolution
from phongdich.testing.models import Campaign, RetestOrder, Sample, Shipment, Tube
from tests.demo.helpers import Built, Snapshot, build
from tests.testing.factories import SYSTEM

PEOPLE = 1500
SEED = 7


@pytest.fixture(scope="module")
def built(fresh_database: Callable[[], Database]) -> Built:
    return build(fresh_database(), people=PEOPLE, seed=SEED)


def snapshot(database: Database) -> Snapshot:
    """Who is in which tube and what came of it (times and generated ids left out)."""
    with database.transaction() as session:
        rows = session.execute(
            select(Tube.barcode, Tube.kind, Tube.status, Tube.result, Sample.person_id)
            .join(Sample, Sample.tube_id == Tube.id)
            .order_by(Tube.barcode, Sample.person_id)
        ).all()
    return [tuple(row) for row in rows]


def test_the_campaign_has_its_sites_and_sampling_staff(built: Built) -> None:
    with built.database.transaction() as session:
        campaign = campaigns.get_campaign(
            session=session, actor=SYSTEM, code=demo_testing.CAMPAIGN_CODE
        )
        assert (campaign.status, campaign.max_pool_size) == ("active", demo_testing.MAX_POOL)
        assert campaigns.target_codes(session, campaign) == [
            demo_testing.PHUC_XA,
            demo_testing.TRUC_BACH,
        ]
        sites = campaigns.sites_of(session, campaign)
        staff = campaigns.staff_of(session, [s.id for s in sites])
    assert [s.code for s in sites] == [code for code, *_ in demo_testing.SITES]
    assert all(staff[s.id] == [demo_testing.SAMPLER] for s in sites)


def test_tubes_are_single_and_pooled_at_every_stage(built: Built) -> None:
    with built.database.transaction() as session:
        tubes = session.execute(select(Tube.kind, Tube.status, Tube.result)).all()
        biggest = max(Counter(s.tube_id for s in session.scalars(select(Sample))).values())
    kinds = Counter(kind for kind, _, _ in tubes)
    assert kinds["single"] > 0
    assert kinds["pool"] > 0
    assert {status for _, status, _ in tubes} == {
        "open",
        "closed",
        "shipped",
        "received",
        "resulted",
    }
    assert {(kind, status) for kind, status, _ in tubes} >= {
        ("pool", "resulted"),
        ("single", "resulted"),
        ("pool", "shipped"),
    }
    assert {result for _, _, result in tubes} == {None, "negative", "positive", "invalid"}
    assert 1 < biggest <= demo_testing.MAX_POOL
    assert built.result.testing is not None
    assert built.result.testing.tubes == len(tubes)
    assert built.result.testing.pooled < len(tubes)


def test_positive_pools_are_being_resolved(built: Built) -> None:
    with built.database.transaction() as session:
        orders = session.scalars(select(RetestOrder)).all()
        pools = {
            tube.id: tube
            for tube in session.scalars(
                select(Tube).where(Tube.kind == "pool", Tube.result == "positive")
            )
        }
        members = Counter(
            session.scalars(select(Sample.tube_id).where(Sample.tube_id.in_(list(pools))))
        )
    statuses = Counter(o.status for o in orders if o.reason == "pool_positive")
    assert statuses["open"] > 0
    assert statuses["sampled"] > 0
    assert statuses["done"] > 0
    assert {o.reason for o in orders} == {"pool_positive", "invalid"}
    # Dorfman: every member of every positive pool has an order.
    per_pool = Counter(o.source_tube_id for o in orders if o.reason == "pool_positive")
    assert per_pool == members
    assert Counter(o.result for o in orders if o.status == "done") == {
        "positive": 1,
        "negative": statuses["done"] - 1,
    }


def test_individual_positives_are_announced_and_become_health_facts(built: Built) -> None:
    with built.database.transaction() as session:
        positive = {
            str(person_id)
            for person_id in session.scalars(
                select(Sample.person_id).where(Sample.outcome == "positive")
            )
        }
        announced = [
            e.payload["person_id"]
            for e in session.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == resolution.POSITIVE_TOPIC)
            )
        ]
        facts = session.scalars(
            select(HealthFact).where(
                HealthFact.source_domain == resolution.FACTS_DOMAIN,
                HealthFact.kind == "test_result",
            )
        ).all()
    assert len(positive) == 2  # one from a pool's retest, one single tube
    assert sorted(announced) == sorted(positive)
    assert {str(f.person_id) for f in facts if f.value["result"] == "positive"} == positive
    assert Counter(f.value["result"] for f in facts)["negative"] > 10
    assert built.result.testing is not None
    assert built.result.testing.health_facts == len(facts)


def test_the_progress_figures_agree(built: Built) -> None:
    with built.database.transaction() as session:
        progress = figures.progress(session=session, actor=SYSTEM, code=demo_testing.CAMPAIGN_CODE)
    total = progress.total
    assert 0 < total.results_back < total.sampled < (total.to_sample or 0)
    assert total.waiting_retest > 0
    assert total.positive == 2
    for unit in progress.units.values():
        assert unit.results_back <= unit.sampled <= (unit.to_sample or 0)
    summary = built.result.testing
    assert summary is not None
    assert (summary.to_sample, summary.sampled, summary.results_back) == (
        total.to_sample,
        total.sampled,
        total.results_back,
    )
    assert summary.retests_waiting == total.waiting_retest


def test_one_lab_is_near_capacity_and_one_shipment_misses_a_tube(built: Built) -> None:
    with built.database.transaction() as session:
        found = labs.loads(session, labs.list_labs(session=session))
        warnings = {load.lab.code: load.warning for load in found}
        shipments = session.scalars(select(Shipment)).all()
        missing = [labs.view(session, s).missing for s in shipments]
    assert warnings == {
        demo_testing.CDC: None,
        demo_testing.BACH_MAI: None,
        demo_testing.SMALL: "near capacity",
    }
    assert sorted(len(m) for m in missing if m) == [1]


def test_the_summary_names_the_campaign_and_the_lab_user(built: Built) -> None:
    console = Console(record=True, width=300)
    built.result.print(console)
    text = console.export_text()
    assert demo_testing.CAMPAIGN_CODE in text
    assert "3 labs" in text
    assert "xetnghiem.cdc" in text


def test_the_same_seed_builds_the_same_campaign(
    built: Built, fresh_database: Callable[[], Database]
) -> None:
    database = fresh_database()
    again = build_demo(database, people=PEOPLE, seed=SEED)
    assert again.testing == built.result.testing
    assert snapshot(database) == snapshot(built.database)
    with database.transaction() as session:
        assert session.scalar(select(Campaign.code)) == demo_testing.CAMPAIGN_CODE
