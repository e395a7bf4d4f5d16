"""Tracing when what it knew changes: a corrected onset, an F2 who met the F0 after all, a
shift longer than twelve hours, and an F2 exposure of someone already quarantined."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.cases import service
from tests.cases.helpers import (
    NOW,
    T0,
    at,
    contacts,
    exposures_of,
    make_venue,
    open_case,
    order_of,
    trace,
    visit,
)
from tests.factories import BA_DINH, make_person, make_user


def officer(session: Session) -> Actor:
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


def test_an_earlier_onset_widens_the_same_exposure_instead_of_adding_one(
    session: Session,
) -> None:
    actor = officer(session)
    market = make_venue(session, actor, default_visit_minutes=30)
    f0, f1 = make_person(session), make_person(session)
    # One shared visit across the window's start (T0 − 48 h).
    visit(session, actor, market, f0, at(-49), at(-47))
    visit(session, actor, market, f1, at(-49), at(-47))
    case = open_case(session, actor, f0)
    trace(session, actor, case)
    [first] = exposures_of(session, contacts(session, case)[f1.id])
    assert (first.start, first.end, first.overlap_minutes) == (at(-48), at(-47), 60)

    service.update_case(
        session=session,
        actor=actor,
        code=case.code,
        change=service.CaseChange(symptom_onset=T0 - timedelta(hours=2)),
        now=NOW,
    )
    again = trace(session, actor, case)
    [widened] = exposures_of(session, contacts(session, case)[f1.id])
    assert again.new_exposures == 0
    assert (widened.id, widened.start, widened.end, widened.overlap_minutes) == (
        first.id,
        at(-49),
        at(-47),
        120,
    )


def test_an_f2_found_to_have_met_the_f0_counts_from_that_meeting(session: Session) -> None:
    actor = officer(session)
    market = make_venue(session, actor, "Chợ Một", default_visit_minutes=30)
    shop = make_venue(session, actor, "Cửa hàng Hai", default_visit_minutes=30)
    f0, q, p, z = (make_person(session) for _ in range(4))
    visit(session, actor, market, f0, at(-30), at(-29))
    visit(session, actor, market, q, at(-30), at(-29))  # Q: F1
    visit(session, actor, shop, q, at(-20), at(-19))
    visit(session, actor, shop, p, at(-20), at(-19))  # P: F2 through Q
    visit(session, actor, market, p, at(-15), at(-14))
    visit(session, actor, market, z, at(-15), at(-14))  # Z met P before P met the F0
    case = open_case(session, actor, f0)
    trace(session, actor, case)
    assert contacts(session, case)[p.id].degree == 2

    service.add_contact(
        session=session, actor=actor, code=case.code, person_id=p.id, start=at(-10), end=at(-9)
    )
    trace(session, actor, case)
    found = contacts(session, case)
    assert (found[p.id].degree, found[p.id].first_exposure_at) == (1, at(-10))
    assert z.id not in found
    assert order_of(session, p).kind == "quarantine"


def test_a_thirteen_hour_shift_is_one_visit(session: Session) -> None:
    actor = officer(session)
    factory = make_venue(session, actor, "Nhà máy Một", default_visit_minutes=30)
    f0, x = make_person(session), make_person(session)
    visit(session, actor, factory, f0, at(-30), at(-17))
    visit(session, actor, factory, x, at(-24), at(-23))  # an hour in the middle of the shift
    case = open_case(session, actor, f0)
    trace(session, actor, case)
    [exposure] = exposures_of(session, contacts(session, case)[x.id])
    assert (exposure.start, exposure.end, exposure.overlap_minutes) == (at(-24), at(-23), 60)


def test_an_f2_exposure_leaves_a_quarantine_as_it_was(session: Session) -> None:
    actor = officer(session)
    one = make_venue(session, actor, "Chợ Một", default_visit_minutes=30)
    two = make_venue(session, actor, "Chợ Hai", default_visit_minutes=30)
    a, b, p, q = (make_person(session) for _ in range(4))
    visit(session, actor, one, a, at(-40), at(-39))
    visit(session, actor, one, p, at(-40), at(-39))  # P: F1 of A
    trace(session, actor, open_case(session, actor, a))
    order = order_of(session, p)
    before = (order.kind, order.starts_at, order.ends_on)

    visit(session, actor, two, b, at(-30), at(-29))
    visit(session, actor, two, q, at(-30), at(-29))  # Q: F1 of B
    visit(session, actor, two, q, at(-5), at(-4))
    visit(session, actor, two, p, at(-5), at(-4))  # P: F2 of B, later than their F1 exposure
    case_b = open_case(session, actor, b)
    trace(session, actor, case_b)
    assert contacts(session, case_b)[p.id].degree == 2
    session.refresh(order)
    assert (order.kind, order.starts_at, order.ends_on) == before
