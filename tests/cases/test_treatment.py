"""Treatment routing: by severity to the nearest facility of the tier with a free bed; home
care has no bed limit; occupancy counts open cases only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import service, treatment
from phongdich.cases.models import Case, TreatmentFacility
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from tests.cases.helpers import NOW, T0
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    HCM,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    make_person,
    make_user,
)

SYSTEM = system_actor("tests")


def facility(
    session: Session, code: str, tier: int, unit: str, beds: int | None = 10
) -> TreatmentFacility:
    return treatment.create_facility(
        session=session,
        actor=SYSTEM,
        code=code,
        name=f"Cơ sở {code}",
        tier=tier,
        unit_code=unit,
        beds=beds,
    )


def case_in(session: Session, unit: str = PHUC_XA, severity: str = "mild") -> Case:
    person = make_person(session, permanent_unit_code=unit)
    case, created = service.open_case(
        session=session,
        actor=SYSTEM,
        person_id=person.id,
        reference_time=T0,
        severity=severity,
        now=NOW,
    )
    assert created
    return case


def code_of(session: Session, case: Case) -> str | None:
    found = session.get(TreatmentFacility, case.facility_id) if case.facility_id else None
    return found.code if found else None


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("asymptomatic", "NHA"),
        ("mild", "TANG1"),
        ("moderate", "TANG2"),
        ("severe", "TANG3"),
        ("critical", "TANG3"),
    ],
)
def test_the_severity_chooses_the_tier(session: Session, severity: str, expected: str) -> None:
    for code, tier in (("NHA", 0), ("TANG1", 1), ("TANG2", 2), ("TANG3", 3)):
        facility(session, code, tier, BA_DINH, beds=None if tier == 0 else 10)
    assert code_of(session, case_in(session, severity=severity)) == expected


def test_the_nearest_facility_with_a_free_bed_is_chosen(session: Session) -> None:
    facility(session, "TINH", 1, HA_NOI)
    facility(session, "HOAN-KIEM", 1, HANG_BAC)
    facility(session, "QUAN", 1, BA_DINH)
    facility(session, "PHUONG", 1, PHUC_XA, beds=1)
    facility(session, "SAI-GON", 1, TAN_DINH, beds=100)
    # Same commune first.
    first = case_in(session)
    assert code_of(session, first) == "PHUONG"
    # Phúc Xá's only bed is taken: the district next.
    second = case_in(session)
    assert code_of(session, second) == "QUAN"
    # From Trúc Bạch, the district's facility is nearer than the province's.
    assert code_of(session, case_in(session, TRUC_BACH)) == "QUAN"
    # From Hàng Bạc, its own district (Hoàn Kiếm) comes first.
    assert code_of(session, case_in(session, HANG_BAC)) == "HOAN-KIEM"


def test_full_facilities_are_skipped_up_to_the_province(session: Session) -> None:
    facility(session, "PHUONG", 1, PHUC_XA, beds=1)
    facility(session, "QUAN", 1, BA_DINH, beds=1)
    facility(session, "TINH", 1, HA_NOI, beds=1)
    facility(session, "SAI-GON", 1, TAN_DINH, beds=100)
    cases = [case_in(session) for _ in range(4)]
    # Another province's facility is never chosen: the fourth case waits for a bed.
    assert [code_of(session, c) for c in cases] == ["PHUONG", "QUAN", "TINH", None]
    (event,) = [e for e in service.timeline(session=session, case=cases[3]) if e.kind == "routed"]
    assert "no facility" in event.detail
    assert code_of(session, case_in(session, TAN_DINH)) == "SAI-GON"


def test_home_care_has_no_bed_limit(session: Session) -> None:
    home = facility(session, "NHA-PX", 0, PHUC_XA, beds=5)
    assert home.beds is None
    cases = [case_in(session, severity="asymptomatic") for _ in range(6)]
    assert {code_of(session, c) for c in cases} == {"NHA-PX"}
    (row,) = treatment.occupancy(session=session, actor=SYSTEM)
    assert (row.occupied, row.free) == (6, None)


def test_occupancy_counts_open_cases_only(session: Session) -> None:
    facility(session, "PHUONG", 1, PHUC_XA, beds=3)
    facility(session, "SAI-GON", 2, TAN_DINH, beds=3)
    cases = [case_in(session) for _ in range(3)]
    service.update_case(
        session=session,
        actor=SYSTEM,
        code=cases[0].code,
        change=service.CaseChange(outcome="recovered"),
        now=NOW,
    )
    rows = {
        o.facility.code: (o.occupied, o.free)
        for o in treatment.occupancy(session=session, actor=SYSTEM)
    }
    assert rows == {"PHUONG": (2, 1), "SAI-GON": (0, 3)}
    # The freed bed is given to the next case.
    assert code_of(session, case_in(session)) == "PHUONG"
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert [o.facility.code for o in treatment.occupancy(session=session, actor=commune)] == [
        "PHUONG"
    ]


def test_a_case_keeps_its_bed_when_it_is_routed_again(session: Session) -> None:
    facility(session, "PHUONG", 1, PHUC_XA, beds=1)
    facility(session, "QUAN", 1, BA_DINH, beds=5)
    facility(session, "QUAN-T2", 2, BA_DINH, beds=5)
    case = case_in(session)
    assert code_of(session, case) == "PHUONG"
    assert treatment.route(session, case) is not None
    assert treatment.route(session, case).code == "PHUONG"  # type: ignore[union-attr]
    service.update_case(
        session=session,
        actor=SYSTEM,
        code=case.code,
        change=service.CaseChange(severity="moderate"),
        now=NOW,
    )
    assert code_of(session, case) == "QUAN-T2"
    occupied = {
        o.facility.code: o.occupied for o in treatment.occupancy(session=session, actor=SYSTEM)
    }
    assert occupied == {"PHUONG": 0, "QUAN": 0, "QUAN-T2": 1}


def test_creating_a_facility_is_checked(session: Session) -> None:
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, lab = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)

    def create(**more: object) -> TreatmentFacility:
        values: dict[str, object] = {
            "code": "TT-PX",
            "name": "Trạm y tế",
            "tier": 1,
            "unit_code": PHUC_XA,
            "beds": 5,
        }
        values.update(more)
        return treatment.create_facility(session=session, actor=commune, **values)  # type: ignore[arg-type]

    cases: list[tuple[dict[str, Any], str]] = [
        ({"tier": 4}, "tier"),
        ({"beds": None}, "beds"),
        ({"beds": -1}, "beds"),
        ({"name": "  "}, "name"),
    ]
    for more, field in cases:
        with pytest.raises(Invalid) as bad:
            create(**more)
        assert bad.value.field == field
    with pytest.raises(NotFound):
        create(unit_code=TRUC_BACH)
    with pytest.raises(NotFound):
        create(unit_code=HCM)
    with pytest.raises(Forbidden):
        treatment.create_facility(
            session=session, actor=lab, code="X", name="X", tier=1, unit_code=PHUC_XA, beds=1
        )
    assert create().code == "TT-PX"
    with pytest.raises(Conflict):
        create()
