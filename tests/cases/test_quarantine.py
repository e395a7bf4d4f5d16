"""Quarantine and monitoring orders: local dates, scheduled tests and their results, the
commune's list of the day, daily checks, and release."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.cases import quarantine, service, tracing
from phongdich.cases.models import Contact, QuarantineOrder, ScheduledTest
from phongdich.credentials.status import HealthFact, record_fact
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.models import Person
from tests.cases.helpers import NOW, hm, import_stays, make_venue, open_case, order_of, stay, trace
from tests.factories import BA_DINH, PHUC_XA, TRUC_BACH, make_person, make_user

LAB = system_actor("lab")
_results = itertools.count(1)
# The F1's last exposure, 17:30 UTC on 9 September, is 00:30 on 10 September in Hà Nội: the
# orders count their days from the 10th.
DAY_0 = date(2021, 9, 10)
END = date(2021, 9, 24)


@dataclass(frozen=True)
class Outbreak:
    f1: Person  # lives in Phúc Xá
    f1_truc_bach: Person
    f2: Person


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


@pytest.fixture
def outbreak(session: Session, officer: Actor) -> Outbreak:
    f0, f1, f1_truc_bach, f2 = (
        make_person(session, full_name="Nguyễn Văn Khởi"),
        make_person(session, full_name="Trần Thị Lan"),
        make_person(session, full_name="Lê Văn Bạch", permanent_unit_code=TRUC_BACH),
        make_person(session, full_name="Phạm Thị Xa"),
    )
    market = make_venue(session, officer, "Chợ đêm Phúc Xá", default_visit_minutes=30)
    cafe = make_venue(session, officer, "Cà phê Hòe Nhai", default_visit_minutes=30)
    import_stays(
        session,
        officer,
        [
            stay(market, f0, hm(-10), hm(-8)),
            stay(market, f1, hm(-10), hm(-8, -30)),
            stay(market, f1_truc_bach, hm(-9), hm(-8)),
            stay(cafe, f1, hm(-4), hm(-3)),
            stay(cafe, f2, hm(-4), hm(-3)),
        ],
    )
    trace(session, officer, open_case(session, officer, f0))
    return Outbreak(f1, f1_truc_bach, f2)


def schedule(session: Session, order: QuarantineOrder) -> list[tuple[int, date, str, str | None]]:
    return [
        (t.day_number, t.due_on, t.status, t.result)
        for t in session.scalars(
            select(ScheduledTest)
            .where(ScheduledTest.order_id == order.id)
            .order_by(ScheduledTest.due_on, ScheduledTest.status)
        )
    ]


def local(day: date, hour: int = 10) -> datetime:
    """That day at `hour` in Hà Nội, in UTC."""
    return datetime(day.year, day.month, day.day, hour - 7, tzinfo=UTC)


def sampled(session: Session, person: Person, on: date, result: str = "negative") -> None:
    record_fact(
        session=session,
        actor=LAB,
        person_id=person.id,
        kind="test_result",
        occurred_at=local(on),
        value={"method": "pcr", "result": result},
        source=("testing", f"sample-{next(_results)}"),
    )


def facts(session: Session, person: Person, kind: str) -> int:
    return len(
        session.scalars(
            select(HealthFact).where(HealthFact.person_id == person.id, HealthFact.kind == kind)
        ).all()
    )


def test_f1_are_quarantined_and_f2_monitored_from_the_last_exposure_in_local_days(
    session: Session, outbreak: Outbreak
) -> None:
    order = order_of(session, outbreak.f1)
    assert (order.kind, order.place, order.unit_code, order.status) == (
        "quarantine",
        "home",
        PHUC_XA,
        "active",
    )
    assert (order.starts_at, order.ends_on, order.issued_at) == (hm(-8, -30), END, NOW)
    assert schedule(session, order) == [
        (1, date(2021, 9, 11), "due", None),
        (7, date(2021, 9, 17), "due", None),
        (14, END, "due", None),
    ]
    assert order_of(session, outbreak.f1_truc_bach).unit_code == TRUC_BACH
    monitoring = order_of(session, outbreak.f2)
    assert (monitoring.kind, monitoring.starts_at, monitoring.ends_on) == (
        "monitoring",
        hm(-3),
        END,
    )
    assert schedule(session, monitoring) == []
    assert facts(session, outbreak.f1, "quarantine_started") == 1
    assert facts(session, outbreak.f2, "quarantine_started") == 0


def test_a_later_exposure_moves_the_dates_and_the_tests(
    session: Session, officer: Actor, outbreak: Outbreak
) -> None:
    order = order_of(session, outbreak.f1)
    second_f0 = make_person(session, full_name="Bùi Văn Hai")
    noodles = make_venue(session, officer, "Phở Hàng Than", default_visit_minutes=30)
    # 17:00 to 18:00 in Hà Nội on 12 September, the second F0 opened the next morning.
    later = datetime(2021, 9, 13, 2, 0, tzinfo=UTC)
    met = (datetime(2021, 9, 12, 10, 0, tzinfo=UTC), datetime(2021, 9, 12, 11, 0, tzinfo=UTC))
    import_stays(
        session,
        officer,
        [stay(noodles, second_f0, *met), stay(noodles, outbreak.f1, *met)],
        now=later,
    )
    case, _ = service.open_case(
        session=session,
        actor=officer,
        person_id=second_f0.id,
        reference_time=later - timedelta(hours=1),
        now=later,
    )
    tracing.trace(session=session, actor=officer, case=case, now=later)

    session.refresh(order)
    assert [
        o.id
        for o in session.scalars(
            select(QuarantineOrder).where(QuarantineOrder.person_id == outbreak.f1.id)
        )
    ] == [order.id]
    assert (order.starts_at, order.ends_on, order.status) == (met[1], date(2021, 9, 26), "active")
    assert schedule(session, order) == [
        (1, date(2021, 9, 11), "cancelled", None),
        (1, date(2021, 9, 13), "due", None),
        (7, date(2021, 9, 17), "cancelled", None),
        (7, date(2021, 9, 19), "due", None),
        (14, END, "cancelled", None),
        (14, date(2021, 9, 26), "due", None),
    ]


def test_results_mark_the_scheduled_tests_done(session: Session, outbreak: Outbreak) -> None:
    sampled(session, outbreak.f1, date(2021, 9, 9))  # before the exposure: not a scheduled test
    sampled(session, outbreak.f1, date(2021, 9, 11))
    sampled(session, outbreak.f1, date(2021, 9, 16))  # a day early counts for day 7
    sampled(session, outbreak.f1_truc_bach, date(2021, 9, 17))  # day 1 was skipped
    people = [outbreak.f1.id, outbreak.f1_truc_bach.id]
    assert quarantine.apply_results(session, people) == 4
    assert schedule(session, order_of(session, outbreak.f1)) == [
        (1, date(2021, 9, 11), "done", "negative"),
        (7, date(2021, 9, 17), "done", "negative"),
        (14, END, "due", None),
    ]
    assert schedule(session, order_of(session, outbreak.f1_truc_bach)) == [
        (1, date(2021, 9, 11), "missed", None),
        (7, date(2021, 9, 17), "done", "negative"),
        (14, END, "due", None),
    ]
    assert quarantine.apply_results(session, people) == 0


def test_each_commune_sees_its_own_orders_due_today(
    session: Session, officer: Actor, outbreak: Outbreak
) -> None:
    _, phuc_xa = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, truc_bach = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    day_1 = date(2021, 9, 11)

    mine = quarantine.due_today(session=session, actor=phuc_xa, day=day_1)
    assert {d.person.id: d.order.kind for d in mine} == {
        outbreak.f1.id: "quarantine",
        outbreak.f2.id: "monitoring",
    }
    f1_due = next(d for d in mine if d.person.id == outbreak.f1.id)
    assert [(t.day_number, t.due_on) for t in f1_due.tests] == [(1, day_1)]
    assert (f1_due.checked_today, f1_due.release_due, f1_due.last_result) == (False, False, None)
    theirs = quarantine.due_today(session=session, actor=truc_bach, day=day_1)
    assert [d.person.id for d in theirs] == [outbreak.f1_truc_bach.id]
    district = quarantine.due_today(session=session, actor=officer, day=day_1)
    assert len(district) == 3

    f1_order = order_of(session, outbreak.f1)
    quarantine.record_check(
        session=session, actor=phuc_xa, order_id=f1_order.id, day=day_1, temperature=36.8
    )
    sampled(session, outbreak.f1, day_1)
    quarantine.apply_results(session, [outbreak.f1.id])
    [again] = [
        d
        for d in quarantine.due_today(session=session, actor=phuc_xa, day=day_1)
        if d.person.id == outbreak.f1.id
    ]
    assert (again.tests, again.checked_today, again.last_result) == ((), True, "negative")
    at_the_end = quarantine.due_today(session=session, actor=phuc_xa, day=END)
    assert all(d.release_due for d in at_the_end)


def test_a_health_check_is_recorded_once_a_day(
    session: Session, officer: Actor, outbreak: Outbreak
) -> None:
    _, phuc_xa = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, truc_bach = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    order = order_of(session, outbreak.f1)
    day = date(2021, 9, 12)
    check = {"session": session, "actor": phuc_xa, "order_id": order.id, "day": day}

    first, created = quarantine.record_check(**check, temperature=37.2, symptoms=["ho"])  # type: ignore[arg-type]
    assert created
    second, created = quarantine.record_check(**check, temperature=38.5)  # type: ignore[arg-type]
    assert (second.id, second.temperature, created) == (first.id, 37.2, False)
    for temperature in (29.9, 45.1):
        with pytest.raises(Invalid) as refused:
            quarantine.record_check(**{**check, "day": date(2021, 9, 13)}, temperature=temperature)  # type: ignore[arg-type]
        assert refused.value.field == "temperature"
    with pytest.raises(Invalid) as too_early:
        quarantine.record_check(**{**check, "day": date(2021, 9, 9)})  # type: ignore[arg-type]
    assert too_early.value.field == "day"
    with pytest.raises(NotFound):
        quarantine.record_check(**{**check, "actor": truc_bach})  # type: ignore[arg-type]


def test_release_needs_the_end_and_a_negative_last_test(
    session: Session, officer: Actor, outbreak: Outbreak
) -> None:
    order = order_of(session, outbreak.f1)
    release = {"session": session, "actor": officer, "order_id": order.id}
    with pytest.raises(Conflict, match="runs until 2021-09-24"):
        quarantine.release(**release, now=local(date(2021, 9, 23)))  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="no negative result"):
        quarantine.release(**release, now=local(END))  # type: ignore[arg-type]
    sampled(session, outbreak.f1, END)
    quarantine.apply_results(session, [outbreak.f1.id])

    released = quarantine.release(**release, now=local(END, 16))  # type: ignore[arg-type]
    assert (released.status, released.closed_at) == ("released", local(END, 16))
    assert facts(session, outbreak.f1, "quarantine_ended") == 1
    contact = session.scalars(select(Contact).where(Contact.person_id == outbreak.f1.id)).one()
    assert contact.status == "closed"
    with pytest.raises(Conflict, match="already released"):
        quarantine.release(**release, now=local(END, 17))  # type: ignore[arg-type]


def test_the_daily_job_releases_only_the_eligible(
    session: Session, officer: Actor, outbreak: Outbreak
) -> None:
    sampled(session, outbreak.f1, END)
    sampled(session, outbreak.f1_truc_bach, END, result="positive")
    quarantine.apply_results(session, [outbreak.f1.id, outbreak.f1_truc_bach.id])
    assert quarantine.release_due(session, officer, local(date(2021, 9, 23))) == 0

    assert quarantine.release_due(session, officer, local(END, 20)) == 2
    statuses = {
        person: order_of(session, person).status
        for person in (outbreak.f1, outbreak.f1_truc_bach, outbreak.f2)
    }
    assert statuses == {
        outbreak.f1: "released",
        outbreak.f1_truc_bach: "active",
        outbreak.f2: "ended",
    }
    assert facts(session, outbreak.f1, "quarantine_ended") == 1
    assert facts(session, outbreak.f1_truc_bach, "quarantine_ended") == 0
    assert quarantine.release_due(session, officer, local(END, 21)) == 0


def test_an_f2_found_again_as_an_f1_is_quarantined_from_then(
    session: Session, officer: Actor, outbreak: Outbreak
) -> None:
    """Monitoring does not confine: until the quarantine, the person kept meeting people."""
    monitored = order_of(session, outbreak.f2)
    assert (monitored.kind, monitored.issued_at) == ("monitoring", NOW)
    second_f0 = make_person(session, full_name="Bùi Văn Hai")
    met_later = make_person(session, full_name="Đinh Văn Đêm")
    noodles = make_venue(session, officer, "Phở Hàng Than", default_visit_minutes=30)
    upgraded_at = NOW + timedelta(days=2)
    exposed = NOW + timedelta(days=1, hours=12)
    import_stays(
        session,
        officer,
        [
            stay(noodles, second_f0, exposed, exposed + timedelta(hours=1)),
            stay(noodles, outbreak.f2, exposed, exposed + timedelta(hours=1)),
            # After the exposure, still only monitored, before the quarantine.
            stay(noodles, outbreak.f2, exposed + timedelta(hours=6), exposed + timedelta(hours=7)),
            stay(noodles, met_later, exposed + timedelta(hours=6), exposed + timedelta(hours=7)),
        ],
        now=upgraded_at,
    )
    case, _ = service.open_case(
        session=session,
        actor=officer,
        person_id=second_f0.id,
        reference_time=upgraded_at - timedelta(hours=1),
        now=upgraded_at,
    )
    tracing.trace(session=session, actor=officer, case=case, now=upgraded_at)

    session.refresh(monitored)
    assert (monitored.kind, monitored.issued_at, monitored.starts_at) == (
        "quarantine",
        upgraded_at,
        exposed + timedelta(hours=1),
    )
    [started] = session.scalars(
        select(HealthFact).where(
            HealthFact.person_id == outbreak.f2.id, HealthFact.kind == "quarantine_started"
        )
    ).all()
    assert started.occurred_at == upgraded_at
    degrees = {
        c.person_id: c.degree
        for c in session.scalars(select(Contact).where(Contact.case_id == case.id))
    }
    assert degrees == {outbreak.f2.id: 1, met_later.id: 2}
