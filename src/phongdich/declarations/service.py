"""Declaring, and reading declarations back.

Declaring needs no login: the citizen proves who they are with their document number and the
phone registered with it. A first declaration registers the person through the registry's own
rules, as a system actor whose origin says so in the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.roles import Permission
from phongdich.declarations.models import HealthDeclaration
from phongdich.declarations.schemas import SYMPTOMS, DeclarationInput
from phongdich.errors import Invalid
from phongdich.persons.documents import parse_document, parse_phone
from phongdich.persons.models import Person
from phongdich.persons.schemas import PersonInput
from phongdich.persons.service import document_owner, get_person, register_person
from phongdich.text import clean_name
from phongdich.web.reasons import N_

SELF_DECLARATION = "self-declaration"
OUTBREAK_ZONE_LEVELS = (3, 4)
# One message whether the document has another phone or none: nothing about the holder leaks.
PHONE_MISMATCH = N_(
    "this phone number does not match our records for this document; "
    "ask your commune health station"
)
NONE_WITH_SYMPTOM = N_("'none' cannot go with a symptom")
UNKNOWN_SYMPTOM = N_("not one of the symptoms on the form")
NOT_OUTBREAK_AREA = N_("not an outbreak area (zone level 3 or 4)")
# The registry names its own fields; the declaration form calls the address differently.
_REGISTRY_FIELDS = {"permanent_unit_code": "address_unit_code", "permanent_address": "address"}


@dataclass(frozen=True)
class Declared:
    declaration: HealthDeclaration
    person: Person
    registered: bool  # this declaration registered the person


def _unit(session: Session, code: str | None, field: str) -> AdminUnit | None:
    code = (code or "").strip()
    if not code:
        return None
    unit = session.get(AdminUnit, code)
    if unit is None:
        raise Invalid(field, f"no admin unit with code {code}")
    return unit


def _symptoms(values: Sequence[str]) -> list[str]:
    chosen = {v.strip().lower() for v in values if v.strip()}
    if "none" in chosen:
        if len(chosen) > 1:
            raise Invalid("symptoms", NONE_WITH_SYMPTOM)
        return []
    unknown = chosen - set(SYMPTOMS)
    if unknown:
        raise Invalid("symptoms", UNKNOWN_SYMPTOM)
    return [s for s in SYMPTOMS if s in chosen]


def _register(session: Session, data: DeclarationInput, actor: Actor) -> Person:
    for field in ("full_name", "birth_date", "sex"):
        if not getattr(data, field):
            raise Invalid(field, "required")
    try:
        person, _ = register_person(
            session=session,
            actor=actor,
            data=PersonInput(
                document_number=data.document_number,
                nationality=data.nationality,
                full_name=data.full_name or "",
                birth_date=data.birth_date,
                sex=data.sex,
                phone=data.phone,
                permanent_unit_code=data.address_unit_code,
                permanent_address=data.address,
            ),
        )
    except Invalid as exc:
        raise Invalid(_REGISTRY_FIELDS.get(exc.field, exc.field), exc.reason) from None
    return person


def declare(*, session: Session, data: DeclarationInput) -> Declared:
    """Check every field, find or register the person, and add their next version."""
    actor = system_actor(SELF_DECLARATION)
    document = parse_document(data.document_number, nationality=data.nationality or None)
    phone = parse_phone(data.phone)
    if phone is None:
        raise Invalid("phone", "required")
    address_unit = _unit(session, data.address_unit_code, "address_unit_code")
    if address_unit is None:
        raise Invalid("address_unit_code", "required")
    symptoms = _symptoms(data.symptoms)
    origin = _unit(session, data.travelled_from_unit_code, "travelled_from_unit_code")
    if origin is not None and origin.zone_level not in OUTBREAK_ZONE_LEVELS:
        raise Invalid("travelled_from_unit_code", NOT_OUTBREAK_AREA)
    destination = _unit(session, data.destination_unit_code, "destination_unit_code")
    person = document_owner(session, document)
    registered = person is None
    if person is None:
        person = _register(session, data, actor)
    elif person.phone != phone:
        raise Invalid("phone", PHONE_MISMATCH)
    # Two declarations of one person at once must not take the same number (PostgreSQL locks
    # the row; SQLite has a single writer anyway).
    session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    latest = session.scalar(
        select(func.max(HealthDeclaration.version)).where(HealthDeclaration.person_id == person.id)
    )
    declaration = HealthDeclaration(
        person_id=person.id,
        version=(latest or 0) + 1,
        unit_code=person.unit_code,
        phone=phone,
        address_unit_code=address_unit.code,
        address=clean_name(data.address),
        symptoms=symptoms,
        contact_with_case=data.contact_with_case,
        travelled_from_unit_code=origin.code if origin else None,
        travelled_from_zone_level=origin.zone_level if origin else None,
        destination_unit_code=destination.code if destination else None,
        destination=clean_name(data.destination),
        travel_reason=clean_name(data.travel_reason),
    )
    session.add(declaration)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "health_declaration",
        declaration.id,
        unit_code=declaration.unit_code,
        detail=f"person={person.id} version={declaration.version}",
    )
    return Declared(declaration, person, registered)


def person_declarations(
    *, session: Session, actor: Actor, person_id: uuid.UUID, limit: int = 100
) -> Sequence[HealthDeclaration]:
    """Newest first, for officials who may see the person (others get NotFound)."""
    actor.require(Permission.PERSONS_READ)
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    found = session.scalars(
        select(HealthDeclaration)
        .where(HealthDeclaration.person_id == person.id)
        .order_by(HealthDeclaration.submitted_at.desc(), HealthDeclaration.version.desc())
        .limit(limit)
    ).all()
    audit.record(
        session,
        actor,
        "read",
        "health_declaration",
        person.id,
        unit_code=person.unit_code,
        detail=f"declarations of the person: {len(found)}",
    )
    return found


def outbreak_units(*, session: Session, limit: int = 500) -> Sequence[AdminUnit]:
    """Units at zone level 3-4, for the 'travelled from' choice."""
    return session.scalars(
        select(AdminUnit)
        .where(AdminUnit.zone_level.in_(OUTBREAK_ZONE_LEVELS))
        .order_by(AdminUnit.name_folded)
        .limit(limit)
    ).all()


def provinces(*, session: Session) -> Sequence[AdminUnit]:
    """Units at the top of the tree, for the first step of picking an address."""
    return session.scalars(
        select(AdminUnit).where(AdminUnit.parent_code.is_(None)).order_by(AdminUnit.name_folded)
    ).all()


def address_units(*, session: Session, province: str, limit: int = 3000) -> Sequence[AdminUnit]:
    """The province's units with none below them (communes): where people live.

    Asked for one province at a time: the whole country's ten thousand communes are too many
    to send to a phone.
    """
    below = select(AdminUnit.parent_code).where(AdminUnit.parent_code.is_not(None))
    return session.scalars(
        select(AdminUnit)
        .where(
            AdminUnit.path.startswith(province + "/", autoescape=True),
            AdminUnit.code.not_in(below),
        )
        .order_by(AdminUnit.name_folded)
        .limit(limit)
    ).all()
