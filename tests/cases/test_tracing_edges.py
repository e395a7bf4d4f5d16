"""Tracing at the edges of its rules, each stay imported from a paper log: exactly 15 minutes,
no check-out, the window's start and the isolation, the F0's own visits, F2 windows, two F0 at
one venue, and a person known under two merged records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.cases import clusters
from phongdich.cases.models import Case, Cluster, Contact
from phongdich.persons import dedupe
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from tests.cases.helpers import (
    Stay,
    contact_table,
    hm,
    import_stays,
    make_venue,
    open_case,
    stay,
    trace,
)
from tests.factories import BA_DINH, TRUC_BACH, make_person, make_user

WINDOW_START = hm(-48)
ISOLATION = hm(6)  # NOW: the case is opened, so isolated, then


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


@pytest.fixture
def market(session: Session, officer: Actor) -> Venue:
    return make_venue(session, officer, "Chợ Long Biên", default_visit_minutes=30)


@pytest.fixture
def cafe(session: Session, officer: Actor) -> Venue:
    return make_venue(session, officer, "Cà phê Giảng", unit=TRUC_BACH, default_visit_minutes=30)


def people(session: Session, *names: str) -> list[Person]:
    return [make_person(session, full_name=name) for name in names]


def test_overlaps_of_15_minutes_count_and_no_check_out_lasts_the_default(
    session: Session, officer: Actor, market: Venue, cafe: Venue
) -> None:
    f0, exactly, fourteen, unsigned, short, both, elsewhere = people(
        session,
        "Nguyễn Văn Khởi",
        "Trần Thị Đủ",
        "Lê Văn Thiếu",
        "Phạm Thị Quên",
        "Hoàng Văn Vội",
        "Vũ Thị Hai",
        "Đỗ Văn Khác",
    )
    import_stays(
        session,
        officer,
        [
            stay(market, f0, hm(-10), hm(-9)),
            stay(market, f0, hm(-4), hm(-3)),  # the F0's own second visit
            stay(market, exactly, hm(-9, -15), hm(-8)),
            stay(market, fourteen, hm(-9, -14), hm(-9)),
            stay(market, unsigned, hm(-10, -10)),  # no check-out: until -9:40
            stay(market, short, hm(-10, -20)),  # no check-out: until -9:50, 10 minutes
            stay(market, both, hm(-9, -30), hm(-3, -30)),
            stay(cafe, elsewhere, hm(-4), hm(-3)),  # the same hour at another venue
        ],
    )
    case = open_case(session, officer, f0)
    result = trace(session, officer, case)

    code = market.code
    assert contact_table(session, case) == {
        "Trần Thị Đủ": (1, [(code, "venue", hm(-9, -15), hm(-9), 15)]),
        "Phạm Thị Quên": (1, [(code, "venue", hm(-10), hm(-10, 20), 20)]),
        "Vũ Thị Hai": (
            1,
            [(code, "venue", hm(-9, -30), hm(-9), 30), (code, "venue", hm(-4), hm(-3, -30), 30)],
        ),
    }
    assert (result.new_contacts, result.new_exposures) == (3, 4)
    assert [c.person_id for c in result.contacts if c.person_id == f0.id] == []


def test_only_the_part_of_a_visit_inside_the_window_counts(
    session: Session, officer: Actor, market: Venue, cafe: Venue
) -> None:
    f0, before, straddles, partly, late, after = people(
        session,
        "Nguyễn Văn Khởi",
        "Trần Thị Sớm",
        "Lê Văn Vắt",
        "Phạm Thị Nửa",
        "Hoàng Văn Kịp",
        "Vũ Thị Muộn",
    )
    import_stays(
        session,
        officer,
        [
            # Around the window's start, 48 hours before the reference time.
            stay(market, f0, hm(-49), hm(-47, -30)),
            stay(market, before, hm(-49), hm(-48)),  # an hour with the F0, all before
            stay(market, straddles, hm(-49, 10), hm(-48, 20)),  # 20 minutes inside
            stay(market, partly, hm(-49, 20), hm(-48, 10)),  # 50 with the F0, 10 inside
            # Around the isolation (the case opened at ISOLATION).
            stay(cafe, f0, hm(5, 30), hm(6, 30)),
            stay(cafe, late, hm(5, 45), hm(6, 30)),  # 15 minutes before the isolation
            stay(cafe, after, hm(6), hm(6, 30)),  # all after it
        ],
    )
    case = open_case(session, officer, f0)
    assert case.reference_time - WINDOW_START == timedelta(hours=48)
    assert case.isolated_at == ISOLATION
    trace(session, officer, case)

    assert contact_table(session, case) == {
        "Lê Văn Vắt": (1, [(market.code, "venue", WINDOW_START, hm(-48, 20), 20)]),
        "Hoàng Văn Kịp": (1, [(cafe.code, "venue", hm(5, 45), ISOLATION, 15)]),
    }


def test_an_f2_window_runs_from_the_first_exposure_until_the_quarantine(
    session: Session, officer: Actor, market: Venue, cafe: Venue
) -> None:
    f0, f1, earlier, later, until, after = people(
        session,
        "Nguyễn Văn Khởi",
        "Trần Thị Lan",
        "Lê Văn Trước",
        "Phạm Thị Sau",
        "Hoàng Văn Vừa",
        "Vũ Thị Muộn",
    )
    import_stays(
        session,
        officer,
        [
            stay(market, f0, hm(-10), hm(-9)),
            stay(market, f1, hm(-9, -30), hm(-9)),  # first (and only) exposure from -9:30
            stay(cafe, f1, hm(-20), hm(-19)),
            stay(cafe, earlier, hm(-20), hm(-19)),  # before the F1 was exposed
            stay(cafe, f1, hm(-5), hm(-4)),
            stay(cafe, later, hm(-5, 15), hm(-4)),
            stay(cafe, f1, hm(5), hm(6, 30)),
            stay(cafe, until, hm(5, 30), hm(6, 30)),  # 30 minutes before the quarantine
            stay(cafe, after, hm(6), hm(6, 30)),  # after the quarantine was issued
        ],
    )
    case = open_case(session, officer, f0)
    trace(session, officer, case)

    assert contact_table(session, case) == {
        "Trần Thị Lan": (1, [(market.code, "venue", hm(-9, -30), hm(-9), 30)]),
        "Phạm Thị Sau": (2, [(cafe.code, "venue", hm(-5, 15), hm(-4), 45)]),
        "Hoàng Văn Vừa": (2, [(cafe.code, "venue", hm(5, 30), ISOLATION, 30)]),
    }
    by_person = {
        c.person_id: c for c in session.scalars(select(Contact).where(Contact.case_id == case.id))
    }
    assert by_person[later.id].via_contact_id == by_person[f1.id].id
    assert by_person[until.id].via_contact_id == by_person[f1.id].id


def test_two_f0_at_one_venue_are_one_cluster_not_each_others_contacts(
    session: Session, officer: Actor, market: Venue
) -> None:
    first, second, shared = people(session, "Nguyễn Văn Một", "Trần Thị Hai", "Lê Văn Chung")
    import_stays(
        session,
        officer,
        [
            stay(market, first, hm(-10), hm(-9)),
            stay(market, second, hm(-10), hm(-9)),
            stay(market, shared, hm(-9, -30), hm(-8)),
        ],
    )
    case_one = open_case(session, officer, first)
    case_two = open_case(session, officer, second, reference=hm(-2))
    traced_one = trace(session, officer, case_one)
    traced_two = trace(session, officer, case_two)

    assert [c.code for c in traced_one.linked_cases] == [case_two.code]
    assert [c.code for c in traced_two.linked_cases] == [case_one.code]
    exposure = [(market.code, "venue", hm(-9, -30), hm(-9), 30)]
    for case in (case_one, case_two):
        assert contact_table(session, case) == {"Lê Văn Chung": (1, exposure)}
    assert case_one.cluster_id is not None
    assert case_one.cluster_id == case_two.cluster_id
    cluster = session.get_one(Cluster, case_one.cluster_id)
    assert market.code in cluster.place

    graph = clusters.graph(session=session, actor=officer, code=cluster.code)
    kinds = {node["id"]: node["kind"] for node in graph["nodes"]}
    assert kinds == {str(first.id): "case", str(second.id): "case", str(shared.id): "F1"}
    assert graph["cases"] == 2
    assert sorted((e["from"], e["to"], e["overlap_minutes"]) for e in graph["edges"]) == sorted(
        [(str(first.id), str(shared.id), 30), (str(second.id), str(shared.id), 30)]
    )


def test_a_person_known_under_two_records_is_one_contact_after_the_merge(
    session: Session, officer: Actor, market: Venue, cafe: Venue
) -> None:
    f0, f0_again, survivor, duplicate, met_f0_again = people(
        session,
        "Nguyễn Văn Khởi",
        "Nguyễn Văn Khởi",
        "Trần Thị Gộp",
        "Trần Thị Gộp",
        "Lê Văn Gặp",
    )
    old_number = duplicate.documents[0].number
    import_stays(
        session,
        officer,
        [
            stay(market, f0, hm(-10), hm(-9)),
            stay(market, survivor, hm(-10), hm(-10, 20)),
            stay(market, duplicate, hm(-9, -30), hm(-9)),
            # The F0 also checked in under a second record of theirs.
            stay(cafe, f0_again, hm(-6), hm(-5)),
            stay(cafe, met_f0_again, hm(-6), hm(-5)),
        ],
    )
    dedupe.merge(session=session, actor=officer, survivor_id=survivor.id, duplicate_id=duplicate.id)
    dedupe.merge(session=session, actor=officer, survivor_id=f0.id, duplicate_id=f0_again.id)
    # A logbook typed up after the merge still names the old document: it is the survivor's.
    import_stays(session, officer, [stay(cafe, f0, hm(-3), hm(-2))])
    import_stays(session, officer, [Stay(cafe, old_number, "Trần Thị Gộp", hm(-3), hm(-2))])
    case = open_case(session, officer, f0)
    trace(session, officer, case)

    assert contact_table(session, case) == {
        "Trần Thị Gộp": (
            1,
            [
                (market.code, "venue", hm(-10), hm(-10, 20), 20),
                (market.code, "venue", hm(-9, -30), hm(-9), 30),
                (cafe.code, "venue", hm(-3), hm(-2), 60),
            ],
        ),
        "Lê Văn Gặp": (1, [(cafe.code, "venue", hm(-6), hm(-5), 60)]),
    }
    people_traced = set(
        session.scalars(select(Contact.person_id).where(Contact.case_id == case.id))
    )
    assert duplicate.id not in people_traced
    assert session.scalar(select(Case.id).where(Case.person_id == f0_again.id)) is None
