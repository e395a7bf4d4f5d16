"""Registering, approving, changing and finding venues."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Role
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.text import CODE_ALPHABET
from phongdich.venues import service
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from tests.factories import (
    BA_DINH,
    HANG_BAC,
    PHUC_XA,
    TAN_DINH,
    TRUC_BACH,
    audit_entries,
    make_user,
)


def venue_input(**overrides: object) -> VenueInput:
    values: dict[str, object] = {
        "name": "Chợ Hòe Nhai",
        "category": "market",
        "unit_code": PHUC_XA,
        "address": "Số 2 phố Hòe Nhai",
    }
    values.update(overrides)
    return VenueInput.model_validate(values)


def register(session: Session, actor: Actor, **overrides: object) -> Venue:
    return service.register_venue(session=session, actor=actor, data=venue_input(**overrides))


def test_an_officials_venue_is_approved_at_once(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    venue = register(session, officer, name="  Chợ   Hòe Nhai ")
    assert (venue.status, venue.name, venue.name_folded) == (
        service.APPROVED,
        "Chợ Hòe Nhai",
        "cho hoe nhai",
    )
    assert (venue.decided_by, venue.manager_id) == (officer.username, None)
    assert venue.decided_at is not None
    # The market's typical visit, since nobody gave one.
    assert venue.default_visit_minutes == 60
    assert len(venue.code) == 8
    assert set(venue.code) <= set(CODE_ALPHABET)
    [entry] = audit_entries(session, action="create", object_id=venue.id)
    assert (entry.object_type, entry.unit_code, entry.username) == (
        "venue",
        PHUC_XA,
        officer.username,
    )


def test_a_managers_venue_waits_for_an_official_of_its_unit(session: Session) -> None:
    user, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    # A chain's manager registers shops outside their own unit too.
    venue = register(
        session, manager, name="Cà phê Trúc Bạch", category="cafe", unit_code=TRUC_BACH
    )
    assert (venue.status, venue.manager_id, venue.decided_at, venue.decided_by) == (
        service.PENDING,
        user.id,
        None,
        "",
    )
    with pytest.raises(Forbidden):
        service.decide(session=session, actor=manager, code=venue.code, status=service.APPROVED)
    _, elsewhere = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        service.decide(session=session, actor=elsewhere, code=venue.code, status=service.APPROVED)
    assert venue.status == service.PENDING

    _, official = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    approved = service.decide(
        session=session, actor=official, code=venue.code.lower(), status=service.APPROVED
    )
    assert (approved.status, approved.decided_by) == (service.APPROVED, official.username)
    suspended = service.decide(
        session=session,
        actor=official,
        code=venue.code,
        status=service.SUSPENDED,
        reason="  no masks ",
    )
    assert suspended.status == service.SUSPENDED
    entries = audit_entries(session, object_id=venue.id)
    assert [e.action for e in entries] == ["create", "approved", "suspended"]
    assert entries[-1].detail == "no masks"
    # Deciding what is already decided changes nothing and records nothing.
    service.decide(session=session, actor=official, code=venue.code, status=service.SUSPENDED)
    assert len(audit_entries(session, object_id=venue.id)) == 3
    with pytest.raises(Invalid) as bad:
        service.decide(session=session, actor=official, code=venue.code, status=service.PENDING)
    assert bad.value.field == "status"


def test_a_district_officer_approves_the_venues_of_its_communes(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = register(session, manager)
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    decided = service.decide(
        session=session, actor=district, code=venue.code, status=service.APPROVED
    )
    assert decided.status == service.APPROVED


@pytest.mark.parametrize(
    ("role", "overrides", "field"),
    [
        (Role.COMMUNE_OFFICER, {"name": " X "}, "name"),
        (Role.COMMUNE_OFFICER, {"name": "가" * 150}, "name"),
        (Role.COMMUNE_OFFICER, {"category": "zoo"}, "category"),
        (Role.COMMUNE_OFFICER, {"unit_code": "99999"}, "unit_code"),
        (Role.COMMUNE_OFFICER, {"unit_code": ""}, "unit_code"),
        (Role.COMMUNE_OFFICER, {"unit_code": TAN_DINH}, "unit_code"),
        (Role.COMMUNE_OFFICER, {"code": "a!"}, "code"),
        (Role.VENUE_MANAGER, {"code": "MY-SHOP"}, "code"),
        (Role.VENUE_MANAGER, {"unit_code": "nope"}, "unit_code"),
    ],
)
def test_registration_names_the_bad_field(
    session: Session, role: Role, overrides: dict[str, object], field: str
) -> None:
    _, actor = make_user(session, role, PHUC_XA)
    with pytest.raises(Invalid) as bad:
        register(session, actor, **overrides)
    assert bad.value.field == field
    assert bad.value.reason


def test_officials_may_choose_the_code_once(session: Session) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    venue = register(
        session, officer, code=" hx-01 ", category="Residential gate", default_visit_minutes=20
    )
    assert (venue.code, venue.category, venue.default_visit_minutes) == (
        "HX-01",
        "residential_gate",
        20,
    )
    with pytest.raises(Invalid) as taken:
        register(session, officer, code="HX-01", name="Cổng khác")
    assert (taken.value.field, taken.value.reason) == ("code", "already taken by another venue")


def test_roles_without_the_permission_register_nothing(session: Session) -> None:
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    with pytest.raises(Forbidden):
        register(session, checkpoint)
    with pytest.raises(Forbidden):
        service.list_venues(session=session, actor=checkpoint)


def test_someone_elses_venue_looks_like_no_venue(session: Session) -> None:
    _, owner = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    _, other = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = register(session, owner)
    assert service.get_venue(session=session, actor=owner, code=venue.code).id == venue.id
    with pytest.raises(NotFound) as missing:
        service.get_venue(session=session, actor=other, code=venue.code)
    assert str(missing.value) == f"venue {venue.code} not found"
    with pytest.raises(NotFound):
        service.update_venue(
            session=session, actor=other, code=venue.code, data=venue_input(name="Mine now")
        )
    _, hcm = make_user(session, Role.COMMUNE_OFFICER, TAN_DINH)
    with pytest.raises(NotFound):
        service.get_venue(session=session, actor=hcm, code=venue.code)
    # The public check-in page finds any venue: its name is on the door anyway.
    found = service.find_venue(session=session, code=f" {venue.code.lower()} ")
    assert found is not None
    assert found.id == venue.id


def test_update_changes_only_what_differs_and_audits_it(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = register(session, manager)
    same = service.update_venue(session=session, actor=manager, code=venue.code, data=venue_input())
    assert same.id == venue.id
    assert audit_entries(session, action="update") == []
    changed = service.update_venue(
        session=session,
        actor=manager,
        code=venue.code,
        data=venue_input(name="Chợ Đồng Xuân", capacity=300),
    )
    assert (changed.name, changed.name_folded, changed.capacity, changed.code) == (
        "Chợ Đồng Xuân",
        "cho dong xuan",
        300,
        venue.code,
    )
    [entry] = audit_entries(session, action="update")
    assert entry.detail == "changed: capacity, name"
    # A code in the update is ignored, not an error: codes never change.
    kept = service.update_venue(
        session=session, actor=manager, code=venue.code, data=venue_input(code="OTHER-1")
    )
    assert kept.code == venue.code


def test_a_manager_moving_the_venue_sends_it_back_for_approval(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    venue = register(session, manager)
    service.decide(session=session, actor=officer, code=venue.code, status=service.APPROVED)
    renamed = service.update_venue(
        session=session, actor=manager, code=venue.code, data=venue_input(name="Chợ Hòe Nhai 2")
    )
    assert renamed.status == service.APPROVED
    moved = service.update_venue(
        session=session, actor=manager, code=venue.code, data=venue_input(unit_code=TRUC_BACH)
    )
    assert (moved.status, moved.decided_at, moved.unit_code) == (service.PENDING, None, TRUC_BACH)


def test_lists_by_jurisdiction_unit_status_category_and_name(session: Session) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    _, phuc_xa = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _, district = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    pending = register(session, manager, name="Quán Phở Đức", category="restaurant")
    market = register(session, phuc_xa, name="Chợ Hòe Nhai")
    cafe = register(
        session, district, name="Cà phê Hồ Trúc Bạch", category="cafe", unit_code=TRUC_BACH
    )
    register(session, system_actor("tests"), name="Chợ Hàng Bè", unit_code=HANG_BAC)

    def codes(actor: Actor, **filters: object) -> tuple[list[str], int]:
        items, total = service.list_venues(session=session, actor=actor, **filters)  # type: ignore[arg-type]
        return [v.code for v in items], total

    assert codes(manager) == ([pending.code], 1)
    assert codes(phuc_xa) == ([market.code, pending.code], 2)
    assert codes(district) == ([cafe.code, market.code, pending.code], 3)
    assert codes(district, unit_code=TRUC_BACH) == ([cafe.code], 1)
    assert codes(district, status=service.PENDING) == ([pending.code], 1)
    assert codes(district, category_key="Restaurant") == ([pending.code], 1)
    assert codes(district, query="pho duc") == ([pending.code], 1)
    assert codes(district, query=cafe.code.lower()) == ([cafe.code], 1)
    assert codes(district, query="100%_") == ([], 0)
    assert codes(district, limit=1, offset=1) == ([market.code], 3)
    for filters, field in (
        ({"status": "closed"}, "status"),
        ({"unit_code": "99999"}, "unit"),
        ({"category_key": "zoo"}, "category"),
    ):
        with pytest.raises(Invalid) as bad:
            codes(district, **filters)
        assert bad.value.field == field


def test_sign_up_makes_a_manager_and_a_pending_venue(session: Session) -> None:
    user, venue = service.sign_up(
        session=session,
        username="quan.pho.duc",
        password="correct horse",
        full_name="Lê Văn Đức",
        venue=venue_input(name="Quán Phở Đức", category="restaurant", code="IGNORED"),
    )
    assert (user.role, user.unit_code) == (Role.VENUE_MANAGER, PHUC_XA)
    assert (venue.status, venue.manager_id) == (service.PENDING, user.id)
    assert venue.code != "IGNORED"
    with pytest.raises(Invalid) as bad:
        service.sign_up(
            session=session,
            username="another.one",
            password="correct horse",
            full_name="Lê Văn Đức",
            venue=venue_input(category="zoo"),
        )
    assert bad.value.field == "category"
