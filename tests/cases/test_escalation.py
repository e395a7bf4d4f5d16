"""Escalation end to end through the outbox: a lab's positive result opens a case that is
traced; one of its F1 turns positive and becomes a case of its own, traced in turn.

The outbox commits for real, so each test runs on a fresh database of its own. The lab works
in the present, so the stays are placed relative to the present too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import clusters
from phongdich.cases.models import Case, Cluster, Contact, QuarantineOrder
from phongdich.credentials.status import HealthFact, record_fact, status_for
from phongdich.db import Database, utcnow
from phongdich.events import EventDelivery, OutboxEvent
from phongdich.persons.models import Person
from phongdich.testing.models import Campaign, SamplingSite
from tests.cases.helpers import import_stays, make_venue, stay
from tests.conftest import _load_reference_tree, migrated_database
from tests.factories import BA_DINH, make_person, make_user
from tests.testing.factories import enter, fill_tube, make_campaign, make_lab, ship

POSITIVE = "result.positive"
SYSTEM = system_actor("tests")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path) as database:
        _load_reference_tree(database)
        events.load_handlers()
        yield database


def deliver(database: Database) -> None:
    """Run the outbox as the worker does, round after round (a handler's own events are
    dispatched in the next round), until nothing is left; every delivery must succeed."""
    for _ in range(10):
        if events.process_pending(database) == 0:
            break
    with database.transaction() as session:
        failed = session.execute(
            select(EventDelivery.handler, EventDelivery.last_error).where(
                EventDelivery.status != "done"
            )
        ).all()
    assert failed == []


def positive(database: Database, person_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
    """A single tube of the person's, shipped and resulted positive."""
    with database.transaction() as session:
        campaign = session.get_one(Campaign, campaign_id)
        site = session.scalars(
            select(SamplingSite).where(SamplingSite.campaign_id == campaign.id)
        ).one()
        person = session.get_one(Person, person_id)
        tube = fill_tube(session, campaign, site, [person], kind="single")
        ship(session, make_lab(session), [tube])
        assert enter(session, tube, "positive")


def colour(session: Session, person_id: uuid.UUID) -> tuple[str, str]:
    status = status_for(session=session, person_id=person_id, at=utcnow())
    return status.colour, status.reasons[0]


def test_a_positive_f1_becomes_a_case_traced_in_turn(fresh: Database) -> None:
    start = utcnow().replace(second=0, microsecond=0)

    def ago(hours: int) -> datetime:
        return start - timedelta(hours=hours)

    with fresh.transaction() as session:
        _, officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
        f0, f1, f2, met_f2 = (
            make_person(session, full_name=name)
            for name in ("Nguyễn Văn Khởi", "Trần Thị Lan", "Lê Văn Cà", "Phạm Thị Phê")
        )
        # Fully vaccinated a month ago: green, until quarantined.
        record_fact(
            session=session,
            actor=system_actor("vaccination"),
            person_id=f1.id,
            kind="vaccination_dose",
            occurred_at=start - timedelta(days=30),
            value={"dose_number": 2, "full_course": True},
            source=("vaccination", f"dose-{f1.id}"),
        )
        assert colour(session, f1.id)[0] == "green"
        market = make_venue(session, officer, "Chợ Hòe Nhai", default_visit_minutes=30)
        cafe = make_venue(session, officer, "Cà phê Lý Nam Đế", default_visit_minutes=30)
        import_stays(
            session,
            officer,
            [
                stay(market, f0, ago(10), ago(9)),
                stay(market, f1, ago(10), ago(8)),
                stay(cafe, f1, ago(6), ago(5)),
                stay(cafe, f2, ago(6), ago(3)),
                stay(cafe, met_f2, ago(4), ago(3)),
            ],
            now=start,
        )
        campaign, _ = make_campaign(session, max_pool_size=1)
        ids = {"f0": f0.id, "f1": f1.id, "f2": f2.id, "met_f2": met_f2.id}
        campaign_id = campaign.id
    positive(fresh, ids["f0"], campaign_id)
    deliver(fresh)

    with fresh.transaction() as session:
        first = session.scalars(select(Case).where(Case.person_id == ids["f0"])).one()
        assert (first.source, first.from_contact_id, first.sample_id is not None) == (
            "community",
            None,
            True,
        )
        assert first.traced_at is not None
        degrees = {
            c.person_id: c.degree
            for c in session.scalars(select(Contact).where(Contact.case_id == first.id))
        }
        assert degrees == {ids["f1"]: 1, ids["f2"]: 2}
        quarantined = session.scalars(
            select(QuarantineOrder).where(QuarantineOrder.person_id == ids["f1"])
        ).one()
        assert quarantined.kind == "quarantine"
        quarantined_id = quarantined.id
        assert colour(session, ids["f1"]) == ("red", "Contact in quarantine")
        # The same positive delivered again (a retried import) opens nothing twice.
        [announced] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == POSITIVE)
        ).all()
        events.record(session, POSITIVE, dict(announced.payload), unit_code=announced.unit_code)
    deliver(fresh)
    with fresh.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1

    positive(fresh, ids["f1"], campaign_id)
    deliver(fresh)

    with fresh.transaction() as session:
        first = session.scalars(select(Case).where(Case.person_id == ids["f0"])).one()
        second = session.scalars(select(Case).where(Case.person_id == ids["f1"])).one()
        contact = session.scalars(
            select(Contact).where(Contact.case_id == first.id, Contact.person_id == ids["f1"])
        ).one()
        assert (contact.status, contact.converted_case_id) == ("converted", second.id)
        assert (second.from_contact_id, second.source) == (contact.id, "quarantine")
        order = session.get_one(QuarantineOrder, quarantined_id)
        assert order.status == "converted"
        # Confined since the quarantine began: the new case's window ends there.
        assert second.isolated_at == order.issued_at
        ended = session.scalars(
            select(HealthFact.kind).where(
                HealthFact.person_id == ids["f1"], HealthFact.kind == "quarantine_ended"
            )
        ).all()
        assert ended == ["quarantine_ended"]
        assert second.traced_at is not None
        degrees = {
            c.person_id: c.degree
            for c in session.scalars(select(Contact).where(Contact.case_id == second.id))
        }
        assert degrees == {ids["f2"]: 1, ids["met_f2"]: 2}
        upgraded = session.scalars(
            select(QuarantineOrder).where(QuarantineOrder.person_id == ids["f2"])
        ).one()
        assert (upgraded.kind, upgraded.status) == ("quarantine", "active")
        assert first.cluster_id is not None
        assert first.cluster_id == second.cluster_id
        assert colour(session, ids["f1"]) == ("red", "Confirmed case, not yet recovered")
        cluster = session.get_one(Cluster, first.cluster_id)
        graph = clusters.graph(session=session, actor=SYSTEM, code=cluster.code)
        kinds = {node["id"]: node["kind"] for node in graph["nodes"]}
        assert kinds == {
            str(ids["f0"]): "case",
            str(ids["f1"]): "case",
            str(ids["f2"]): "F1",
            str(ids["met_f2"]): "F2",
        }
        converted = [(e["from"], e["to"]) for e in graph["edges"] if e["converted"]]
        assert converted == [(str(ids["f0"]), str(ids["f1"]))]


def test_two_positives_at_one_venue_are_one_cluster_not_each_others_contacts(
    fresh: Database,
) -> None:
    start = utcnow().replace(second=0, microsecond=0)
    with fresh.transaction() as session:
        _, officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
        one, two, shared = (
            make_person(session, full_name=name)
            for name in ("Nguyễn Văn Một", "Trần Thị Hai", "Lê Văn Chung")
        )
        market = make_venue(session, officer, "Chợ Hòe Nhai", default_visit_minutes=30)
        met = (start - timedelta(hours=10), start - timedelta(hours=9))
        import_stays(
            session,
            officer,
            [stay(market, one, *met), stay(market, two, *met), stay(market, shared, *met)],
            now=start,
        )
        campaign, _ = make_campaign(session, max_pool_size=1)
        ids = (one.id, two.id, shared.id)
        campaign_id = campaign.id
    for person_id in ids[:2]:
        positive(fresh, person_id, campaign_id)
    deliver(fresh)

    with fresh.transaction() as session:
        cases = {c.person_id: c for c in session.scalars(select(Case))}
        assert set(cases) == set(ids[:2])
        for case in cases.values():
            people = session.scalars(select(Contact.person_id).where(Contact.case_id == case.id))
            assert list(people) == [ids[2]]
        cluster_ids = {c.cluster_id for c in cases.values()}
        assert len(cluster_ids) == 1
        assert None not in cluster_ids
