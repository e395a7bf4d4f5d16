"""The checkpoint's daily report: figures from hand-made passages, local-day boundaries,
recomputing after late passages, the roll-up per commune, district and province, jurisdiction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.checkpoints import registry, reports, sync
from phongdich.checkpoints.models import Checkpoint, DailyReport
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.persons.models import Person
from tests.checkpoints.helpers import Gate, gate, officer
from tests.checkpoints.passages import NewPassage, record_passages
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    HCM,
    HOAN_KIEM,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    make_person,
    make_user,
)

__all__ = ["gate", "officer"]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
VACCINATED = "Fully vaccinated at least 14 days ago"
FROM_RED = "From a zone of level 3–4 without vaccination or a recent negative test"


def report_day() -> date:
    return reports.today() - timedelta(days=3)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL)


def document(person: Person) -> str:
    main = person.main_document
    assert main is not None
    return main.number


def crossing(at: datetime, person: Person | None = None, **values: Any) -> sync.StationPassage:
    """One passage as a station sends it; a person by their document, else unidentified."""
    if person is not None:
        values.setdefault("credential", "document")
        values.setdefault("document_number", document(person))
    else:
        values.setdefault("credential", "eu-dcc")
        values.setdefault("traveller", "J.D. 1980")
    return sync.StationPassage(id=uuid.uuid4(), at=at, **values)


def send(session: Session, gate: Gate, passages: Sequence[sync.StationPassage]) -> None:
    context = registry.station_for_token(session, gate.token)
    result = sync.receive(session=session, context=context, passages=passages)
    assert result.stored == len(passages)


def test_a_day_of_passages_is_aggregated(session: Session, gate: Gate) -> None:
    session.get_one(AdminUnit, HCM).zone_level = 4
    session.get_one(AdminUnit, PHUC_XA).zone_level = 1
    session.flush()
    day = report_day()
    car, truck, flagged_van = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a, b, c, d, e = (make_person(session) for _ in range(5))
    send(
        session,
        gate,
        [
            # A car from Tân Định (zone level 4 through Hồ Chí Minh City): two people.
            crossing(local(day, 8), a, group_id=car, vehicle_plate="51A-123.45",
                     origin_unit_code=TAN_DINH, reasons=[VACCINATED]),
            crossing(local(day, 8), b, group_id=car, vehicle_plate="51A-123.45",
                     origin_unit_code=TAN_DINH, verdict="conditional", reasons=[FROM_RED]),
            # A truck driver in the driver lane, tested positive, turned back.
            crossing(local(day, 9), c, group_id=truck, vehicle_plate="51C-99999", lane="driver",
                     origin_unit_code=HCM, verdict="turn_back", rapid_test="positive"),
            # A van flagged without a manifest; one occupant unidentified.
            crossing(local(day, 10), d, group_id=flagged_van, vehicle_plate="29B-11111",
                     origin_unit_code=PHUC_XA, flagged="no manifest", reasons=[VACCINATED]),
            crossing(local(day, 10), None, group_id=flagged_van, vehicle_plate="29B-11111",
                     origin_unit_code=PHUC_XA, flagged="no manifest"),
            # On foot, with a negative rapid test at the lane; the same person out again.
            crossing(local(day, 11), e, origin_unit_code=HANG_BAC, rapid_test="negative"),
            crossing(local(day, 12), e, direction="out"),
            # Someone twice in the same day counts once among people.
            crossing(local(day, 13), a, group_id=car, vehicle_plate="51A-123.45",
                     origin_unit_code=TAN_DINH, reasons=[VACCINATED]),
        ],
    )  # fmt: skip
    figures = reports.compute(session, gate.checkpoint, day)
    assert figures["passages"] == {"in": 7, "out": 1}
    assert figures["people"] == {"in": 6, "out": 1}
    assert figures["vehicles"] == {"in": 3, "out": 0}
    assert figures["verdicts"] == {"pass": 6, "conditional": 1, "turn_back": 1}
    assert figures["turned_back"] == {"passages": 1, "people": 1}
    assert figures["flagged"] == {"passages": 2, "groups": 1}
    assert figures["rapid_tests"] == {"taken": 2, "positive": 1, "negative": 1}
    assert figures["lanes"] == {"general": 7, "driver": 1}
    assert figures["unresolved"] == 1
    assert figures["zone_levels"] == {"1": 2, "2": 0, "3": 0, "4": 3, "unknown": 1}
    origins = {(o["province"], o["district"]): o for o in figures["origins"]}
    assert set(origins) == {(HCM, "760"), (HCM, None), (HA_NOI, BA_DINH), (HA_NOI, HOAN_KIEM)}
    assert origins[(HCM, "760")]["people"] == 2
    assert origins[(HCM, "760")]["passages"] == 3
    assert origins[(HCM, "760")]["zone_levels"]["4"] == 3
    assert origins[(HCM, None)]["turned_back"] == 1
    assert origins[(HA_NOI, BA_DINH)]["zone_levels"]["1"] == 2
    # Admitted: a, b, d, the unidentified one, e; from level 3–4: a and b; without protection:
    # b (conditional) and the unidentified one (e had a negative rapid test at the lane).
    assert figures["risk"] == {
        "admitted": 5,
        "from_high_zones": 2,
        "unprotected": 2,
        "positives": 1,
        "flagged_groups": 1,
    }
    assert reports.risk_level(figures) == reports.RISK_HIGH
    line = reports.risk_line(figures, "en")
    assert line.startswith("High risk: 5 people admitted")
    assert "2 from level 3–4 zones (40%)" in line
    assert "1 positive rapid tests" in line
    assert reports.risk_line(figures, "vi") != line


def test_record_passages_count_too(session: Session, gate: Gate) -> None:
    day = report_day()
    person = make_person(session)
    record_passages(
        session=session,
        actor=gate.officer,
        checkpoint=gate.checkpoint,
        passages=[NewPassage(uuid.uuid4(), local(day, 9), person.id, origin_unit_code=HCM)],
    )
    figures = reports.compute(session, gate.checkpoint, day)
    assert figures["people"]["in"] == 1
    assert figures["zone_levels"]["unknown"] == 1
    assert reports.risk_level(figures) == reports.RISK_ELEVATED  # one admitted, unprotected


def test_the_day_is_the_local_day(session: Session, gate: Gate) -> None:
    """23:30 belongs to the day, 00:30 to the next, though both are the same UTC date."""
    day = report_day()
    late, early = local(day, 23, 30), local(day + timedelta(days=1), 0, 30)
    assert late.astimezone(UTC).date() == early.astimezone(UTC).date()
    send(session, gate, [crossing(late, make_person(session)),
                         crossing(early, make_person(session))])  # fmt: skip
    assert reports.compute(session, gate.checkpoint, day)["passages"]["in"] == 1
    assert reports.compute(session, gate.checkpoint, day + timedelta(days=1))["passages"]["in"] == 1
    assert reports.day_bounds(day) == (
        local(day, 0).astimezone(UTC),
        local(day + timedelta(days=1), 0).astimezone(UTC),
    )
    assert reports.local_days_of_utc_dates([late.astimezone(UTC).date()]) == [
        day,
        day + timedelta(days=1),
    ]


def stored(session: Session, checkpoint: Checkpoint) -> list[DailyReport]:
    return list(
        session.scalars(
            select(DailyReport)
            .where(DailyReport.checkpoint_id == checkpoint.id)
            .execution_options(populate_existing=True)
        )
    )


def test_recomputing_after_late_passages_keeps_one_row(session: Session, gate: Gate) -> None:
    day = report_day()
    send(session, gate, [crossing(local(day, 9), make_person(session))])
    assert reports.recompute(session, gate.checkpoint.id, [day]) == 1
    assert reports.recompute(session, gate.checkpoint.id, [day]) == 1
    (row,) = stored(session, gate.checkpoint)
    assert (row.day, row.unit_code, row.figures["people"]["in"]) == (day, BA_DINH, 1)
    # The station was offline: the rest of the day's passages arrive later.
    send(session, gate, [crossing(local(day, 17), make_person(session)) for _ in range(3)])
    reports.recompute(session, gate.checkpoint.id, [day])
    (row,) = stored(session, gate.checkpoint)
    assert row.figures["people"]["in"] == 4
    # A future day is never stored.
    assert reports.recompute(session, gate.checkpoint.id, [reports.today() + timedelta(1)]) == 0


def test_the_worker_stores_every_active_checkpoint(session: Session, gate: Gate) -> None:
    day = report_day()
    send(session, gate, [crossing(local(day, 9), make_person(session))])
    assert reports.recompute_all(session, [day]) >= 1
    (row,) = stored(session, gate.checkpoint)
    assert row.figures["people"]["in"] == 1


@pytest.fixture
def three(session: Session, gate: Gate, officer: Actor, unique: str) -> dict[str, Checkpoint]:
    """The gate of Ba Đình (district), one of Phúc Xá (its commune), one of Hoàn Kiếm."""
    found = {"district": gate.checkpoint}
    found["commune"] = registry.register_checkpoint(
        session=session, actor=officer, code=f"PX-{unique}", name="Chốt Phúc Xá",
        unit_code=PHUC_XA,
    )  # fmt: skip
    found["other"] = registry.register_checkpoint(
        session=session, actor=system_actor("tests"), code=f"HK-{unique}",
        name="Chốt Hoàn Kiếm", unit_code=HOAN_KIEM,
    )  # fmt: skip
    day = report_day()
    for key, people in (("district", 2), ("commune", 3), ("other", 5)):
        record_passages(
            session=session,
            actor=system_actor("tests"),
            checkpoint=found[key],
            passages=[
                NewPassage(uuid.uuid4(), local(day, 10), make_person(session).id)
                for _ in range(people)
            ],
        )
    reports.recompute(session, found["district"].id, [day])  # one stored, two computed on read
    return found


def people_in(report: reports.UnitReport) -> dict[str, int]:
    return {item.checkpoint.code: item.figures["people"]["in"] for item in report.checkpoints}


def test_units_sum_their_checkpoints(session: Session, three: dict[str, Checkpoint]) -> None:
    day = report_day()
    system = system_actor("tests")
    ours = {c.id for c in three.values()}

    def report(unit: str) -> reports.UnitReport:
        found = reports.unit_report(session=session, actor=system, unit_code=unit, day=day)
        found.checkpoints = [i for i in found.checkpoints if i.checkpoint.id in ours]
        return found

    commune, district, province = report(PHUC_XA), report(BA_DINH), report(HA_NOI)
    assert people_in(commune) == {three["commune"].code: 3}
    assert people_in(district) == {three["district"].code: 2, three["commune"].code: 3}
    assert people_in(province) == {
        three["district"].code: 2,
        three["commune"].code: 3,
        three["other"].code: 5,
    }
    only_ours = reports.empty()
    for item in province.checkpoints:
        reports.add(only_ours, item.figures)
    assert only_ours["people"]["in"] == 10
    children = {c.unit.code: c for c in province.children}
    assert children[BA_DINH].figures["people"]["in"] >= 5
    assert children[HOAN_KIEM].figures["people"]["in"] >= 5
    assert [c.unit.code for c in district.children if c.unit.code == PHUC_XA] == [PHUC_XA]
    assert [u.code for u in commune.lineage] == [HA_NOI, BA_DINH, PHUC_XA]


def test_a_commune_official_sees_only_the_commune(
    session: Session, three: dict[str, Checkpoint]
) -> None:
    day = report_day()
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    found = reports.unit_report(session=session, actor=commune, unit_code=None, day=day)
    assert found.unit is not None
    assert found.unit.code == PHUC_XA
    assert three["commune"].code in people_in(found)
    assert three["district"].code not in people_in(found)
    assert [u.code for u in found.lineage] == [PHUC_XA]  # no link up out of the commune
    for outside in (BA_DINH, HA_NOI, TRUC_BACH, "99999"):
        with pytest.raises(NotFound):
            reports.unit_report(session=session, actor=commune, unit_code=outside, day=day)
    with pytest.raises(NotFound):
        reports.checkpoint_report(session=session, actor=commune, code=three["other"].code,
                                  day=day)  # fmt: skip
    item, _ = reports.checkpoint_report(
        session=session, actor=commune, code=three["commune"].code, day=day
    )
    assert item.figures["people"]["in"] == 3
    _, province = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    assert set(people_in(
        reports.unit_report(session=session, actor=province, unit_code=None, day=day)
    )) >= {c.code for c in three.values()}  # fmt: skip


def test_roles_without_the_permission_are_refused(session: Session) -> None:
    _, lab = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Forbidden):
        reports.unit_report(session=session, actor=lab, unit_code=None, day=report_day())


@pytest.mark.parametrize(
    "text", ["yesterday", "2021-13-01", "20210910", "2999-01-01", "1900-01-01"]
)
def test_bad_days_are_invalid(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        reports.parse_day(text)
    assert refused.value.field == "day"


def test_sums_merge_origins() -> None:
    first, second = reports.empty(), reports.empty()
    origin = {"province": HCM, "district": None, "passages": 2, "people": 2, "turned_back": 0,
              "zone_levels": {"1": 0, "2": 0, "3": 0, "4": 2, "unknown": 0}}  # fmt: skip
    first["origins"] = [origin]
    second["origins"] = [replace_origin(origin, passages=3, people=1)]
    total = reports.add(reports.add(reports.empty(), first), second)
    assert total["origins"] == [replace_origin(origin, passages=5, people=3, zone_levels=4)]
    assert first["origins"] == [origin]  # the parts are left as they were


def replace_origin(origin: dict[str, Any], **changes: int) -> dict[str, Any]:
    levels = dict(origin["zone_levels"])
    if "zone_levels" in changes:
        levels["4"] = changes.pop("zone_levels")
    return {**origin, **changes, "zone_levels": levels}
