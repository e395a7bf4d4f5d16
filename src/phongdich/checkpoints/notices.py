"""Notices from the checkpoints to the units that must act: a driver's rapid test at the lane
(the destination always, the origin too on a positive) and a group flagged at the gate.

The station sends them with its passages (`sync.py` makes them); a unit's officials read them
here, in their jurisdiction, and mark them read. A notice names a person (the driver to call,
the traveller to follow up), so listing notices that name someone is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.checkpoints.models import Checkpoint, CheckpointNotice, Passage
from phongdich.db import utcnow
from phongdich.errors import Invalid, NotFound
from phongdich.persons.models import Person

KINDS = ("rapid_positive", "rapid_negative", "flagged")
MAX_LIMIT = 500


@dataclass(frozen=True)
class NoticeView:
    notice: CheckpointNotice
    checkpoint_code: str
    checkpoint_name: str
    passage_at: datetime
    vehicle_plate: str
    group_id: uuid.UUID | None
    traveller: str
    flagged: str
    full_name: str | None  # None when the notice names nobody or the actor may not read people
    phone: str | None


def notices_of(
    *,
    session: Session,
    actor: Actor,
    unread_only: bool = False,
    kind: str | None = None,
    limit: int = 200,
) -> list[NoticeView]:
    """The notices of the actor's units, unread first, newest first."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    if kind and kind not in KINDS:
        raise Invalid("kind", "one of " + ", ".join(KINDS))
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("limit", f"from 1 to {MAX_LIMIT}")
    query = (
        select(CheckpointNotice, Passage, Checkpoint, Person)
        .join(Passage, Passage.id == CheckpointNotice.passage_id)
        .join(Checkpoint, Checkpoint.id == Passage.checkpoint_id)
        .outerjoin(Person, Person.id == CheckpointNotice.person_id)
        .where(in_jurisdiction(actor, CheckpointNotice.unit_code))
    )
    if unread_only:
        query = query.where(CheckpointNotice.read_at.is_(None))
    if kind:
        query = query.where(CheckpointNotice.kind == kind)
    query = query.order_by(
        CheckpointNotice.read_at.is_not(None),
        CheckpointNotice.created_at.desc(),
        CheckpointNotice.id,
    ).limit(limit)
    named = actor.can(Permission.PERSONS_READ)
    views = []
    for notice, passage, checkpoint, person in session.execute(query):
        views.append(
            NoticeView(
                notice=notice,
                checkpoint_code=checkpoint.code,
                checkpoint_name=checkpoint.name,
                passage_at=passage.at,
                vehicle_plate=passage.vehicle_plate,
                group_id=passage.group_id,
                traveller=passage.traveller,
                flagged=passage.flagged,
                full_name=person.full_name if named and person is not None else None,
                phone=person.phone if named and person is not None else None,
            )
        )
    seen: list[tuple[object, str | None]] = [
        (v.notice.person_id, v.notice.unit_code) for v in views if v.full_name is not None
    ]
    if seen:
        audit.record_many(session, actor, "read", "person", seen, detail="checkpoint notice")
    return views


def unread_count(*, session: Session, actor: Actor) -> int:
    actor.require(Permission.CHECKPOINTS_MANAGE)
    return (
        session.scalar(
            select(func.count())
            .select_from(CheckpointNotice)
            .where(
                CheckpointNotice.read_at.is_(None),
                in_jurisdiction(actor, CheckpointNotice.unit_code),
            )
        )
        or 0
    )


def mark_read(
    *, session: Session, actor: Actor, notice_id: uuid.UUID, whole_group: bool = False
) -> CheckpointNotice:
    """Marked once: marking it again keeps who read it first and when. With `whole_group`,
    the same unit's unread notices of that kind for the rest of the vehicle go with it (a
    flagged bus is one thing to act on, not 44)."""
    actor.require(Permission.CHECKPOINTS_MANAGE)
    notice = session.scalar(
        select(CheckpointNotice).where(
            CheckpointNotice.id == notice_id,
            in_jurisdiction(actor, CheckpointNotice.unit_code),
        )
    )
    if notice is None:
        raise NotFound("notice", notice_id)
    targets = [notice] if notice.read_at is None else []
    if whole_group:
        group_id = session.scalar(select(Passage.group_id).where(Passage.id == notice.passage_id))
        if group_id is not None:
            targets += session.scalars(
                select(CheckpointNotice)
                .join(Passage, Passage.id == CheckpointNotice.passage_id)
                .where(
                    Passage.group_id == group_id,
                    CheckpointNotice.unit_code == notice.unit_code,
                    CheckpointNotice.kind == notice.kind,
                    CheckpointNotice.read_at.is_(None),
                    CheckpointNotice.id != notice.id,
                )
            ).all()
    if targets:
        now = utcnow()
        for target in targets:
            target.read_at = now
            target.read_by = actor.username[:64]
        session.flush()
        audit.record(
            session,
            actor,
            "mark_read",
            "checkpoint_notice",
            notice.id,
            unit_code=notice.unit_code,
            detail=f"{len(targets)} notices" if len(targets) > 1 else "",
        )
    return notice
