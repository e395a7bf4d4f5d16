"""Escalation through the service: a contact of two cases turns positive; the chain of cases
and their clusters is kept, the quarantine closes, and the pass colour follows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.cases import service, tracing
from phongdich.cases.models import Case, Contact, ScheduledTest
from phongdich.credentials.status import status_for
from tests.cases.helpers import (
    NOW,
    contact_table,
    hm,
    import_stays,
    make_venue,
    open_case,
    order_of,
    stay,
)
from tests.factories import BA_DINH, make_person, make_user


def test_a_contact_of_two_cases_turning_positive_joins_them_in_one_cluster(
    session: Session,
) -> None:
    _, officer = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    market = make_venue(session, officer, "Chợ Hòe Nhai", default_visit_minutes=30)
    cafe = make_venue(session, officer, "Cà phê Yên Phụ", default_visit_minutes=30)
    first_f0, second_f0, both, later = (
        make_person(session, full_name=name)
        for name in ("Nguyễn Văn Một", "Trần Thị Hai", "Lê Văn Chung", "Phạm Thị Sau")
    )
    import_stays(
        session,
        officer,
        [
            stay(market, first_f0, hm(-20), hm(-19)),
            stay(market, both, hm(-20), hm(-19)),
            stay(cafe, second_f0, hm(-12), hm(-11)),
            stay(cafe, both, hm(-12), hm(-11)),
            stay(cafe, later, hm(-12), hm(-11)),
        ],
    )
    one = open_case(session, officer, first_f0)
    two = open_case(session, officer, second_f0)
    tracing.trace(session=session, actor=officer, case=one, now=NOW)
    tracing.trace(session=session, actor=officer, case=two, now=NOW + timedelta(hours=1))
    assert (one.cluster_id, two.cluster_id) == (None, None)
    order = order_of(session, both)
    assert order.issued_at == NOW
    assert status_for(session=session, person_id=both.id, at=NOW).reasons == (
        "Contact in quarantine",
    )

    escalated = NOW + timedelta(days=1)
    case, created = service.open_case(
        session=session,
        actor=officer,
        person_id=both.id,
        reference_time=escalated - timedelta(hours=2),
        now=escalated,
    )
    assert created
    contacts = {
        c.case_id: c for c in session.scalars(select(Contact).where(Contact.person_id == both.id))
    }
    assert {c.status for c in contacts.values()} == {"converted"}
    assert {c.converted_case_id for c in contacts.values()} == {case.id}
    # The chain: the latest contact is the one the case came from.
    assert (case.from_contact_id, case.source) == (contacts[two.id].id, "quarantine")
    assert case.isolated_at == order.issued_at
    session.refresh(order)
    assert (order.status, order.closed_at) == ("converted", escalated)
    statuses = session.scalars(
        select(ScheduledTest.status).where(ScheduledTest.order_id == order.id)
    ).all()
    assert set(statuses) == {"cancelled"}
    assert status_for(session=session, person_id=both.id, at=escalated).reasons == (
        "Confirmed case, not yet recovered",
    )
    clusters = {c.cluster_id for c in session.scalars(select(Case))}
    assert len(clusters) == 1
    assert None not in clusters

    # Traced in turn, up to the quarantine: the cases met are linked, not contacts.
    result = tracing.trace(session=session, actor=officer, case=case, now=escalated)
    assert sorted(c.code for c in result.linked_cases) == sorted([one.code, two.code])
    assert contact_table(session, case) == {
        "Phạm Thị Sau": (1, [(cafe.code, "venue", hm(-12), hm(-11), 60)])
    }
    again, created = service.open_case(
        session=session, actor=officer, person_id=both.id, reference_time=hm(0), now=escalated
    )
    assert (again.id, created) == (case.id, False)
