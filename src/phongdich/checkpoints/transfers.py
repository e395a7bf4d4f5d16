"""Transfers between provinces: the sending unit files a manifest, the receiving unit decides.

The seed's 53 travellers from Quảng Ninh arrived at Hà Nội with no manifest: a station flags a
group whose people are not on an accepted one. A manifest lists registered people (by document
number, resolved in the sender's jurisdiction), one vehicle, the route and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.checkpoints.codes import TransferCode, transfer_code
from phongdich.checkpoints.models import Transfer, TransferMember
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.passes import subject_of
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.documents import parse_document
from phongdich.persons.models import Person
from phongdich.persons.service import UnitPaths, document_owner, visible
from phongdich.text import clean_name, new_code
from phongdich.text import plate as text_plate

STATUSES = ("pending", "accepted", "refused", "cancelled")
MAX_PEOPLE = 500
REASONS = ("continued_quarantine", "patient", "workers", "returning_residents", "other")
# How far ahead a manifest may be filed, and how long a station keeps looking for it.
MAX_AHEAD = timedelta(days=30)
STATION_WINDOW = timedelta(days=2)


def _unit(session: Session, code: str, field: str) -> AdminUnit:
    unit = session.get(AdminUnit, (code or "").strip())
    if unit is None:
        raise Invalid(field, "an admin unit code")
    return unit


def _province(unit: AdminUnit) -> str:
    return unit.path.split("/")[0]


def file_transfer(
    *,
    session: Session,
    actor: Actor,
    from_unit_code: str,
    to_unit_code: str,
    reason: str,
    travel_date: date,
    document_numbers: Sequence[str],
    route: str = "",
    vehicle_plate: str = "",
    vehicle_type: str = "",
    today: date | None = None,
) -> Transfer:
    """File a manifest for people of the sender's jurisdiction; it waits for the receiver."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    sender = _unit(session, from_unit_code, "from_unit_code")
    if not covers(actor, sender.path):
        raise NotFound("admin unit", from_unit_code)
    receiver = _unit(session, to_unit_code, "to_unit_code")
    if _province(receiver) == _province(sender):
        raise Invalid("to_unit_code", "a unit of another province")
    reason = clean_name(reason)
    if not reason:
        raise Invalid("reason", "required")
    if today is None:
        from phongdich.config import get_settings

        today = utcnow().astimezone(get_settings().tz).date()
    if not today - timedelta(days=1) <= travel_date <= today + MAX_AHEAD:
        raise Invalid("travel_date", f"from yesterday to {MAX_AHEAD.days} days ahead")
    if not document_numbers:
        raise Invalid("document_numbers", "at least one person")
    if len(document_numbers) > MAX_PEOPLE:
        raise Invalid("document_numbers", f"at most {MAX_PEOPLE} people")
    people: dict[uuid.UUID, Person] = {}
    paths = UnitPaths(session)  # one lookup per unit, not per person, for a full bus
    for index, number in enumerate(document_numbers):
        document = parse_document(number, field=f"document_numbers.{index}")
        person = document_owner(session, document)
        if person is None or not visible(session, actor, person, paths):
            raise Invalid(f"document_numbers.{index}", "not registered in your jurisdiction")
        people[person.id] = person
    transfer = Transfer(
        code="TR-" + new_code(8),
        from_unit_code=sender.code,
        to_unit_code=receiver.code,
        reason=reason[:200],
        route=clean_name(route)[:300],
        vehicle_plate=text_plate(vehicle_plate),
        vehicle_type=clean_name(vehicle_type)[:16],
        travel_date=travel_date,
        filed_by=actor.username[:64],
    )
    session.add(transfer)
    session.flush()
    session.add_all(TransferMember(transfer_id=transfer.id, person_id=pid) for pid in people)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "transfer",
        transfer.id,
        unit_code=sender.code,
        detail=f"{len(people)} people to {receiver.code}",
    )
    return transfer


def get_transfer(session: Session, actor: Actor, code: str, *, lock: bool = False) -> Transfer:
    """A manifest the actor sent or receives (others look not found); `lock` holds its row
    until the transaction ends, so an accept and a refuse at once cannot both win."""
    query = select(Transfer).where(
        Transfer.code == (code or "").strip().upper(),
        in_jurisdiction(actor, Transfer.from_unit_code, Transfer.to_unit_code),
    )
    transfer = session.scalar(query.with_for_update() if lock else query)
    if transfer is None:
        raise NotFound("transfer", code)
    return transfer


def decide(*, session: Session, actor: Actor, code: str, accept: bool, note: str = "") -> Transfer:
    """The receiving unit accepts or refuses; the same decision sent twice is one decision."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    transfer = get_transfer(session, actor, code, lock=True)
    session.refresh(transfer)  # the status as of the lock, not as first read
    receiver = session.get(AdminUnit, transfer.to_unit_code)
    if receiver is None or not covers(actor, receiver.path):
        raise NotFound("transfer", code)
    wanted = "accepted" if accept else "refused"
    if transfer.status == wanted:
        return transfer
    if transfer.status != "pending":
        raise Conflict(f"transfer {transfer.code} is already {transfer.status}")
    note = clean_name(note)
    if not accept and not note:
        raise Invalid("note", "say why the transfer is refused")
    transfer.status = wanted
    transfer.decided_by = actor.username[:64]
    transfer.decided_at = utcnow()
    transfer.decision_note = note[:300]
    session.flush()
    action = "accept" if accept else "refuse"
    audit.record(session, actor, action, "transfer", transfer.id, unit_code=receiver.code)
    return transfer


def cancel(*, session: Session, actor: Actor, code: str) -> Transfer:
    """The sending unit withdraws its manifest (pending or accepted); sent twice, one change."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    transfer = get_transfer(session, actor, code, lock=True)
    session.refresh(transfer)
    sender = session.get(AdminUnit, transfer.from_unit_code)
    if sender is None or not covers(actor, sender.path):
        raise NotFound("transfer", code)
    if transfer.status == "cancelled":
        return transfer
    if transfer.status == "refused":
        raise Conflict(f"transfer {transfer.code} was refused")
    transfer.status = "cancelled"
    session.flush()
    audit.record(session, actor, "cancel", "transfer", transfer.id, unit_code=sender.code)
    return transfer


def transfers_of(
    session: Session, actor: Actor, *, status: str | None = None, limit: int = 200
) -> list[Transfer]:
    """Manifests the actor's units sent or receive, newest travel date first."""
    query = select(Transfer).where(
        in_jurisdiction(actor, Transfer.from_unit_code, Transfer.to_unit_code)
    )
    if status:
        if status not in STATUSES:
            raise Invalid("status", "one of " + ", ".join(STATUSES))
        query = query.where(Transfer.status == status)
    return list(
        session.scalars(query.order_by(Transfer.travel_date.desc(), Transfer.code).limit(limit))
    )


def members_of(session: Session, transfer: Transfer) -> list[tuple[TransferMember, Person]]:
    rows = session.execute(
        select(TransferMember, Person)
        .join(Person, Person.id == TransferMember.person_id)
        .where(TransferMember.transfer_id == transfer.id)
        .order_by(Person.full_name)
    ).all()
    return [(member, person) for member, person in rows]


def code_text(session: Session, transfer: Transfer, keys: KeyRing) -> str:
    """The signed QR text the vehicle carries to the gate."""
    count = len(members_of(session, transfer))
    return transfer_code(
        TransferCode(
            transfer.id,
            transfer.code,
            transfer.from_unit_code,
            transfer.to_unit_code,
            transfer.travel_date,
            transfer.vehicle_plate,
            count,
        ),
        keys,
    )


def for_station(
    session: Session, province_code: str, today: date, keys: KeyRing
) -> list[dict[str, Any]]:
    """Manifests into or out of the province travelling around today, with each member's pass
    pseudonym (so the station can match a pass it reads) and no names."""
    province = session.get(AdminUnit, province_code)
    if province is None:
        return []
    inside = select(AdminUnit.code).where(
        or_(AdminUnit.path == province.path, AdminUnit.path.startswith(province.path + "/"))
    )
    transfers = list(
        session.scalars(
            select(Transfer).where(
                or_(Transfer.to_unit_code.in_(inside), Transfer.from_unit_code.in_(inside)),
                Transfer.travel_date >= today - STATION_WINDOW,
                Transfer.travel_date <= today + STATION_WINDOW,
            )
        )
    )
    members: dict[uuid.UUID, list[str]] = {t.id: [] for t in transfers}
    if transfers:
        for transfer_id, person_id in session.execute(
            select(TransferMember.transfer_id, TransferMember.person_id).where(
                TransferMember.transfer_id.in_(list(members))
            )
        ).all():
            members[transfer_id].append(subject_of(person_id, keys).hex())
    return [
        {
            "id": str(t.id),
            "code": t.code,
            "status": t.status,
            "from_unit": t.from_unit_code,
            "to_unit": t.to_unit_code,
            "travel_date": t.travel_date.isoformat(),
            "vehicle_plate": t.vehicle_plate,
            "reason": t.reason,
            "subjects": sorted(members[t.id]),
        }
        for t in transfers
    ]
