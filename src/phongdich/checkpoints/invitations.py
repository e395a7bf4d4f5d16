"""Invitations (giấy mời): a destination unit asks a named person to come, for some days.

The signed PDI1: code carries the person's pass pseudonym, not their name or document: a
station accepts it only next to that same person's pass, so an invitation cannot be lent. It
is not stored; the audit log keeps who issued which one for whom.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers
from phongdich.auth.roles import Permission
from phongdich.checkpoints import codes
from phongdich.config import get_settings
from phongdich.credentials import passes
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.verify import PassKey, TrustStore
from phongdich.db import utcnow
from phongdich.errors import Invalid, NotFound
from phongdich.persons.documents import parse_document
from phongdich.persons.service import document_owner
from phongdich.text import clean_name

# An invitation is for a visit (an expert, a relative's funeral), not a residence permit.
MAX_DAYS = 31


@dataclass(frozen=True)
class IssuedInvitation:
    text: str  # the signed PDI1: code
    code: codes.InvitationCode


def issue(
    *,
    session: Session,
    actor: Actor,
    document_number: str,
    unit_code: str,
    valid_from: date,
    valid_until: date,
    reason: str,
    keys: KeyRing,
    today: date | None = None,
) -> IssuedInvitation:
    """Sign an invitation of one of the actor's units for the person holding the document.

    The person may live anywhere (they are coming from elsewhere): the answer names only
    their initials, and the lookup is audited as a read of that person.
    """
    actor.require(Permission.CHECKPOINTS_MANAGE)
    unit = session.get(AdminUnit, (unit_code or "").strip()[:16])
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", unit_code[:16])
    today = today or utcnow().astimezone(get_settings().tz).date()
    if valid_until < valid_from:
        raise Invalid("valid_until", "on or after valid_from")
    if valid_until < today:
        raise Invalid("valid_until", "today or later")
    if (valid_until - valid_from).days >= MAX_DAYS:
        raise Invalid("valid_until", f"at most {MAX_DAYS} days after valid_from")
    cleaned = clean_name(reason)
    if not cleaned:
        raise Invalid("reason", "required")
    if len(cleaned) > 200:
        raise Invalid("reason", "too long")
    person = document_owner(session, parse_document(document_number))
    if person is None:
        raise NotFound("person with this document")
    value = codes.InvitationCode(
        invitation_id=uuid.uuid4(),
        subject=passes.subject_of(person.id, keys),
        initials=passes.initials_of(person.full_name),
        unit=unit.code,
        valid_from=valid_from,
        valid_until=valid_until,
        reason=cleaned,
    )
    text = codes.invitation_code(value, keys)
    audit.record(
        session,
        actor,
        "create",
        "invitation",
        value.invitation_id,
        unit_code=unit.code,
        detail="for the person read next",
    )
    audit.record(
        session,
        actor,
        "read",
        "person",
        person.id,
        unit_code=person.unit_code,
        detail="invitation issued",
    )
    return IssuedInvitation(text, value)


def read(text: str, keys: KeyRing) -> codes.InvitationCode:
    """An invitation this server signed (CodeError otherwise), as a station would read it."""
    store = TrustStore()
    for key in keys.signing_keys():
        store.pass_keys[key.kid] = PassKey(key.kid, key.public_key, key.created_at, key.valid_until)
    if not text.strip().startswith(codes.INVITATION_PREFIX):
        raise codes.CodeError("not an invitation code")
    return codes.read_invitation(text, store)
