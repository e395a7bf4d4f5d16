"""Pairing tubes with people at a site: the queued steps, their replay, and the rules they keep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.config import Settings
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.credentials.passes import issue_pass
from phongdich.credentials.status import Status
from phongdich.credentials.verify import TrustStore
from phongdich.db import utcnow
from phongdich.errors import Forbidden, NotFound
from phongdich.persons.documents import parse_document
from phongdich.persons.service import document_owner
from phongdich.testing import campaigns, sampling
from phongdich.testing.models import RetestOrder, Sample, Tube
from phongdich.testing.schemas import BatchOutcome, SamplingOp
from tests.factories import PHUC_XA, TAN_DINH, TRUC_BACH, cccd, make_person, make_user
from tests.testing.factories import (
    NO_TRUST,
    SYSTEM,
    enter,
    fill_tube,
    make_campaign,
    make_lab,
    new_barcode,
    op,
    ship,
)


def run(
    session: Session,
    ops: list[SamplingOp],
    actor: Actor = SYSTEM,
    trust: TrustStore = NO_TRUST,
    now: datetime | None = None,
) -> BatchOutcome:
    return sampling.apply(session=session, actor=actor, ops=ops, trust=trust, now=now)


def statuses(outcome: BatchOutcome) -> list[str]:
    return [r.status for r in outcome.results]


def reasons(outcome: BatchOutcome) -> list[str | None]:
    return [r.reason for r in outcome.results if r.status == "rejected"]


def state(session: Session) -> list[tuple[Any, ...]]:
    """Every tube and sample, to compare before and after a replay."""
    session.expire_all()
    tubes = session.execute(
        select(Tube.barcode, Tube.status, Tube.kind, Tube.closed_at).order_by(Tube.barcode)
    ).all()
    samples = session.execute(
        select(Sample.id, Sample.tube_id, Sample.person_id, Sample.removed_at).order_by(Sample.id)
    ).all()
    return [tuple(t) for t in tubes] + [tuple(s) for s in samples]


def opening(
    code: str, campaign_code: str, site_code: str = "SITE1", **values: object
) -> SamplingOp:
    return op("open", code, campaign_code=campaign_code, site_code=site_code, **values)


def number(person: Any) -> str:
    return str(person.documents[0].number)


def test_a_queue_opens_fills_undoes_and_closes_and_a_replay_changes_nothing(
    session: Session,
) -> None:
    campaign, _ = make_campaign(session)
    people = [make_person(session) for _ in range(3)]
    code = new_barcode()
    added = [op("add", code, text=number(p)) for p in people]
    ops = [
        opening(code.lower(), campaign.code),
        *added,
        op("remove", code, sample_id=added[1].id),
        op("close", code),
    ]
    first = run(session, ops)
    assert statuses(first) == ["applied"] * 6
    assert (first.applied, first.duplicate, first.rejected) == (6, 0, 0)
    tube = first.results[-1].tube
    assert tube is not None
    assert (tube.barcode, tube.kind, tube.status, tube.capacity) == (code, "pool", "closed", 10)
    assert {m.sample_id for m in tube.members} == {added[0].id, added[2].id}
    assert [m.initials for m in tube.members] == ["NVA", "NVA"]
    before = state(session)
    again = run(session, ops)
    assert statuses(again) == ["duplicate"] * 6
    assert (again.applied, again.duplicate, again.rejected) == (0, 6, 0)
    assert state(session) == before
    # The removed person is free to go into another tube of the round.
    other = new_barcode()
    later = run(session, [opening(other, campaign.code), op("add", other, text=number(people[1]))])
    assert statuses(later) == ["applied", "applied"]


def test_a_replay_after_the_tube_was_shipped_is_still_a_duplicate(session: Session) -> None:
    campaign, _ = make_campaign(session)
    person = make_person(session)
    code = new_barcode()
    ops = [opening(code, campaign.code), op("add", code, text=number(person)), op("close", code)]
    assert statuses(run(session, ops)) == ["applied"] * 3
    ship(session, make_lab(session), [code])
    before = state(session)
    assert statuses(run(session, ops)) == ["duplicate"] * 3
    assert state(session) == before


def test_a_remove_after_the_close_is_refused(session: Session) -> None:
    campaign, _ = make_campaign(session)
    person = make_person(session)
    code = new_barcode()
    add = op("add", code, text=number(person))
    outcome = run(
        session,
        [
            opening(code, campaign.code),
            add,
            op("close", code),
            op("remove", code, sample_id=add.id),
        ],
    )
    assert statuses(outcome) == ["applied", "applied", "applied", "rejected"]
    assert outcome.results[3].field == "barcode"
    assert reasons(outcome) == ["this tube is closed: nobody can be taken out"]
    assert session.get_one(Sample, add.id).removed_at is None


def test_malformed_steps_are_rejected_one_by_one(session: Session) -> None:
    campaign, _ = make_campaign(session)
    person = make_person(session)
    code, empty = new_barcode(), new_barcode()
    outcome = run(
        session,
        [
            opening(code, campaign.code),
            op("open", empty, campaign_code=campaign.code),
            op("open", "X!", campaign_code=campaign.code, site_code="SITE1"),
            opening(empty, campaign.code),
            op("close", empty),
            op("add", code),
            op("add", code, text="hello there"),
            op("remove", code),
            op("remove", code, sample_id=uuid.uuid4()),
            op("add", "TB-NOPE-1", text=number(person)),
            opening(new_barcode(), "XN-NOPE"),
            opening(new_barcode(), campaign.code, site_code="NOPE"),
            op("add", code, text=number(person)),
        ],
    )
    assert statuses(outcome) == ["applied", "rejected", "rejected", "applied"] + [
        "rejected"
    ] * 8 + ["applied"]
    fields = [(r.field, r.reason) for r in outcome.results if r.status == "rejected"]
    assert fields[0] == ("site_code", "required to open a tube")
    assert fields[1][0] == "barcode"
    assert fields[2] == ("barcode", "an empty tube cannot be closed")
    assert fields[3][0] == "text"
    assert fields[4] == (
        "text",
        "not a personal pass, a CCCD card QR or a document number",
    )
    assert fields[5][0] == "sample_id"
    assert (fields[6][1] or "").startswith("sample ")
    assert fields[7][1] == "tube TB-NOPE-1 not found"
    assert fields[8][1] == "campaign XN-NOPE not found"
    assert fields[9][1] == "sampling site NOPE not found"


def test_pool_capacity_single_tubes_and_single_only_campaigns(session: Session) -> None:
    campaign, _ = make_campaign(session, max_pool_size=3)
    people = [make_person(session) for _ in range(5)]
    pool, single = new_barcode(), new_barcode()
    outcome = run(
        session,
        [
            opening(pool, campaign.code),
            *[op("add", pool, text=number(p)) for p in people[:4]],
            opening(single, campaign.code, kind="single"),
            op("add", single, text=number(people[3])),
            op("add", single, text=number(people[4])),
        ],
    )
    assert statuses(outcome) == ["applied"] * 4 + ["rejected", "applied", "applied", "rejected"]
    assert reasons(outcome) == [
        "the pool is full: close the tube",
        "a single tube holds one person: close it",
    ]
    assert outcome.results[3].tube is not None
    assert outcome.results[3].tube.capacity == 3
    only_single, _ = make_campaign(session, max_pool_size=1, site_code="SITE2")
    code = new_barcode()
    forced = run(session, [opening(code, only_single.code, site_code="SITE2", kind="pool")])
    assert forced.results[0].tube is not None
    assert (forced.results[0].tube.kind, forced.results[0].tube.capacity) == ("single", 1)


def test_one_tube_per_person_and_round(session: Session) -> None:
    campaign, _ = make_campaign(session)
    person = make_person(session)
    first, second = new_barcode(), new_barcode()
    outcome = run(
        session,
        [
            opening(first, campaign.code),
            op("add", first, text=number(person)),
            op("add", first, text=number(person)),
            opening(second, campaign.code),
            op("add", second, text=number(person)),
        ],
    )
    assert statuses(outcome) == ["applied", "applied", "rejected", "applied", "rejected"]
    assert reasons(outcome) == [
        "already in this tube",
        f"already sampled in this round (tube {first})",
    ]
    campaigns.next_round(session=session, actor=SYSTEM, code=campaign.code)
    third = new_barcode()
    again = run(session, [opening(third, campaign.code), op("add", third, text=number(person))])
    assert statuses(again) == ["applied", "applied"]
    tube = again.results[1].tube
    assert tube is not None
    assert tube.round == 2
    # A tube of round 1 left open is not reopened by the new round's queue.
    late = run(session, [opening(first, campaign.code)])
    assert statuses(late) == ["rejected"]


def test_a_closed_campaign_takes_no_new_tube(session: Session) -> None:
    campaign, _ = make_campaign(session)
    campaigns.close_campaign(session=session, actor=SYSTEM, code=campaign.code)
    outcome = run(session, [opening(new_barcode(), campaign.code)])
    assert reasons(outcome) == ["the campaign is closed"]


def test_a_barcode_in_use_at_another_site_is_refused(session: Session) -> None:
    campaign, _ = make_campaign(session)
    other, _ = make_campaign(session, site_code="SITE9")
    code = new_barcode()
    outcome = run(
        session, [opening(code, campaign.code), opening(code, other.code, site_code="SITE9")]
    )
    assert statuses(outcome) == ["applied", "rejected"]
    assert reasons(outcome) == [f"tube {code} is already in use"]


def test_a_retest_goes_into_a_single_tube_and_fulfils_the_order(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(2)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive", ct=31.0)
    campaigns.next_round(session=session, actor=SYSTEM, code=campaign.code)
    order = session.scalar(select(RetestOrder).where(RetestOrder.person_id == people[0].id))
    assert order is not None
    assert (order.status, order.reason) == ("open", "pool_positive")
    pooled, single = new_barcode(), new_barcode()
    add = op("add", single, text=number(people[0]))
    outcome = run(
        session,
        [
            opening(pooled, campaign.code),
            op("add", pooled, text=number(people[0])),
            opening(single, campaign.code, kind="single"),
            add,
        ],
    )
    assert statuses(outcome) == ["applied", "rejected", "applied", "applied"]
    assert reasons(outcome) == ["this person needs an individual retest: use a single tube"]
    tube = outcome.results[3].tube
    assert tube is not None
    assert tube.members[0].retest
    sample = session.get_one(Sample, add.id)
    # The retest belongs to the round of the pool it answers.
    assert (sample.retest_order_id, sample.round, sample.campaign_id) == (order.id, 1, campaign.id)
    session.refresh(order)
    assert order.status == "sampled"
    assert statuses(run(session, [op("remove", single, sample_id=add.id)])) == ["applied"]
    session.refresh(order)
    assert order.status == "open"
    retest = fill_tube(session, campaign, site, [people[0]], kind="single")
    ship(session, lab, [retest])
    enter(session, retest, "negative")
    session.refresh(order)
    assert (order.status, order.result) == ("done", "negative")
    assert order.closed_at is not None


def test_a_card_of_an_unknown_person_registers_them_where_the_site_is(session: Session) -> None:
    campaign, _ = make_campaign(session, unit=TRUC_BACH)
    code, card_number = new_barcode(), cccd(sex="female")
    card = f"{card_number}|012345678|Lê Thị Hoa|02041985|Nữ|Số 3 Quán Thánh, Ba Đình|01012022"
    outcome = run(session, [opening(code, campaign.code), op("add", code, text=card)])
    assert statuses(outcome) == ["applied", "applied"]
    person = document_owner(session, parse_document(card_number))
    assert person is not None
    assert (person.full_name, person.temporary_unit_code, person.birth_year) == (
        "Lê Thị Hoa",
        TRUC_BACH,
        1985,
    )
    tube = outcome.results[1].tube
    assert tube is not None
    assert (tube.members[0].initials, tube.members[0].colour) == ("LTH", "red")
    # The same card again is the same person, not a second registration.
    repeat = run(session, [op("add", code, text=card)])
    assert reasons(repeat) == ["already in this tube"]


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return keyring(settings)


def test_a_personal_pass_identifies_the_person(session: Session, keys: KeyRing) -> None:
    campaign, _ = make_campaign(session)
    person = make_person(session, full_name="Phạm Minh Đức")
    now = utcnow()
    status = Status(colour="yellow", reasons=("tests",), rules_version=1, evaluated_at=now)
    issued = issue_pass(
        session=session, actor=SYSTEM, person=person, status=status, now=now, keys=keys
    )
    trust = TrustStore.from_database(session, keys)
    code = new_barcode()
    add = op("add", code, text=issued.text)
    outcome = run(session, [opening(code, campaign.code), add], trust=trust, now=now)
    assert statuses(outcome) == ["applied", "applied"]
    assert session.get_one(Sample, add.id).person_id == person.id
    tube = outcome.results[1].tube
    assert tube is not None
    assert (tube.members[0].initials, tube.members[0].colour) == (
        "PMD",
        "yellow",
    )
    # Without the keys the pass cannot be trusted.
    other = new_barcode()
    refused = run(session, [opening(other, campaign.code), op("add", other, text=issued.text)])
    assert statuses(refused) == ["applied", "rejected"]


def test_staff_from_elsewhere_sample_only_where_they_are_assigned(session: Session) -> None:
    campaign, site = make_campaign(session)
    user, lent = make_user(session, Role.SAMPLING_STAFF, TAN_DINH)
    _, local = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    _, nearby = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    person = make_person(session)
    code = new_barcode()
    opened = run(session, [opening(code, campaign.code)], actor=local)
    assert statuses(opened) == ["applied"]
    assert opened.results[0].tube is not None
    for stranger in (lent, nearby):
        outcome = run(
            session,
            [opening(new_barcode(), campaign.code), op("add", code, text=number(person))],
            actor=stranger,
        )
        assert statuses(outcome) == ["rejected", "rejected"]
        assert "not found" in (outcome.results[0].reason or "")
        assert outcome.results[1].reason == f"tube {code} not found"
    campaigns.assign_staff(
        session=session,
        actor=SYSTEM,
        campaign_code=campaign.code,
        site_code=site.code,
        username=user.username,
    )
    assigned = run(session, [op("add", code, text=number(person))], actor=lent)
    assert statuses(assigned) == ["applied"]
    # The lent team opens tubes of its own there too.
    own = new_barcode()
    opened_there = run(
        session,
        [opening(own, campaign.code), op("add", own, text=number(make_person(session)))],
        actor=lent,
    )
    assert statuses(opened_there) == ["applied", "applied"]
    assert session.scalar(select(Tube.opened_by).where(Tube.barcode == code)) == local.username
    _, lab = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Forbidden):
        run(session, [op("close", code)], actor=lab)


def test_steps_dated_in_the_future_or_long_ago_are_refused(session: Session) -> None:
    campaign, _ = make_campaign(session)
    person = make_person(session)
    now = datetime(2021, 9, 10, 8, 0, tzinfo=UTC)
    code = new_barcode()
    outcome = run(
        session,
        [
            opening(code, campaign.code, at=now + timedelta(minutes=30)),
            opening(code, campaign.code, at=now - timedelta(days=15)),
            opening(code, campaign.code, at="2021-09-10T08:00:00"),
            opening(code, campaign.code, at=now - timedelta(days=13)),
            op("add", code, text=number(person), at=now + timedelta(minutes=5)),
        ],
        now=now,
    )
    assert statuses(outcome) == ["rejected", "rejected", "rejected", "applied", "applied"]
    assert [r.field for r in outcome.results[:3]] == ["at", "at", "at"]
    assert reasons(outcome) == [
        "in the future: check the device's clock",
        "more than 14 days ago",
        "a time with its zone",
    ]
    tube = session.scalar(select(Tube).where(Tube.barcode == code))
    assert tube is not None
    assert tube.opened_at == now - timedelta(days=13)


def test_who_may_look_at_a_tube(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session, unit=TRUC_BACH)
    code = fill_tube(session, campaign, site, [make_person(session)])
    _, sampler = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    _, official = make_user(session, Role.DISTRICT_OFFICER, "001")
    _, lab_staff = make_user(session, Role.LAB_TECHNICIAN, TRUC_BACH)
    _, far_official = make_user(session, Role.PROVINCE_OFFICER, "79")
    for actor in (sampler, official):
        assert sampling.get_tube(session=session, actor=actor, code=code).barcode == code
    for actor in (lab_staff, far_official):
        with pytest.raises(NotFound):
            sampling.get_tube(session=session, actor=actor, code=code)
    ship(session, lab, [code])
    assert sampling.get_tube(session=session, actor=lab_staff, code=code.lower()).barcode == code
    with pytest.raises(NotFound):
        sampling.get_tube(session=session, actor=far_official, code=code)


def test_retest_orders_are_listed_by_jurisdiction(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    here = make_person(session)
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    pool = fill_tube(session, campaign, site, [here, there])
    ship(session, lab, [pool])
    enter(session, pool, "positive")
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, sampler = make_user(session, Role.SAMPLING_STAFF, TRUC_BACH)
    _, lab_staff = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    mine = sampling.retest_orders(session=session, actor=commune)
    assert [(o.person_id, p.id, c.code, t.barcode) for o, p, c, t in mine] == [
        (here.id, here.id, campaign.code, pool)
    ]
    assert [o.person_id for o, *_ in sampling.retest_orders(session=session, actor=sampler)] == [
        there.id
    ]
    every = sampling.retest_orders(session=session, actor=SYSTEM)
    assert len(every) == 2
    assert sampling.retest_orders(session=session, actor=SYSTEM, unit_code=TRUC_BACH)[0][1] == there
    assert sampling.retest_orders(session=session, actor=SYSTEM, status="done") == []
    assert sampling.waiting_count(session, campaign) == 2
    with pytest.raises(Forbidden):
        sampling.retest_orders(session=session, actor=lab_staff)
    assert session.scalar(select(func.count()).select_from(RetestOrder)) == 2


def test_the_database_refuses_a_second_screening_swab_of_a_round(session: Session) -> None:
    """What two phones racing with the same person would leave: the unique index says no."""
    campaign, site = make_campaign(session)
    person = make_person(session)
    fill_tube(session, campaign, site, [person], close=False)
    other = fill_tube(session, campaign, site, [make_person(session)], close=False)
    tube = session.scalars(select(Tube).where(Tube.barcode == other)).one()
    first = session.scalars(select(Sample).where(Sample.person_id == person.id)).one()
    second = Sample(
        id=uuid.uuid4(),
        tube_id=tube.id,
        campaign_id=campaign.id,
        round=first.round,
        person_id=person.id,
        unit_code=first.unit_code,
        sampled_at=utcnow(),
        sampled_by="tests",
    )
    with session.begin_nested() as savepoint:
        session.add(second)
        with pytest.raises(IntegrityError):
            session.flush()
        savepoint.rollback()
