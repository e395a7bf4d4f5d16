"""The audit log of reads and changes of personal data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, in_jurisdiction
from phongdich.auth.models import AuditEntry
from phongdich.auth.roles import Permission
from phongdich.errors import Invalid
from phongdich.text import mask_digits


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    unit_code: str | None = None,
    detail: str = "",
) -> None:
    """Add an entry in the caller's transaction. Digit runs in `detail` are masked."""
    session.add(
        AuditEntry(
            user_id=actor.user_id,
            username=actor.username,
            role=actor.role.value,
            origin=mask_digits(actor.origin)[:100],
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            unit_code=unit_code,
            detail=mask_digits(detail)[:2000],
        )
    )


def list_entries(
    *,
    session: Session,
    actor: Actor,
    object_id: str | None = None,
    username: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[AuditEntry]:
    """Newest first, scoped: a province officer sees entries about their province's records."""
    actor.require(Permission.AUDIT_READ)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if not actor.nationwide:
        query = query.where(in_jurisdiction(actor, AuditEntry.unit_code))
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if username:
        query = query.where(AuditEntry.username == username)
    if since:
        if since.tzinfo is None:  # a time typed without a zone is local time
            from phongdich.config import get_settings

            since = since.replace(tzinfo=get_settings().tz)
        try:
            since = since.astimezone(UTC)
        except OverflowError:  # within hours of year 1 or 9999: no UTC time to compare with
            raise Invalid("since", "a time between the years 1 and 9999 in UTC") from None
        query = query.where(AuditEntry.at >= since)
    return session.scalars(query).all()


def record_many(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    objects: list[tuple[object, str | None]],
    *,
    detail: str = "",
) -> None:
    """One entry per (object id, unit) with a bulk insert: imports touch thousands of records."""
    if not objects:
        return
    from sqlalchemy import insert

    from phongdich.db import utcnow

    now = utcnow()
    session.execute(
        insert(AuditEntry),
        [
            {
                "at": now,
                "user_id": actor.user_id,
                "username": actor.username,
                "role": actor.role.value,
                "origin": mask_digits(actor.origin)[:100],
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "unit_code": unit_code,
                "detail": mask_digits(detail)[:2000],
            }
            for object_id, unit_code in objects
        ],
    )
