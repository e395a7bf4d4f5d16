"""A screening round end to end through the services: pooled and single tubes, a shipment with
a missing tube, results, Dorfman retests closing one by one, a correction with its history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.credentials.status import HealthFact, status_for
from phongdich.db import utcnow
from phongdich.events import OutboxEvent
from phongdich.testing import figures, labs, results, sampling
from phongdich.testing.models import RetestOrder, Sample
from tests.factories import make_person
from tests.testing.factories import (
    NO_TRUST,
    SYSTEM,
    enter,
    fill_tube,
    make_campaign,
    make_lab,
    op,
    ship,
)


def test_a_positive_pool_of_ten_becomes_ten_retests_that_close_one_by_one(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(10)]
    pool = fill_tube(session, campaign, site, people)
    code = ship(session, lab, [pool])
    shipment = labs.receive(session=session, actor=SYSTEM, code=code, barcodes=[pool])
    assert labs.view(session, shipment).missing == []
    assert enter(session, pool, "positive", ct=28.5)
    orders = session.scalars(select(RetestOrder).where(RetestOrder.status == "open")).all()
    assert sorted(o.person_id for o in orders) == sorted(p.id for p in people)
    # Nobody is positive yet: a pool result is nobody's own.
    assert session.scalar(select(func.count()).select_from(HealthFact)) == 0
    assert (
        figures.progress(session=session, actor=SYSTEM, code=campaign.code).total.waiting_retest
        == 10
    )
    singles = []
    for person in people:
        singles.append(fill_tube(session, campaign, site, [person], kind="single"))
    ship(session, lab, singles)
    for index, single in enumerate(singles):
        enter(
            session,
            single,
            "positive" if index == 3 else "negative",
            ct=30.0 if index == 3 else None,
        )
        still_open = session.scalar(
            select(func.count()).select_from(RetestOrder).where(RetestOrder.status != "done")
        )
        assert still_open == 9 - index
    positive = session.scalars(select(Sample).where(Sample.outcome == "positive")).all()
    assert [s.person_id for s in positive] == [people[3].id]
    events = session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == "result.positive")
    ).all()
    assert [e.payload["person_id"] for e in events] == [str(people[3].id)]
    assert status_for(session=session, person_id=people[0].id, at=utcnow()).colour == "yellow"


def test_a_person_cannot_be_in_two_tubes_of_one_round(session: Session) -> None:
    campaign, site = make_campaign(session)
    person = make_person(session)
    fill_tube(session, campaign, site, [person], close=False, barcode="TB-A0001")
    outcome = sampling.apply(
        session=session,
        actor=SYSTEM,
        ops=[
            op("open", "TB-A0002", campaign_code=campaign.code, site_code=site.code),
            op("add", "TB-A0002", text=person.documents[0].number),
        ],
        trust=NO_TRUST,
    )
    assert [r.status for r in outcome.results] == ["applied", "rejected"]
    assert "TB-A0001" in (outcome.results[1].reason or "")


def test_a_correction_keeps_the_history_and_withdraws_the_old_fact(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person = make_person(session)
    single = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [single])
    enter(session, single, "negative")
    value = results.reading("positive", 22.0, "pcr", utcnow(), utcnow())
    tube = results.correct_result(
        session=session, actor=SYSTEM, code=single, value=value, reason="sample mix-up on plate 4"
    )
    history = results.history(session, tube)
    assert [(h.revision, h.result, h.reason) for h in history] == [
        (1, "negative", ""),
        (2, "positive", "sample mix-up on plate 4"),
    ]
    facts = session.scalars(select(HealthFact).where(HealthFact.person_id == person.id)).all()
    assert [f.value["result"] for f in facts] == ["positive"]


def test_a_csv_imported_twice_adds_nothing_the_second_time(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(3)]
    ship(session, lab, tubes)
    when = utcnow().isoformat()
    text = (
        "tube_barcode,result,ct_value,method,tested_at\n"
        f"{tubes[0]},negative,,pcr,{when}\n"
        f"{tubes[1]},positive,25.1,RT-PCR,{when}\n"
        f"NOPE-1,negative,,pcr,{when}\n"
        f"{tubes[2]},maybe,,pcr,{when}\n"
    )
    first = results.import_results(session=session, actor=SYSTEM, lab_code=lab.code, source=text)
    assert (first.created, first.unchanged, [e.line for e in first.errors]) == (2, 0, [4, 5])
    second = results.import_results(session=session, actor=SYSTEM, lab_code=lab.code, source=text)
    assert (second.created, second.unchanged, len(second.errors)) == (0, 2, 2)
