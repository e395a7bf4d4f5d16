from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.models import User
from phongdich.auth.roles import Role
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.events import OutboxEvent
from phongdich.persons import dedupe, service
from phongdich.persons.models import DuplicateDismissal, IdentityDocument, Person
from tests.factories import (
    PHUC_XA,
    TRUC_BACH,
    audit_entries,
    make_person,
    make_user,
)

ADMIN = system_actor("tests")


def pairs(session: Session, actor: Actor = ADMIN) -> set[tuple[frozenset[str], str]]:
    return {
        (
            frozenset({d.a.full_name + "#" + str(d.a.id), d.b.full_name + "#" + str(d.b.id)}),
            d.reason,
        )
        for d in dedupe.likely_duplicates(session=session, actor=actor)
    }


def pair(a: Person, b: Person, reason: str) -> tuple[frozenset[str], str]:
    return frozenset({f"{a.full_name}#{a.id}", f"{b.full_name}#{b.id}"}), reason


def test_same_name_birth_and_phone_or_address_are_listed(session: Session) -> None:
    a = make_person(session, full_name="Bùi Văn Lâm", phone="0900000001")
    b = make_person(session, full_name="BÙI VĂN LÂM", phone="0900000001", permanent_address="Khác")
    c = make_person(
        session, full_name="Bui Van Lam", phone=None, permanent_address="SỐ 1 PHỐ HÒE NHAI"
    )
    # Same name and phone but another birth date: a different person.
    make_person(session, full_name="Bùi Văn Lâm", phone="0900000001", born=date(1985, 4, 3))
    # Another name at the same address: not listed.
    make_person(session, full_name="Bùi Văn Lợi", phone="0900000001")
    found = pairs(session)
    assert found == {pair(a, b, "phone"), pair(a, c, "address")}


def test_a_year_only_record_pairs_with_a_full_date(session: Session) -> None:
    a = make_person(session, full_name="Tạ Văn Nam", phone="0900000002")
    b = make_person(session, full_name="Tạ Văn Nam", phone="0900000002", birth_date="1985")
    assert pairs(session) == {pair(a, b, "phone")}


def test_dismissed_pairs_stop_being_listed(session: Session) -> None:
    a = make_person(session, full_name="Lò Văn Sinh", phone="0900000003")
    b = make_person(session, full_name="Lò Văn Sinh", phone="0900000003")
    dedupe.dismiss(session=session, actor=ADMIN, person_a=b.id, person_b=a.id)
    dedupe.dismiss(session=session, actor=ADMIN, person_a=a.id, person_b=b.id)  # harmless twice
    assert pairs(session) == set()
    details = [e.detail for e in audit_entries(session, action="dismiss-duplicate")]
    assert details == [f"not the same as {a.id}", f"not the same as {b.id}"]
    stored = session.scalars(select(DuplicateDismissal.person_a_id)).all()
    assert sorted(map(str, stored)) == sorted([str(a.id), str(b.id)])


def test_duplicates_are_scoped_to_the_jurisdiction(session: Session) -> None:
    a = make_person(session, full_name="Mạc Văn Tài", phone="0900000004")
    make_person(session, full_name="Mạc Văn Tài", phone="0900000004", permanent_unit_code=TRUC_BACH)
    c = make_person(session, full_name="Mạc Văn Tài", phone="0900000004")
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert pairs(session, officer) == {pair(a, c, "phone")}
    assert len(pairs(session)) == 3


def test_listing_needs_the_merge_permission(session: Session) -> None:
    _, checkpoint = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    with pytest.raises(Forbidden):
        dedupe.likely_duplicates(session=session, actor=checkpoint)


def test_merge_moves_every_linked_record_and_leaves_a_tombstone(session: Session) -> None:
    survivor = make_person(session, full_name="Hà Văn Sơn", phone=None, permanent_address="")
    duplicate = make_person(
        session,
        full_name="Hà Văn Sơn",
        phone="0900000005",
        permanent_address="Ngõ 7",
        household_code="HH-7",
    )
    duplicate_number = duplicate.documents[0].number
    user, _ = make_user(session, Role.CITIZEN, person_id=duplicate.id)
    user_id = user.id
    merged = dedupe.merge(
        session=session, actor=ADMIN, survivor_id=survivor.id, duplicate_id=duplicate.id
    )
    assert merged.id == survivor.id
    # The duplicate's document now identifies the survivor.
    owner = session.scalar(
        select(IdentityDocument.person_id).where(IdentityDocument.number == duplicate_number)
    )
    assert owner == survivor.id
    assert len(merged.documents) == 2
    # A user linked to the duplicate now acts as the survivor.
    assert session.scalar(select(User.person_id).where(User.id == user_id)) == survivor.id
    # Empty fields were filled from the duplicate, and the dedupe key follows the address.
    assert (merged.phone, merged.permanent_address, merged.household_code) == (
        "0900000005",
        "Ngõ 7",
        "HH-7",
    )
    assert merged.address_folded == "ngo 7"
    tombstone = session.get(Person, duplicate.id)
    assert tombstone is not None
    assert tombstone.merged_into_id == survivor.id
    assert service.get_person(session=session, actor=ADMIN, person_id=duplicate.id) is merged
    people, _ = service.search_persons(session=session, actor=ADMIN, query="ha van son")
    assert [p.id for p in people] == [survivor.id]
    [entry] = audit_entries(session, action="merge")
    assert entry.object_id == str(survivor.id)
    assert entry.detail == f"absorbed {duplicate.id}; moved 2 linked records"
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "person.merged")).one()
    assert event.payload == {"survivor_id": str(survivor.id), "duplicate_id": str(duplicate.id)}
    assert event.unit_code == PHUC_XA


def test_merge_repoints_older_tombstones(session: Session) -> None:
    first = make_person(session, full_name="Kha Văn Một")
    second = make_person(session, full_name="Kha Văn Một")
    third = make_person(session, full_name="Kha Văn Một")
    dedupe.merge(session=session, actor=ADMIN, survivor_id=second.id, duplicate_id=first.id)
    dedupe.merge(session=session, actor=ADMIN, survivor_id=third.id, duplicate_id=second.id)
    assert session.get(Person, first.id).merged_into_id == third.id  # type: ignore[union-attr]
    assert service.get_person(session=session, actor=ADMIN, person_id=first.id).id == third.id


def test_merge_clears_dismissals_of_the_duplicate(session: Session) -> None:
    a = make_person(session, full_name="Ông Văn Ba", phone="0900000006")
    b = make_person(session, full_name="Ông Văn Ba", phone="0900000006")
    c = make_person(session, full_name="Ông Văn Ba", phone="0900000006")
    dedupe.dismiss(session=session, actor=ADMIN, person_a=a.id, person_b=b.id)
    dedupe.merge(session=session, actor=ADMIN, survivor_id=c.id, duplicate_id=b.id)
    assert pairs(session) == {pair(a, c, "phone")}


def test_merge_refuses_bad_pairs(session: Session) -> None:
    a = make_person(session)
    b = make_person(session)
    with pytest.raises(Invalid) as exc:
        dedupe.merge(session=session, actor=ADMIN, survivor_id=a.id, duplicate_id=a.id)
    assert exc.value.field == "duplicate_id"
    dedupe.merge(session=session, actor=ADMIN, survivor_id=a.id, duplicate_id=b.id)
    with pytest.raises(Invalid, match="already merged"):
        dedupe.merge(session=session, actor=ADMIN, survivor_id=a.id, duplicate_id=b.id)


def test_merge_is_jurisdiction_and_role_bound(session: Session) -> None:
    here = make_person(session)
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        dedupe.merge(session=session, actor=officer, survivor_id=here.id, duplicate_id=there.id)
    assert session.get(Person, there.id).merged_into_id is None  # type: ignore[union-attr]
    _, sampler = make_user(session, Role.SAMPLING_STAFF, PHUC_XA)
    with pytest.raises(Forbidden):
        dedupe.merge(session=session, actor=sampler, survivor_id=here.id, duplicate_id=there.id)
    with pytest.raises(Forbidden):
        dedupe.dismiss(session=session, actor=sampler, person_a=here.id, person_b=there.id)
