"""Likely duplicates for an official to review, and merges that keep every linked record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from phongdich import events
from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.db import Base
from phongdich.domains import load_models
from phongdich.errors import Conflict, Invalid
from phongdich.persons.models import DuplicateDismissal, Person
from phongdich.persons.service import get_person
from phongdich.text import fold

_FILLABLE = (
    "birth_date",
    "birth_year",
    "sex",
    "phone",
    "permanent_unit_code",
    "permanent_address",
    "temporary_unit_code",
    "temporary_address",
    "household_id",
)


@dataclass(frozen=True)
class Duplicate:
    a: Person
    b: Person
    reason: str  # "phone" or "address"


def likely_duplicates(*, session: Session, actor: Actor, limit: int = 100) -> list[Duplicate]:
    """Same folded name and birth year (and date where both know it), plus same phone or address."""
    actor.require(Permission.PERSONS_MERGE)
    a, b = aliased(Person), aliased(Person)
    dismissed = exists().where(
        DuplicateDismissal.person_a_id == a.id, DuplicateDismissal.person_b_id == b.id
    )
    same_phone = and_(a.phone.is_not(None), a.phone == b.phone)
    same_address = and_(a.address_folded != "", a.address_folded == b.address_folded)
    rows = session.execute(
        select(a, b, same_phone)
        .join(b, and_(a.name_folded == b.name_folded, a.birth_year == b.birth_year, a.id < b.id))
        .where(
            a.merged_into_id.is_(None),
            b.merged_into_id.is_(None),
            or_(a.birth_date.is_(None), b.birth_date.is_(None), a.birth_date == b.birth_date),
            or_(same_phone, same_address),
            ~dismissed,
            in_jurisdiction(actor, a.permanent_unit_code, a.temporary_unit_code),
            in_jurisdiction(actor, b.permanent_unit_code, b.temporary_unit_code),
        )
        .order_by(a.name_folded, a.id, b.id)
        .limit(limit)
    ).all()
    return [Duplicate(pa, pb, "phone" if by_phone else "address") for pa, pb, by_phone in rows]


def _ordered(x: uuid.UUID, y: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (x, y) if str(x) < str(y) else (y, x)


def dismiss(*, session: Session, actor: Actor, person_a: uuid.UUID, person_b: uuid.UUID) -> None:
    """Two different people who only look alike: stop listing them together."""
    actor.require(Permission.PERSONS_MERGE)
    first = get_person(session=session, actor=actor, person_id=person_a, audit_read=False)
    second = get_person(session=session, actor=actor, person_id=person_b, audit_read=False)
    # Pairs are listed with a.id < b.id in the database's own ordering of UUIDs; store both ways.
    for x, y in ((first.id, second.id), (second.id, first.id)):
        if (
            session.scalar(
                select(DuplicateDismissal.id).where(
                    DuplicateDismissal.person_a_id == x, DuplicateDismissal.person_b_id == y
                )
            )
            is None
        ):
            session.add(
                DuplicateDismissal(person_a_id=x, person_b_id=y, dismissed_by=actor.username)
            )
    session.flush()
    audit.record(
        session,
        actor,
        "dismiss-duplicate",
        "person",
        first.id,
        unit_code=first.unit_code,
        detail=f"not the same as {second.id}",
    )


def merge(
    *, session: Session, actor: Actor, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> Person:
    """Move every record that points at the duplicate onto the survivor, in every domain's tables,
    fill the survivor's empty fields, and leave the duplicate as a tombstone."""
    actor.require(Permission.PERSONS_MERGE)
    if survivor_id == duplicate_id:
        raise Invalid("duplicate_id", "a person cannot be merged into themselves")
    survivor = get_person(session=session, actor=actor, person_id=survivor_id, audit_read=False)
    duplicate = get_person(session=session, actor=actor, person_id=duplicate_id, audit_read=False)
    if survivor.id == duplicate.id:
        raise Invalid("duplicate_id", "these records were already merged")
    for name in _FILLABLE:
        if getattr(survivor, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            setattr(survivor, name, getattr(duplicate, name))
    # The de-duplication key follows whatever address the survivor now has.
    survivor.address_folded = fold(survivor.temporary_address or survivor.permanent_address)
    session.execute(
        delete(DuplicateDismissal).where(
            or_(
                DuplicateDismissal.person_a_id == duplicate.id,
                DuplicateDismissal.person_b_id == duplicate.id,
            )
        )
    )
    session.flush()
    _resolve_clashes(session, duplicate.id, survivor.id)
    moved = _repoint_references(session, duplicate.id, survivor.id)
    # The bulk updates bypassed the identity map: reload whatever was already in memory.
    session.expire_all()
    duplicate.merged_into_id = survivor.id
    session.flush()
    audit.record(
        session,
        actor,
        "merge",
        "person",
        survivor.id,
        unit_code=survivor.unit_code,
        detail=f"absorbed {duplicate.id}; moved {moved} linked records",
    )
    events.record(
        session,
        "person.merged",
        {"survivor_id": str(survivor.id), "duplicate_id": str(duplicate.id)},
        unit_code=survivor.unit_code,
    )
    return survivor


# Higher domains whose tables allow one row per person and something (a contact per case, an
# open quarantine order) fold the duplicate's rows into the survivor's before the re-pointing.
MergeResolver = Callable[[Session, uuid.UUID, uuid.UUID], None]
_RESOLVERS: dict[str, MergeResolver] = {}


def resolver(name: str) -> Callable[[MergeResolver], MergeResolver]:
    """Register `func(session, duplicate_id, survivor_id)`, run inside every merge."""

    def decorator(func: MergeResolver) -> MergeResolver:
        _RESOLVERS[name] = func
        return func

    return decorator


def _resolve_clashes(session: Session, old: uuid.UUID, new: uuid.UUID) -> None:
    from phongdich.domains import load

    load("handlers")  # where higher domains register their resolvers
    for name in sorted(_RESOLVERS):
        _RESOLVERS[name](session, old, new)


def _repoint_references(session: Session, old: uuid.UUID, new: uuid.UUID) -> int:
    load_models()
    persons_id = Person.__table__.c.id
    moved = 0
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is not persons_id:
                continue
            column = fk.parent
            try:
                with session.begin_nested():
                    result = session.execute(
                        update(table).where(column == old).values({column.name: new})
                    )
            except IntegrityError:
                raise Conflict(
                    f"both people have clashing records in {table.name}; resolve those first"
                ) from None
            moved += getattr(result, "rowcount", 0) or 0
    return moved
