"""Who is behind a scanned code: a personal pass, the QR of a CCCD card, or a typed document number.

Venue staff and sampling teams scan the same things, so both ask here. A CCCD card of someone
not registered yet registers them in the unit where they were scanned: people without a phone
must not be turned away for lack of a record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import system_actor
from phongdich.credentials.models import HealthPass
from phongdich.credentials.passes import PREFIX as PASS_PREFIX
from phongdich.credentials.status import current_person, status_for
from phongdich.credentials.verify import TrustStore, verify_text
from phongdich.errors import Invalid, NotFound
from phongdich.persons.documents import parse_cccd_qr, parse_document
from phongdich.persons.models import Person
from phongdich.persons.schemas import PersonInput
from phongdich.persons.service import UnitPaths, create_from, document_owner, normalise
from phongdich.web.reasons import N_

NOT_A_PASS = N_("a certificate is not a personal pass: scan the pass or the CCCD card")
NOT_REGISTERED = N_("not registered: scan the CCCD card, or ask them to make a health declaration")
UNREADABLE = N_("not a personal pass, a CCCD card QR or a document number")


@dataclass(frozen=True)
class Scanned:
    """The person and their colour now (from the pass itself, or evaluated for card and number)."""

    person: Person
    colour: str
    reasons: tuple[str, ...]


def _register_from_card(session: Session, text: str, unit_code: str, where: str) -> Person:
    card = parse_cccd_qr(text)
    registrar = system_actor(f"CCCD card scanned at {where}")
    try:
        data = PersonInput(
            document_number=card.number,
            full_name=card.full_name,
            birth_date=card.birth_date.isoformat(),
            sex=card.sex,
            permanent_address=card.address[:300],
            temporary_unit_code=unit_code,
        )
    except ValidationError as exc:  # a card QR whose name is longer than any name we store
        error = exc.errors()[0]
        raise Invalid(f"qr.{error['loc'][0] if error['loc'] else 'text'}", error["msg"]) from None
    person = create_from(session, registrar, normalise(data, UnitPaths(session), registrar))
    audit.record(session, registrar, "create", "person", person.id, unit_code=person.unit_code)
    return person


def _current(session: Session, person_id: uuid.UUID) -> Person | None:
    try:
        return current_person(session, person_id)
    except NotFound:
        return None


def identify(
    session: Session,
    text: str,
    store: TrustStore,
    now: datetime,
    *,
    register_unit_code: str,
    where: str,
) -> Scanned:
    """The person behind what was scanned, with their colour; Invalid('text', why) when none.

    `register_unit_code` and `where` place and explain a person registered from their card.
    """
    text = text.strip()
    if text.startswith(PASS_PREFIX):
        verdict = verify_text(text, store, now)
        if not verdict.valid:
            raise Invalid("text", "; ".join(verdict.errors) or "invalid pass")
        row = session.get(HealthPass, uuid.UUID(verdict.payload["pass_id"]))
        person = _current(session, row.person_id) if row is not None else None
        if person is None:
            raise Invalid("text", N_("a pass of a person no longer registered"))
        return Scanned(person, verdict.colour or "green", tuple(verdict.reasons))
    if text.startswith("HC1:"):
        raise Invalid("text", NOT_A_PASS)
    if text.count("|") >= 5:
        card = parse_cccd_qr(text)
        owner = document_owner(session, parse_document(card.number))
        person = (
            _current(session, owner.id)
            if owner is not None
            else _register_from_card(session, text, register_unit_code, where)
        )
    else:
        try:
            document = parse_document(text)
        except Invalid:
            raise Invalid("text", UNREADABLE) from None
        owner = document_owner(session, document)
        if owner is None:
            raise Invalid("text", NOT_REGISTERED)
        person = _current(session, owner.id)
    if person is None:
        raise Invalid("text", NOT_REGISTERED)
    status = status_for(session=session, person_id=person.id, at=now)
    return Scanned(person, status.colour, status.reasons)
