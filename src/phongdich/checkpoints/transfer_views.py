"""What each side of a transfer sees: the API and the pages show manifests through here.

The sending unit registered its people and may name them. The receiving unit decides on a
count, initials and birth years; it learns the names once it has accepted the people (it must
then follow their quarantine). Whoever is shown names is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers
from phongdich.auth.roles import Permission
from phongdich.checkpoints import transfers
from phongdich.checkpoints.models import Transfer, TransferMember
from phongdich.credentials.passes import initials_of
from phongdich.errors import Invalid

DIRECTIONS = ("incoming", "outgoing")


@dataclass(frozen=True)
class Sides:
    """Which end of the manifest the actor's jurisdiction holds (a province may hold both)."""

    sender: bool
    receiver: bool


@dataclass(frozen=True)
class MemberView:
    person_id: uuid.UUID | None  # None when the actor may not name them
    full_name: str | None
    initials: str
    birth_year: int | None
    arrived_at: datetime | None


@dataclass(frozen=True)
class TransferView:
    transfer: Transfer
    sides: Sides
    named: bool
    members: list[MemberView]

    @property
    def arrived(self) -> int:
        return sum(1 for m in self.members if m.arrived_at is not None)


@dataclass(frozen=True)
class TransferRow:
    """A manifest in a list: no people, only how many and how many arrived."""

    transfer: Transfer
    sides: Sides
    people: int
    arrived: int


def _paths(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.path).where(AdminUnit.code.in_(codes))
        ).all()
    )


def sides_of(actor: Actor, transfer: Transfer, paths: dict[str, str]) -> Sides:
    return Sides(
        sender=covers(actor, paths.get(transfer.from_unit_code)),
        receiver=covers(actor, paths.get(transfer.to_unit_code)),
    )


def may_name(actor: Actor, transfer: Transfer, sides: Sides) -> bool:
    if not actor.can(Permission.PERSONS_READ):
        return False
    return sides.sender or (sides.receiver and transfer.status == "accepted")


def view(session: Session, actor: Actor, code: str) -> TransferView:
    """One manifest as the actor may see it; reading names is audited."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    transfer = transfers.get_transfer(session, actor, code)
    paths = _paths(session, {transfer.from_unit_code, transfer.to_unit_code})
    sides = sides_of(actor, transfer, paths)
    named = may_name(actor, transfer, sides)
    members = [
        MemberView(
            person_id=person.id if named else None,
            full_name=person.full_name if named else None,
            initials=initials_of(person.full_name),
            birth_year=person.birth_year,
            arrived_at=member.arrived_at,
        )
        for member, person in transfers.members_of(session, transfer)
    ]
    if named and members:
        # One entry per person named, as for any read of personal data.
        audit.record_many(
            session,
            actor,
            "read",
            "person",
            [
                (m.person_id, transfer.to_unit_code if sides.receiver else transfer.from_unit_code)
                for m in members
            ],
            detail=f"member of transfer {transfer.code}",
        )
    return TransferView(transfer, sides, named, members)


def rows(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    direction: str | None = None,
    limit: int = 200,
) -> list[TransferRow]:
    """The actor's manifests with head counts; `direction` keeps the incoming or outgoing."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    if direction and direction not in DIRECTIONS:
        raise Invalid("direction", "incoming or outgoing")
    found = transfers.transfers_of(session, actor, status=status, limit=limit)
    if not found:
        return []
    paths = _paths(session, {t.from_unit_code for t in found} | {t.to_unit_code for t in found})
    counts = {
        transfer_id: (people, arrived)
        for transfer_id, people, arrived in session.execute(
            select(
                TransferMember.transfer_id,
                func.count(),
                func.count(TransferMember.arrived_at),
            )
            .where(TransferMember.transfer_id.in_([t.id for t in found]))
            .group_by(TransferMember.transfer_id)
        )
    }
    result = []
    for transfer in found:
        sides = sides_of(actor, transfer, paths)
        if direction == "incoming" and not sides.receiver:
            continue
        if direction == "outgoing" and not sides.sender:
            continue
        people, arrived = counts.get(transfer.id, (0, 0))
        result.append(TransferRow(transfer, sides, people, arrived))
    return result
