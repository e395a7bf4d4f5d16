from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, in_jurisdiction, system_actor, units_within
from phongdich.auth.roles import ROLE_PERMISSIONS, UNIT_BOUND_ROLES, Permission, Role
from phongdich.errors import Forbidden
from phongdich.persons.models import Person
from tests.factories import (
    BA_DINH,
    HA_NOI,
    HANG_BAC,
    HCM,
    HOAN_KIEM,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    load_tree,
    make_person,
    make_user,
)

ALL_COMMUNES = {PHUC_XA, TRUC_BACH, HANG_BAC, TAN_DINH}


def units_seen(session: Session, actor: Actor) -> set[str]:
    query = select(AdminUnit.code)
    condition = units_within(actor)
    if condition is not None:
        query = query.where(condition)
    return set(session.scalars(query))


@pytest.mark.parametrize(
    ("role", "unit", "expected"),
    [
        (Role.PROVINCE_OFFICER, HA_NOI, {HA_NOI, BA_DINH, HOAN_KIEM, PHUC_XA, TRUC_BACH, HANG_BAC}),
        (Role.DISTRICT_OFFICER, BA_DINH, {BA_DINH, PHUC_XA, TRUC_BACH}),
        (Role.COMMUNE_OFFICER, PHUC_XA, {PHUC_XA}),
        (Role.PROVINCE_OFFICER, HCM, {HCM, "760", TAN_DINH}),
    ],
)
def test_units_within_is_the_subtree(
    session: Session, role: Role, unit: str, expected: set[str]
) -> None:
    _, actor = make_user(session, role, unit)
    assert units_seen(session, actor) == expected


def test_a_code_prefix_is_not_a_subtree(session: Session) -> None:
    """Province 01's path is '01'; a unit whose path merely starts with '01' is not inside it."""
    load_tree(session, "code,name,level,parent_code\n010,Tỉnh Mười,1,\n01099,Xã Ngoài,2,010\n")
    _, officer = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    seen = units_seen(session, officer)
    assert "010" not in seen
    assert "01099" not in seen
    assert PHUC_XA in seen


def test_nationwide_actors_have_no_filter(session: Session) -> None:
    assert units_within(system_actor()) is None
    assert PHUC_XA in units_seen(session, system_actor())


def test_a_staff_actor_without_a_unit_sees_nothing(session: Session) -> None:
    lost = Actor(user_id=None, username="x", role=Role.COMMUNE_OFFICER)
    assert units_seen(session, lost) == set()


def test_in_jurisdiction_matches_either_residence(session: Session) -> None:
    living_here = make_person(session, permanent_unit_code=PHUC_XA)
    staying_here = make_person(session, permanent_unit_code=TAN_DINH, temporary_unit_code=PHUC_XA)
    elsewhere = make_person(session, permanent_unit_code=TRUC_BACH)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    seen = set(
        session.scalars(
            select(Person.id).where(
                in_jurisdiction(officer, Person.permanent_unit_code, Person.temporary_unit_code)
            )
        )
    )
    assert living_here.id in seen
    assert staying_here.id in seen
    assert elsewhere.id not in seen


def test_require_raises_forbidden_naming_the_permission(session: Session) -> None:
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    assert checkpoint.can(Permission.PERSONS_READ)
    assert not checkpoint.can(Permission.PERSONS_WRITE)
    checkpoint.require(Permission.PERSONS_READ)
    with pytest.raises(Forbidden) as exc:
        checkpoint.require(Permission.PERSONS_WRITE)
    assert exc.value.status_code == 403
    assert exc.value.message == "role checkpoint_officer may not persons.write"


def test_role_table() -> None:
    assert ROLE_PERMISSIONS[Role.NATIONAL_ADMIN] == frozenset(Permission)
    assert Permission.AUDIT_READ in ROLE_PERMISSIONS[Role.PROVINCE_OFFICER]
    assert Permission.AUDIT_READ not in ROLE_PERMISSIONS[Role.COMMUNE_OFFICER]
    assert ROLE_PERMISSIONS[Role.CITIZEN] == frozenset()
    assert set(Role) - UNIT_BOUND_ROLES == {Role.NATIONAL_ADMIN, Role.CITIZEN}


def test_system_actor_and_origin() -> None:
    actor = system_actor("cron")
    assert (actor.username, actor.role, actor.nationwide, actor.origin) == (
        "system",
        Role.NATIONAL_ADMIN,
        True,
        "cron",
    )
    moved = actor.with_origin("10.0.0.1 GET /x")
    assert moved.origin == "10.0.0.1 GET /x"
    assert (moved.username, moved.role) == (actor.username, actor.role)
