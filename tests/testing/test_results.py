"""Lab results resolved onto people (Dorfman's two stages), corrections, imports, and reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.credentials.status import HealthFact, status_for
from phongdich.db import utcnow
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from phongdich.events import OutboxEvent
from phongdich.persons.models import Person
from phongdich.testing import reports, resolution, results
from phongdich.testing.models import Lab, RetestOrder, Sample, Tube, TubeResult
from tests.factories import PHUC_XA, TRUC_BACH, audit_entries, make_person, make_user
from tests.testing.factories import SYSTEM, enter, fill_tube, make_campaign, make_lab, ship

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def facts(session: Session, person: Person | None = None) -> list[tuple[uuid.UUID, str]]:
    query = select(HealthFact).where(HealthFact.source_domain == "testing")
    if person is not None:
        query = query.where(HealthFact.person_id == person.id)
    return sorted((f.person_id, str(f.value["result"])) for f in session.scalars(query))


def orders(session: Session) -> list[RetestOrder]:
    return list(session.scalars(select(RetestOrder).order_by(RetestOrder.created_at)))


def outbox(session: Session, topic: str) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)))


def announced(session: Session) -> list[str]:
    """The people `health.status_changed` named: one per event, or a batch per event."""
    named: list[str] = []
    for event in outbox(session, "health.status_changed"):
        named += event.payload.get("person_ids") or [event.payload["person_id"]]
    return sorted(named)


def outcomes(session: Session, code: str) -> list[str | None]:
    session.expire_all()
    return [
        s.outcome
        for s in session.scalars(
            select(Sample).join(Tube, Tube.id == Sample.tube_id).where(Tube.barcode == code)
        )
    ]


def value(result: str, ct: float | str | None = None, **overrides: object) -> resolution.Reading:
    now = utcnow()
    tested = overrides.get("tested_at", now)
    assert isinstance(tested, datetime | str)
    method = overrides.get("method", "pcr")
    assert isinstance(method, str)
    return results.reading(result, ct, method, tested, now)


def test_a_negative_pool_makes_every_member_negative(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(4)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    assert enter(session, pool, "negative")
    assert outcomes(session, pool) == ["negative"] * 4
    assert facts(session) == sorted((p.id, "negative") for p in people)
    assert orders(session) == []
    assert outbox(session, "result.positive") == []
    assert announced(session) == sorted(str(p.id) for p in people)
    tube = session.scalar(select(Tube).where(Tube.barcode == pool))
    assert tube is not None
    assert (tube.status, tube.result, tube.result_revision) == ("resulted", "negative", 1)
    assert status_for(session=session, person_id=people[0].id, at=utcnow()).colour == "yellow"


def test_a_positive_pool_orders_a_retest_for_each_member_and_no_fact(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session), make_person(session, permanent_unit_code=TRUC_BACH)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive", ct=29.0)
    assert outcomes(session, pool) == ["pool_positive"] * 2
    assert facts(session) == []
    found = orders(session)
    assert sorted((o.person_id, o.unit_code) for o in found) == sorted(
        [(people[0].id, PHUC_XA), (people[1].id, TRUC_BACH)]
    )
    assert {(o.reason, o.status, o.source_revision, o.campaign_id) for o in found} == {
        ("pool_positive", "open", 1, campaign.id)
    }
    assert found[0].detail == {"barcode": pool}
    assert outbox(session, "result.positive") == []
    assert outbox(session, "health.status_changed") == []


def test_an_invalid_tube_orders_re_sampling(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(2)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "không xác định", ct=33.0)
    assert outcomes(session, pool) == ["invalid"] * 2
    assert [(o.reason, o.status) for o in orders(session)] == [("invalid", "open")] * 2
    assert facts(session) == []
    stored = session.scalar(select(TubeResult))
    assert stored is not None
    assert (stored.result, stored.ct_value) == ("invalid", None)


def test_a_single_positive_is_a_fact_and_one_event(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person = make_person(session)
    single = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [single])
    tested = utcnow()
    tube, created = results.enter_result(
        session=session,
        actor=SYSTEM,
        code=single,
        value=value("Dương tính", "18,25", tested_at=tested),
    )
    assert created
    assert tube.result == "positive"
    assert facts(session) == [(person.id, "positive")]
    (event,) = outbox(session, "result.positive")
    sample = session.scalar(select(Sample).where(Sample.person_id == person.id))
    assert sample is not None
    assert event.payload == {
        "person_id": str(person.id),
        "sample_id": str(sample.id),
        "tube_barcode": single,
        "method": "pcr",
        "ct_value": 18.25,
        "sampled_at": sample.sampled_at.isoformat(),
        "tested_at": tested.isoformat(),
        "revision": 1,
    }
    assert event.unit_code == PHUC_XA
    assert orders(session) == []
    assert announced(session) == [str(person.id)]


def test_a_retest_result_closes_its_order_and_an_invalid_one_reopens_it(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(2)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive")
    first = fill_tube(session, campaign, site, [people[0]], kind="single")
    second = fill_tube(session, campaign, site, [people[1]], kind="single")
    ship(session, lab, [first, second])
    enter(session, first, "invalid")
    enter(session, second, "positive", ct=25.0)
    by_person = {o.person_id: o for o in orders(session)}
    assert len(by_person) == 2  # an invalid retest reopens its order, it makes no new one
    assert (by_person[people[0].id].status, by_person[people[0].id].result) == ("open", None)
    assert (by_person[people[1].id].status, by_person[people[1].id].result) == ("done", "positive")
    assert by_person[people[1].id].closed_at is not None
    assert facts(session) == [(people[1].id, "positive")]
    third = fill_tube(session, campaign, site, [people[0]], kind="single")
    ship(session, lab, [third])
    enter(session, third, "negative")
    session.expire_all()
    assert (by_person[people[0].id].status, by_person[people[0].id].result) == ("done", "negative")
    assert [e.payload["person_id"] for e in outbox(session, "result.positive")] == [
        str(people[1].id)
    ]


def test_the_same_result_again_is_a_no_op_and_a_different_one_a_conflict(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    single = fill_tube(session, campaign, site, [make_person(session)], kind="single")
    ship(session, lab, [single])
    first = value("negative", tested_at=utcnow())
    assert results.enter_result(session=session, actor=SYSTEM, code=single, value=first)[1]
    again = resolution.Reading(first.result, first.ct_value, first.method, first.tested_at)
    tube, created = results.enter_result(session=session, actor=SYSTEM, code=single, value=again)
    assert not created
    assert tube.result_revision == 1
    with pytest.raises(Conflict):
        results.enter_result(
            session=session, actor=SYSTEM, code=single, value=value("positive", 30)
        )
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 1
    assert len(facts(session)) == 1


def lab_user(session: Session, lab: Lab) -> tuple[str, Actor]:
    user, actor = make_user(session, Role.LAB_TECHNICIAN, lab.unit_code)
    return user.username, actor


def test_a_correction_needs_a_reason_keeps_history_and_changes_the_colour(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person = make_person(session)
    single = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [single])
    first_name, first = lab_user(session, lab)
    second_name, second = lab_user(session, lab)
    with pytest.raises(Invalid) as caught:
        results.correct_result(
            session=session, actor=first, code=single, value=value("positive"), reason="x"
        )
    assert caught.value.field == "reason"
    with pytest.raises(Invalid) as caught:
        results.correct_result(
            session=session, actor=first, code=single, value=value("positive"), reason="plate swap"
        )
    assert caught.value.reason == "this tube has no result to correct"
    enter(session, single, "negative", actor=first)
    assert status_for(session=session, person_id=person.id, at=utcnow()).colour == "yellow"
    with pytest.raises(Invalid) as caught:
        results.correct_result(
            session=session, actor=second, code=single, value=value("negative"), reason="  "
        )
    assert caught.value.field == "reason"
    current = results.history(
        session,
        session.get_one(Tube, session.scalar(select(Tube.id).where(Tube.barcode == single))),
    )[0]
    with pytest.raises(Invalid) as caught:
        results.correct_result(
            session=session,
            actor=second,
            code=single,
            value=resolution.Reading("negative", None, "pcr", current.tested_at),
            reason="again",
        )
    assert caught.value.field == "result"
    tube = results.correct_result(
        session=session,
        actor=second,
        code=single,
        value=value("positive", 21.5),
        reason="  plate   4 was read   mirrored ",
    )
    assert (tube.result, tube.result_revision) == ("positive", 2)
    history = results.history(session, tube)
    assert [(h.revision, h.result, h.entered_by, h.reason) for h in history] == [
        (1, "negative", first_name, ""),
        (2, "positive", second_name, "plate 4 was read mirrored"),
    ]
    assert facts(session, person) == [(person.id, "positive")]
    assert status_for(session=session, person_id=person.id, at=utcnow()).colour == "red"
    assert [e.payload for e in outbox(session, "result.corrected")] == [
        {
            "tube_barcode": single,
            "revision": 2,
            "result": "positive",
            "person_ids": [str(person.id)],
        }
    ]
    assert [e.payload["revision"] for e in outbox(session, "result.positive")] == [2]
    assert len(audit_entries(session, action="withdraw")) == 1


def test_a_correction_replaces_open_orders_and_spares_those_already_sampled(
    session: Session,
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(3)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "positive")
    # One member has already been swabbed for the retest.
    fill_tube(session, campaign, site, [people[0]], kind="single", close=False)
    correct = value("invalid")
    results.correct_result(
        session=session, actor=SYSTEM, code=pool, value=correct, reason="control failed"
    )
    found = {(o.person_id, o.source_revision): o for o in orders(session)}
    assert {k: (o.reason, o.status) for k, o in found.items()} == {
        (people[0].id, 1): ("pool_positive", "sampled"),
        (people[1].id, 1): ("pool_positive", "cancelled"),
        (people[2].id, 1): ("pool_positive", "cancelled"),
        # The member already swabbed for a retest is not asked again: that retest answers.
        (people[1].id, 2): ("invalid", "open"),
        (people[2].id, 2): ("invalid", "open"),
    }
    assert found[(people[1].id, 1)].closed_at is not None
    results.correct_result(
        session=session, actor=SYSTEM, code=pool, value=value("negative"), reason="rerun was clean"
    )
    statuses = sorted(o.status for o in orders(session) if o.source_revision == 2)
    assert statuses == ["cancelled"] * 2
    assert facts(session) == sorted((p.id, "negative") for p in people)
    assert outcomes(session, pool) == ["negative"] * 3


def test_a_negative_pool_corrected_to_positive_withdraws_the_negatives(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    people = [make_person(session) for _ in range(2)]
    pool = fill_tube(session, campaign, site, people)
    ship(session, lab, [pool])
    enter(session, pool, "negative")
    before = len(announced(session))
    results.correct_result(
        session=session, actor=SYSTEM, code=pool, value=value("positive", 30), reason="mislabelled"
    )
    assert facts(session) == []
    assert sorted(o.person_id for o in orders(session)) == sorted(p.id for p in people)
    assert len(announced(session)) == before + 2
    assert status_for(session=session, person_id=people[0].id, at=utcnow()).colour == "red"


@pytest.mark.parametrize(
    ("result", "ct", "field"),
    [
        ("maybe", None, "result"),
        ("positive", 0, "ct_value"),
        ("positive", 50.5, "ct_value"),
        ("positive", "abc", "ct_value"),
        ("positive", "nan", "ct_value"),
        ("positive", float("inf"), "ct_value"),
    ],
)
def test_readings_are_checked(result: str, ct: float | str | None, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        value(result, ct)
    assert caught.value.field == field


def test_a_reading_needs_a_known_method_and_a_time_not_ahead() -> None:
    with pytest.raises(Invalid) as caught:
        value("negative", method="elisa")
    assert caught.value.field == "method"
    for when in (utcnow() + timedelta(hours=1), "yesterday", "9999-12-31T23:59:59-14:00"):
        with pytest.raises(Invalid) as caught:
            value("negative", tested_at=when)
        assert caught.value.field == "tested_at"
    assert value("negative", 30).ct_value == 30.0
    assert value("invalid", 30).ct_value is None


def test_a_result_is_entered_only_for_a_tube_sent_to_the_lab(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    other_lab = make_lab(session, unit=TRUC_BACH)
    still_open = fill_tube(session, campaign, site, [make_person(session)], close=False)
    elsewhere = fill_tube(session, campaign, site, [make_person(session)])
    mine = fill_tube(session, campaign, site, [make_person(session)])
    ship(session, other_lab, [elsewhere])
    ship(session, lab, [mine])
    _, technician = lab_user(session, lab)
    for code in (still_open, elsewhere, "TB-NOPE-9"):
        with pytest.raises(NotFound):
            results.enter_result(
                session=session, actor=technician, code=code, value=value("negative")
            )
    tube = session.scalar(select(Tube).where(Tube.barcode == mine))
    assert tube is not None
    with pytest.raises(Invalid) as caught:
        results.enter_result(
            session=session,
            actor=technician,
            code=mine,
            value=value("negative", tested_at=tube.opened_at - timedelta(minutes=1)),
        )
    assert (caught.value.field, caught.value.reason) == ("tested_at", "before the tube was sampled")
    pcr_only = Lab(
        code="PCR-ONLY", name="Lab PCR", unit_code=PHUC_XA, daily_capacity=10, methods=["pcr"]
    )
    session.add(pcr_only)
    session.flush()
    antigen = fill_tube(session, campaign, site, [make_person(session)])
    ship(session, pcr_only, [antigen])
    with pytest.raises(Invalid) as caught:
        results.enter_result(
            session=session, actor=SYSTEM, code=antigen, value=value("negative", method="rapid")
        )
    assert caught.value.field == "method"
    _, sampler = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    with pytest.raises(Forbidden):
        results.enter_result(session=session, actor=sampler, code=mine, value=value("negative"))
    with pytest.raises(Invalid) as caught:
        results.enter_result(session=session, actor=technician, code="x", value=value("negative"))
    assert caught.value.field == "barcode"


def csv_of(*lines: str) -> str:
    return "\n".join(["tube_barcode,result,ct_value,method,tested_at", *lines]) + "\n"


def test_an_import_reports_bad_rows_by_line_and_adds_nothing_the_second_time(
    session: Session,
) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    other_lab = make_lab(session, unit=TRUC_BACH)
    tubes = [fill_tube(session, campaign, site, [make_person(session)]) for _ in range(4)]
    still_open = fill_tube(session, campaign, site, [make_person(session)], close=False)
    ship(session, lab, tubes[:3])
    ship(session, other_lab, tubes[3:])
    now = utcnow()
    when = now.isoformat()
    early = (now - timedelta(days=2)).isoformat()
    text = csv_of(
        f"{tubes[0]},negative,,pcr,{when}",  # 2
        f"{tubes[1]},positive,24.5,RT-PCR,{when}",  # 3
        f"{tubes[0]},neg,,pcr,{when}",  # 4: the same again in the file
        f"{tubes[1]},negative,,pcr,{when}",  # 5: a different one
        f"{tubes[2]},positive,99,pcr,{when}",  # 6
        f"{tubes[2]},positive,,pcr,{early}",  # 7: before sampling
        f"{tubes[3]},negative,,pcr,{when}",  # 8: another lab's tube
        f"{still_open},negative,,pcr,{when}",  # 9
        f"x,negative,,pcr,{when}",  # 10
        f"{tubes[2]},negative,,pcr,not a time",  # 11
        "",
        f"{tubes[2]},negative,,elisa,{when}",  # 13
    )
    first = results.import_results(session=session, actor=SYSTEM, lab_code=lab.code, source=text)
    assert (first.created, first.unchanged) == (2, 1)
    assert [(e.line, e.field) for e in first.errors] == [
        (5, "tube_barcode"),
        (6, "ct_value"),
        (7, "tested_at"),
        (8, "tube_barcode"),
        (9, "tube_barcode"),
        (10, "tube_barcode"),
        (11, "tested_at"),
        (13, "method"),
    ]
    reasons = {e.line: e.reason for e in first.errors}
    assert reasons[5] == "a different result on line 3"
    assert reasons[7] == "before the tube was sampled"
    assert reasons[8] == reasons[9] == "this tube was not sent to this lab"
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 2
    second = results.import_results(
        session=session, actor=SYSTEM, lab_code=lab.code, source=text.encode()
    )
    assert (second.created, second.unchanged, len(second.errors)) == (0, 3, 8)
    assert session.scalar(select(func.count()).select_from(TubeResult)) == 2
    changed = csv_of(f"{tubes[0]},positive,20,pcr,{when}")
    third = results.import_results(session=session, actor=SYSTEM, lab_code=lab.code, source=changed)
    assert [(e.line, e.field) for e in third.errors] == [(2, "result")]
    assert (
        third.errors[0].reason
        == "the tube already has a different result: correct it with a reason"
    )
    imports = audit_entries(session, action="import")
    assert imports[-1].detail == "created=0 unchanged=0 rejected=1"


def test_an_import_reads_zone_less_times_as_local_time(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    code = fill_tube(session, campaign, site, [make_person(session)])
    ship(session, lab, [code])
    local = datetime.now(LOCAL).replace(tzinfo=None)
    report = results.import_results(
        session=session,
        actor=SYSTEM,
        lab_code=lab.code,
        source="tube_barcode,result,tested_at\n" + f"{code},negative,{local.isoformat()}\n",
    )
    assert (report.created, report.errors) == (1, [])
    stored = session.scalar(select(TubeResult.tested_at))
    assert stored == local.replace(tzinfo=LOCAL).astimezone(UTC)


def test_only_the_labs_staff_import(session: Session) -> None:
    lab = make_lab(session)
    _, elsewhere = make_user(session, Role.LAB_TECHNICIAN, TRUC_BACH)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        results.import_results(session=session, actor=elsewhere, lab_code=lab.code, source=csv_of())
    with pytest.raises(Forbidden):
        results.import_results(session=session, actor=officer, lab_code=lab.code, source=csv_of())
    with pytest.raises(Invalid) as caught:
        results.import_results(
            session=session, actor=SYSTEM, lab_code=lab.code, source="barcode\nX\n"
        )
    assert caught.value.field == "file"


# What results tell people


def test_a_citizen_reads_their_own_results_newest_first(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person, other = make_person(session), make_person(session)
    pool = fill_tube(session, campaign, site, [person, other])
    ship(session, lab, [pool])
    enter(session, pool, "positive")
    single = fill_tube(session, campaign, site, [person], kind="single")
    own = reports.own_results(session=session, person_id=person.id)
    assert [(r.barcode, r.pooled, r.outcome, r.retest) for r in own] == [
        (single, False, None, True),
        (pool, True, "pool_positive", False),
    ]
    assert own[1].campaign_name == campaign.name
    assert own[1].method == "pcr"
    with pytest.raises(NotFound):
        reports.own_results(session=session, person_id=uuid.uuid4())


def test_an_official_reads_a_persons_results_in_their_area_only(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person = make_person(session)
    code = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [code])
    enter(session, code, "negative")
    _, here = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, there = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    _, sampler = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    found = reports.person_results(session=session, actor=here, person_id=person.id)
    assert [(r.barcode, r.outcome) for r in found] == [(code, "negative")]
    reads = audit_entries(session, action="read", object_id=person.id)
    assert [(e.object_type, e.username) for e in reads] == [("test_results", here.username)]
    with pytest.raises(NotFound):
        reports.person_results(session=session, actor=there, person_id=person.id)
    with pytest.raises(Forbidden):
        reports.person_results(session=session, actor=sampler, person_id=person.id)


def test_new_positives_are_those_of_the_actors_area(session: Session) -> None:
    campaign, site = make_campaign(session, unit="001")
    lab = make_lab(session)
    here = make_person(session, full_name="Đỗ Văn Hùng")
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    negative = make_person(session)
    singles = [
        fill_tube(session, campaign, site, [p], kind="single") for p in (here, there, negative)
    ]
    ship(session, lab, singles)
    enter(session, singles[0], "positive", ct=20)
    enter(session, singles[1], "positive", ct=22)
    enter(session, singles[2], "negative")
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, district = make_user(session, Role.DISTRICT_OFFICER, "001")
    mine = reports.new_positives(session=session, actor=commune)
    assert [(p.person_id, p.full_name, p.barcode, p.campaign_code) for p in mine] == [
        (here.id, "Đỗ Văn Hùng", singles[0], campaign.code)
    ]
    assert sorted(
        p.person_id for p in reports.new_positives(session=session, actor=district)
    ) == sorted([here.id, there.id])
    assert [
        p.person_id
        for p in reports.new_positives(session=session, actor=district, unit_code=TRUC_BACH)
    ] == [there.id]
    later = utcnow() + timedelta(minutes=5)
    assert reports.new_positives(session=session, actor=district, since=later) == []
    assert [
        e.object_id for e in audit_entries(session, action="read") if e.username == commune.username
    ] == [str(here.id)]
    _, lab_staff = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Forbidden):
        reports.new_positives(session=session, actor=lab_staff)


def test_positivity_by_day_counts_individual_results(session: Session) -> None:
    campaign, site = make_campaign(session, unit="001")
    lab = make_lab(session)
    people = [make_person(session) for _ in range(3)]
    visitor = make_person(session, permanent_unit_code=TRUC_BACH)
    pool = fill_tube(session, campaign, site, people[:2])
    positive_pool = fill_tube(session, campaign, site, [people[2], visitor])
    ship(session, lab, [pool, positive_pool])
    enter(session, pool, "negative")
    enter(session, positive_pool, "positive")
    retest = fill_tube(session, campaign, site, [visitor], kind="single")
    ship(session, lab, [retest])
    enter(session, retest, "positive")
    today = utcnow().astimezone(LOCAL).date()
    days = reports.positivity_by_day(session=session, actor=SYSTEM)
    assert [(d.unit_code, d.day, d.tested, d.positive) for d in days] == [
        (PHUC_XA, today, 2, 0),
        (TRUC_BACH, today, 1, 1),
    ]
    assert [d.rate for d in days] == [0.0, 1.0]
    _, commune = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert [
        (d.unit_code, d.tested) for d in reports.positivity_by_day(session=session, actor=commune)
    ] == [(TRUC_BACH, 1)]
    assert (
        reports.positivity_by_day(session=session, actor=SYSTEM, now=utcnow() + timedelta(days=20))
        == []
    )


def test_a_correction_cannot_be_dated_before_the_sampling(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    single = fill_tube(session, campaign, site, [make_person(session)], kind="single")
    ship(session, lab, [single])
    enter(session, single, "negative")
    tube = session.scalar(select(Tube).where(Tube.barcode == single))
    assert tube is not None
    early = value("positive", 25, tested_at=tube.opened_at - timedelta(hours=1))
    with pytest.raises(Invalid) as caught:
        results.correct_result(
            session=session, actor=SYSTEM, code=single, value=early, reason="plate swap"
        )
    assert (caught.value.field, caught.value.reason) == ("tested_at", "before the tube was sampled")
    assert [h.revision for h in results.history(session, tube)] == [1]


def test_a_repeated_row_shares_the_fate_of_its_first(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    other_lab = make_lab(session, unit=TRUC_BACH)
    mine, theirs = (fill_tube(session, campaign, site, [make_person(session)]) for _ in range(2))
    ship(session, lab, [mine])
    ship(session, other_lab, [theirs])
    when = utcnow().isoformat()
    text = csv_of(
        f"{theirs},negative,,pcr,{when}",
        f"{mine},negative,,pcr,{when}",
        f"{theirs},negative,,pcr,{when}",
        f"{mine},negative,,pcr,{when}",
    )
    report = results.import_results(session=session, actor=SYSTEM, lab_code=lab.code, source=text)
    assert (report.created, report.unchanged) == (1, 1)
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "this tube was not sent to this lab"),
        (4, "this tube was not sent to this lab"),
    ]


def test_a_correction_of_the_ct_value_alone_changes_nobody_s_result(session: Session) -> None:
    campaign, site = make_campaign(session)
    lab = make_lab(session)
    person = make_person(session)
    single = fill_tube(session, campaign, site, [person], kind="single")
    ship(session, lab, [single])
    enter(session, single, "positive", ct=30.0)
    first = session.scalars(select(Tube.resulted_at).where(Tube.barcode == single)).one()
    results.correct_result(
        session=session, actor=SYSTEM, code=single, value=value("positive", 24), reason="re-read"
    )
    assert len(outbox(session, resolution.POSITIVE_TOPIC)) == 1
    assert len(outbox(session, resolution.CORRECTED_TOPIC)) == 1
    assert facts(session) == [(person.id, "positive")]
    tube = session.scalars(select(Tube).where(Tube.barcode == single)).one()
    # Turnaround is measured to the first result, not to the correction.
    assert (tube.result_revision, tube.resulted_at) == (2, first)
    # A later change of the result itself still takes back the facts of every revision.
    results.correct_result(
        session=session, actor=SYSTEM, code=single, value=value("negative"), reason="swapped"
    )
    assert facts(session) == [(person.id, "negative")]
