"""Reactions to other domains' events."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth.actor import system_actor
from phongdich.credentials import passes
from phongdich.db import utcnow
from phongdich.errors import NotFound


@events.on("health.status_changed", name="credentials.revoke_outdated_passes")
def revoke_outdated_passes(session: Session, event: events.Event) -> None:
    """A pass showing a colour the person no longer has must stop working at once.

    The event names one person (`person_id`) or a batch (`person_ids`, from bulk imports).
    Idempotent: passes already revoked are left as they are, and a repeat finds none to revoke.
    """
    payload = event.payload
    named = payload.get("person_ids") or [payload["person_id"]]
    now = utcnow()
    for value in named:
        person_id = uuid.UUID(str(value))
        try:
            status = passes.current_status(session, person_id, now)
            passes.revoke_passes_of(
                session=session,
                actor=system_actor("events"),
                person_id=person_id,
                reason=f"status changed to {status.colour}",
                keep_colour=status.colour,
                now=now,
            )
        except NotFound:  # the person was removed meanwhile: nothing left to revoke
            continue
