"""Lockdowns: areas of units, streets and addresses, their residents, narrowing with its
history, lifting, and the count of lockdown points per unit."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.cases import lockdowns
from phongdich.cases.lockdowns import AreaInput
from phongdich.cases.models import Lockdown
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound
from phongdich.persons.models import Person
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    HOAN_KIEM,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    make_person,
    make_user,
)

SYSTEM = system_actor("tests")


@pytest.fixture
def district(session: Session) -> Actor:
    _, actor = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    return actor


@pytest.fixture
def street_people(session: Session) -> dict[str, Person]:
    """Residents of Ba Đình on three streets, and one who moved out to Hàng Bạc."""
    return {
        "hoe_nhai": make_person(session, permanent_address="Số 1 phố Hòe Nhai"),
        "hang_bot": make_person(session, permanent_address="Số 7 ngõ Hàng Bột"),
        "yen_phu": make_person(session, permanent_address="45 Yên Phụ"),
        "truc_bach": make_person(
            session, permanent_unit_code=TRUC_BACH, permanent_address="3 phố Trúc Bạch"
        ),
        "moved": make_person(
            session,
            permanent_address="Số 9 phố Hòe Nhai",
            temporary_unit_code=HANG_BAC,
            temporary_address="2 Hàng Bạc",
        ),
    }


def resident_ids(session: Session, actor: Actor, lockdown: Lockdown) -> set[uuid.UUID]:
    _, total, people = lockdowns.residents(session=session, actor=actor, code=lockdown.code)
    assert total == len(people)
    return {p.id for p in people}


def test_a_unit_area_holds_everyone_living_in_its_subtree(
    session: Session, district: Actor, street_people: dict[str, Person]
) -> None:
    lockdown = lockdowns.declare(
        session=session,
        actor=district,
        unit_code=BA_DINH,
        reason="ổ dịch Ba Đình",
        areas=[AreaInput("unit", BA_DINH)],
    )
    inside = resident_ids(session, district, lockdown)
    expected = {street_people[k].id for k in ("hoe_nhai", "hang_bot", "yen_phu", "truc_bach")}
    assert expected <= inside
    # Where someone lives now counts: the temporary address in Hàng Bạc is outside.
    assert street_people["moved"].id not in inside


def test_street_and_address_areas_match_the_folded_address(
    session: Session, district: Actor, street_people: dict[str, Person]
) -> None:
    lockdown = lockdowns.declare(
        session=session,
        actor=district,
        unit_code=BA_DINH,
        reason="hai phố có ca bệnh",
        areas=[
            AreaInput("street", PHUC_XA, "HOE NHAI"),  # no accents, other case: still the street
            AreaInput("address", TRUC_BACH, "3 phố Trúc Bạch"),
        ],
    )
    assert resident_ids(session, district, lockdown) == {
        street_people["hoe_nhai"].id,
        street_people["truc_bach"].id,
    }
    # A street named in one commune does not reach the same name in another.
    other = lockdowns.declare(
        session=session,
        actor=district,
        unit_code=BA_DINH,
        reason="phố Hòe Nhai bên Trúc Bạch",
        areas=[AreaInput("street", TRUC_BACH, "Hòe Nhai")],
    )
    assert resident_ids(session, district, other) == set()


def test_narrowing_keeps_every_step_and_shrinks_the_residents(
    session: Session, district: Actor, street_people: dict[str, Person]
) -> None:
    lockdown = lockdowns.declare(
        session=session,
        actor=district,
        unit_code=BA_DINH,
        reason="ổ dịch chợ Long Biên",
        areas=[AreaInput("unit", PHUC_XA), AreaInput("unit", TRUC_BACH)],
    )
    whole = resident_ids(session, district, lockdown)
    assert {p.id for k, p in street_people.items() if k != "moved"} <= whole
    phuc_xa = next(a for a in lockdowns.active_areas(session, lockdown) if a.unit_code == PHUC_XA)
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):  # the commune cannot touch its district's lockdown
        lockdowns.narrow(
            session=session, actor=commune, code=lockdown.code, remove=[phuc_xa.id], reason="x"
        )
    lockdowns.narrow(
        session=session,
        actor=district,
        code=lockdown.code,
        remove=[phuc_xa.id],
        add=[AreaInput("street", PHUC_XA, "Hòe Nhai"), AreaInput("street", PHUC_XA, "Hàng Bột")],
        reason="Phúc Xá: âm tính ngoài hai phố",
    )
    narrowed = resident_ids(session, district, lockdown)
    assert narrowed < whole
    assert {street_people[k].id for k in ("hoe_nhai", "hang_bot", "truc_bach")} <= narrowed
    assert street_people["yen_phu"].id not in narrowed
    assert sorted(
        (a.kind, a.unit_code, a.text) for a in lockdowns.active_areas(session, lockdown)
    ) == [("street", PHUC_XA, "Hàng Bột"), ("street", PHUC_XA, "Hòe Nhai"), ("unit", TRUC_BACH, "")]
    truc_bach = next(a for a in lockdowns.active_areas(session, lockdown) if a.kind == "unit")
    lockdowns.narrow(
        session=session,
        actor=district,
        code=lockdown.code,
        remove=[truc_bach.id],
        reason="Trúc Bạch âm tính",
    )
    assert resident_ids(session, district, lockdown) == {
        street_people["hoe_nhai"].id,
        street_people["hang_bot"].id,
    }
    history = lockdowns.changes(session, lockdown)
    assert [(c.action, c.reason, c.by) for c in history] == [
        ("declare", "ổ dịch chợ Long Biên", district.username),
        ("narrow", "Phúc Xá: âm tính ngoài hai phố", district.username),
        ("narrow", "Trúc Bạch âm tính", district.username),
    ]
    assert f"ended: unit {PHUC_XA}" in history[1].detail
    assert "added: street" in history[1].detail
    assert "Hàng Bột" in history[1].detail

    remaining = [a.id for a in lockdowns.active_areas(session, lockdown)]
    with pytest.raises(Invalid) as refused:
        lockdowns.narrow(
            session=session, actor=district, code=lockdown.code, remove=remaining, reason="hết"
        )
    assert refused.value.field == "remove"
    with pytest.raises(Invalid) as unknown:
        lockdowns.narrow(
            session=session, actor=district, code=lockdown.code, remove=[phuc_xa.id], reason="x"
        )
    assert unknown.value.field == "remove.0"


def test_lifting_ends_the_lockdown_once(session: Session, district: Actor) -> None:
    lockdown = lockdowns.declare(
        session=session,
        actor=district,
        unit_code=BA_DINH,
        reason="ổ dịch",
        areas=[AreaInput("unit", PHUC_XA)],
    )
    assert [x.code for x in lockdowns.list_lockdowns(session=session, actor=district)] == [
        lockdown.code
    ]
    lockdowns.lift(session=session, actor=district, code=lockdown.code, reason="28 ngày an toàn")
    assert lockdown.ends_at is not None
    assert lockdowns.list_lockdowns(session=session, actor=district) == []
    every = lockdowns.list_lockdowns(session=session, actor=district, active_only=False)
    assert [x.code for x in every] == [lockdown.code]
    assert [c.action for c in lockdowns.changes(session, lockdown)] == ["declare", "lift"]
    with pytest.raises(Conflict):
        lockdowns.lift(session=session, actor=district, code=lockdown.code, reason="again")
    with pytest.raises(Conflict):
        lockdowns.narrow(
            session=session,
            actor=district,
            code=lockdown.code,
            remove=[],
            add=[AreaInput("unit", TRUC_BACH)],
            reason="x",
        )


def test_points_roll_up_to_district_and_province(session: Session) -> None:
    lockdowns.declare(
        session=session,
        actor=SYSTEM,
        unit_code=BA_DINH,
        reason="ổ dịch Ba Đình",
        areas=[
            AreaInput("unit", PHUC_XA),
            AreaInput("street", PHUC_XA, "Hòe Nhai"),
            AreaInput("address", TRUC_BACH, "3 phố Trúc Bạch"),
        ],
    )
    lockdowns.declare(
        session=session,
        actor=SYSTEM,
        unit_code=HANG_BAC,
        reason="ổ dịch Hàng Bạc",
        areas=[AreaInput("unit", HANG_BAC)],
    )
    lifted = lockdowns.declare(
        session=session,
        actor=SYSTEM,
        unit_code=TAN_DINH,
        reason="đã gỡ",
        areas=[AreaInput("unit", TAN_DINH)],
    )
    lockdowns.lift(session=session, actor=SYSTEM, code=lifted.code, reason="hết")
    points = lockdowns.points_per_unit(session=session, actor=SYSTEM)
    assert {code: points.get(code, 0) for code in (PHUC_XA, TRUC_BACH, HANG_BAC, TAN_DINH)} == {
        PHUC_XA: 2,
        TRUC_BACH: 1,
        HANG_BAC: 1,
        TAN_DINH: 0,
    }
    assert (points[BA_DINH], points[HOAN_KIEM], points[HA_NOI]) == (3, 1, 4)
    assert "79" not in points
    _, commune = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert lockdowns.points_per_unit(session=session, actor=commune) == {
        HA_NOI: 1,
        BA_DINH: 1,
        TRUC_BACH: 1,
    }


def test_declaring_checks_rights_units_and_text(session: Session, district: Actor) -> None:
    def declare(unit: str, *areas: AreaInput, actor: Actor = district) -> Lockdown:
        return lockdowns.declare(
            session=session, actor=actor, unit_code=unit, reason="ổ dịch", areas=list(areas)
        )

    with pytest.raises(NotFound):
        declare(HOAN_KIEM, AreaInput("unit", HANG_BAC))
    with pytest.raises(NotFound):
        declare(BA_DINH, AreaInput("unit", HANG_BAC))
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(Invalid) as outside:
        declare(PHUC_XA, AreaInput("unit", BA_DINH), actor=district)
    assert outside.value.field == "areas.0.unit_code"
    with pytest.raises(Invalid) as short:
        declare(BA_DINH, AreaInput("unit", PHUC_XA), AreaInput("street", PHUC_XA, " a "))
    assert short.value.field == "areas.1.text"
    with pytest.raises(Invalid) as empty:
        declare(BA_DINH)
    assert empty.value.field == "areas"
    _, lab = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Forbidden):
        declare(PHUC_XA, AreaInput("unit", PHUC_XA), actor=lab)
    mine = declare(PHUC_XA, AreaInput("unit", PHUC_XA), actor=commune)
    _, neighbour = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    with pytest.raises(NotFound):
        lockdowns.residents(session=session, actor=neighbour, code=mine.code)
    assert lockdowns.get_lockdown(session=session, actor=district, code=mine.code.lower()) is mine
