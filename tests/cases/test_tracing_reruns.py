"""Tracing again: nothing twice, only what is new, and by the policy published since."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.cases import policy, tracing
from phongdich.cases.models import (
    Case,
    CaseEvent,
    Contact,
    Exposure,
    QuarantineOrder,
    ScheduledTest,
)
from phongdich.credentials.status import HealthFact
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from tests.cases.helpers import NOW, contact_table, hm, import_stays, make_venue, open_case, stay
from tests.factories import BA_DINH, HA_NOI, make_person, make_user

LATER = NOW + timedelta(hours=3)


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


@pytest.fixture
def market(session: Session, officer: Actor) -> Venue:
    return make_venue(session, officer, "Chợ Đồng Xuân", default_visit_minutes=30)


def counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Contact, Exposure, QuarantineOrder, ScheduledTest, HealthFact)
    )


def traced(session: Session, officer: Actor, case: Case, now: datetime) -> tracing.TraceResult:
    return tracing.trace(session=session, actor=officer, case=case, now=now)


def outbreak(session: Session, officer: Actor, market: Venue) -> tuple[Case, dict[str, Person]]:
    """An F0 at the market with one F1, who met an F2 there later."""
    cast = {
        name: make_person(session, full_name=name)
        for name in ("Nguyễn Văn Khởi", "Trần Thị Một", "Lê Văn Hai")
    }
    import_stays(
        session,
        officer,
        [
            stay(market, cast["Nguyễn Văn Khởi"], hm(-10), hm(-9)),
            stay(market, cast["Trần Thị Một"], hm(-9, -30), hm(-8)),
            stay(market, cast["Lê Văn Hai"], hm(-8, -30), hm(-7)),
        ],
    )
    return open_case(session, officer, cast["Nguyễn Văn Khởi"]), cast


def test_a_second_trace_adds_nothing(session: Session, officer: Actor, market: Venue) -> None:
    case, _ = outbreak(session, officer, market)
    first = traced(session, officer, case, NOW)
    assert (first.new_contacts, first.new_exposures) == (2, 2)
    table, before = contact_table(session, case), counts(session)

    again = traced(session, officer, case, LATER)
    assert (again.new_contacts, again.new_exposures) == (0, 0)
    assert contact_table(session, case) == table
    assert counts(session) == before
    events = session.scalars(
        select(CaseEvent.detail)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "traced")
        .order_by(CaseEvent.at, CaseEvent.id)
    ).all()
    assert events == [
        "F1 1, F2 1; 2 new contacts, 2 new exposures (policy 1)",
        "F1 1, F2 1; 0 new contacts, 0 new exposures (policy 1)",
    ]


def test_a_late_check_in_adds_only_the_new_contact_and_exposure(
    session: Session, officer: Actor, market: Venue
) -> None:
    case, cast = outbreak(session, officer, market)
    traced(session, officer, case, NOW)
    table = contact_table(session, case)
    one = cast["Trần Thị Một"]
    order = session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.person_id == one.id)
    ).one()
    issued = (order.id, order.issued_at, order.starts_at)
    latecomer = make_person(session, full_name="Phạm Văn Muộn")
    # The logbook of the F0's second visit arrives after the first trace.
    import_stays(
        session,
        officer,
        [
            stay(market, cast["Nguyễn Văn Khởi"], hm(-4), hm(-3)),
            stay(market, latecomer, hm(-4), hm(-3, -30)),
        ],
        now=LATER,
    )
    again = traced(session, officer, case, LATER)

    assert (again.new_contacts, again.new_exposures) == (1, 1)
    assert contact_table(session, case) == {
        **table,
        "Phạm Văn Muộn": (1, [(market.code, "venue", hm(-4), hm(-3, -30), 30)]),
    }
    # The first F1's order is the one issued at the first trace, untouched.
    session.refresh(order)
    assert (order.id, order.issued_at, order.starts_at) == issued


def test_a_new_policy_is_used_and_recorded_by_the_next_trace(
    session: Session, officer: Actor, market: Venue
) -> None:
    case, cast = outbreak(session, officer, market)
    brief = make_person(session, full_name="Đỗ Thị Ghé")
    import_stays(session, officer, [stay(market, brief, hm(-9, -12), hm(-9))])  # 12 minutes
    first = traced(session, officer, case, NOW)
    assert first.policy.version == case.policy_version == 1
    assert "Đỗ Thị Ghé" not in contact_table(session, case)

    _, province = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    published = policy.publish(session=session, actor=province, rules={"min_overlap_minutes": 10})
    assert published.version == 2
    again = traced(session, officer, case, LATER)

    assert (again.policy.version, again.policy.min_overlap_minutes) == (2, 10)
    assert case.policy_version == 2
    assert (again.new_contacts, again.new_exposures) == (1, 1)
    versions = {
        row.person_id: row.policy_version
        for row in session.execute(
            select(Contact.person_id, Contact.policy_version).where(Contact.case_id == case.id)
        )
    }
    assert versions == {cast["Trần Thị Một"].id: 1, cast["Lê Văn Hai"].id: 1, brief.id: 2}
    order = session.scalars(
        select(QuarantineOrder).where(QuarantineOrder.person_id == brief.id)
    ).one()
    assert (order.kind, order.policy_version) == ("quarantine", 2)
    last = session.scalars(
        select(CaseEvent.detail)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "traced")
        .order_by(CaseEvent.at.desc(), CaseEvent.id)
    ).first()
    assert last is not None
    assert last.endswith("(policy 2)")
