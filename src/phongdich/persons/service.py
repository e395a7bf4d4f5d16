"""Registering, finding and changing people, always inside the caller's jurisdiction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, in_jurisdiction
from phongdich.auth.roles import Permission, Role
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.documents import (
    Document,
    check_cccd_matches,
    parse_birth,
    parse_document,
    parse_phone,
    parse_sex,
)
from phongdich.persons.models import Household, IdentityDocument, Person
from phongdich.persons.schemas import DocumentInput, PersonInput, PersonUpdate
from phongdich.text import clean_name, fold

MAX_FOLDED_NAME = 200  # persons.name_folded
MAX_FOLDED_ADDRESS = 300  # persons.address_folded


@dataclass(frozen=True)
class NormalisedPerson:
    document: Document
    full_name: str
    birth_date: date | None
    birth_year: int | None
    sex: str | None
    phone: str | None
    permanent_unit_code: str | None
    permanent_address: str
    temporary_unit_code: str | None
    temporary_address: str
    household_code: str | None

    @property
    def fields(self) -> dict[str, object]:
        """The Person columns this input sets."""
        current_address = self.temporary_address or self.permanent_address
        return {
            "full_name": self.full_name,
            "name_folded": fold(self.full_name),
            "birth_date": self.birth_date,
            "birth_year": self.birth_year,
            "sex": self.sex,
            "phone": self.phone,
            "nationality": self.document.nationality,
            "permanent_unit_code": self.permanent_unit_code,
            "permanent_address": self.permanent_address,
            "temporary_unit_code": self.temporary_unit_code,
            "temporary_address": self.temporary_address,
            "address_folded": fold(current_address),
        }

    def new_person(self, household: Household | None) -> Person:
        """A Person with its identity document, not yet added to a session."""
        person = Person(**self.fields)
        person.household = household
        person.documents.append(
            IdentityDocument(
                kind=self.document.kind,
                number=self.document.number,
                nationality=self.document.nationality,
            )
        )
        return person


class UnitPaths:
    """Admin-unit paths looked up once per code: imports touch the same few units many times."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._paths: dict[str, str | None] = {}

    def path(self, code: str) -> str | None:
        if code not in self._paths:
            self._paths[code] = self._session.scalar(
                select(AdminUnit.path).where(AdminUnit.code == code)
            )
        return self._paths[code]


def normalise(data: PersonInput, units: UnitPaths, actor: Actor) -> NormalisedPerson:
    """Validate every field; the first problem found raises Invalid(field, reason)."""
    document = parse_document(
        data.document_number, kind=data.document_kind, nationality=data.nationality
    )
    name = clean_name(data.full_name)
    if len(name) < 2:
        raise Invalid("full_name", "required")
    if len(fold(name)) > MAX_FOLDED_NAME:  # Hangul folds into more letters than it has
        raise Invalid("full_name", "too long")
    if any(ch.isdigit() for ch in name):
        raise Invalid("full_name", "a name has no digits")
    born, year = parse_birth(data.birth_date)
    sex = parse_sex(data.sex)
    if document.kind == "cccd":
        check_cccd_matches(document.number, sex, year)
    phone = parse_phone(data.phone)
    codes: dict[str, str | None] = {}
    for field in ("permanent_unit_code", "temporary_unit_code"):
        code = (getattr(data, field) or "").strip() or None
        if code is not None and units.path(code) is None:
            raise Invalid(field, f"no admin unit with code {code}")
        codes[field] = code
    if not actor.nationwide and not any(
        covers(actor, units.path(code)) for code in codes.values() if code
    ):
        raise Invalid("permanent_unit_code", "a person you register must live in your jurisdiction")
    for field in ("permanent_address", "temporary_address"):
        if len(fold(clean_name(getattr(data, field)))) > MAX_FOLDED_ADDRESS:
            raise Invalid(field, "too long")
    return NormalisedPerson(
        document=document,
        full_name=name,
        birth_date=born,
        birth_year=year,
        sex=sex,
        phone=phone,
        permanent_unit_code=codes["permanent_unit_code"],
        permanent_address=clean_name(data.permanent_address),
        temporary_unit_code=codes["temporary_unit_code"],
        temporary_address=clean_name(data.temporary_address),
        household_code=(data.household_code or "").strip() or None,
    )


def _household(session: Session, code: str, unit_code: str | None, address: str) -> Household:
    household = session.scalar(select(Household).where(Household.code == code))
    if household is None:
        household = Household(code=code, unit_code=unit_code, address=address)
        session.add(household)
        session.flush()
    return household


def document_owner(session: Session, document: Document) -> Person | None:
    return session.scalar(
        select(Person)
        .join(IdentityDocument, IdentityDocument.person_id == Person.id)
        .where(
            IdentityDocument.number == document.number,
            IdentityDocument.nationality == document.nationality,
        )
    )


def owner_with_phone(session: Session, number: str, phone: str) -> Person | None:
    """The person holding this document, only if the phone matches too; else None.

    How a citizen without an account shows who they are (their pass, their results): a wrong
    pair and an unknown document give the same None, so neither is revealed.
    """
    try:
        document = parse_document(number)
        wanted = parse_phone(phone)
    except Invalid:
        return None
    person = document_owner(session, document)
    if person is None or person.merged_into_id is not None or not wanted:
        return None
    return person if person.phone == wanted else None


def visible(session: Session, actor: Actor, person: Person, units: UnitPaths | None = None) -> bool:
    """May this actor see this person at all? (Citizens: only themselves.)"""
    if actor.role is Role.CITIZEN:
        return actor.person_id is not None and actor.person_id == person.id
    if not actor.can(Permission.PERSONS_READ):
        return False
    if actor.nationwide:
        return True
    units = units or UnitPaths(session)
    return any(
        covers(actor, units.path(code))
        for code in (person.permanent_unit_code, person.temporary_unit_code)
        if code
    )


def visible_ids(session: Session, actor: Actor, person_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these people live in the actor's units: whom an official may name in lists
    (tracing's contacts, a cluster's graph) that also hold people from elsewhere."""
    ids = list(set(person_ids))
    found: set[uuid.UUID] = set()
    for first in range(0, len(ids), 1000):
        found.update(
            session.scalars(
                select(Person.id).where(
                    Person.id.in_(ids[first : first + 1000]),
                    in_jurisdiction(actor, Person.temporary_unit_code, Person.permanent_unit_code),
                )
            )
        )
    return found


def register_person(
    *, session: Session, actor: Actor, data: PersonInput, units: UnitPaths | None = None
) -> tuple[Person, bool]:
    """Create a person, or return the one who already holds this document (created=False)."""
    actor.require(Permission.PERSONS_WRITE)
    person_data = normalise(data, units or UnitPaths(session), actor)
    existing = document_owner(session, person_data.document)
    if existing is not None:
        if not visible(session, actor, existing):
            raise Conflict(
                "this document number is registered to a person outside your "
                "jurisdiction; ask an official of their unit to transfer them"
            )
        return existing, False
    person = create_from(session, actor, person_data)
    audit.record(session, actor, "create", "person", person.id, unit_code=person.unit_code)
    return person, True


def create_from(session: Session, actor: Actor, data: NormalisedPerson) -> Person:
    household = None
    if data.household_code:
        household = _household(
            session,
            data.household_code,
            data.temporary_unit_code or data.permanent_unit_code,
            data.temporary_address or data.permanent_address,
        )
    person = data.new_person(household)
    session.add(person)
    session.flush()
    return person


def get_person(
    *, session: Session, actor: Actor, person_id: uuid.UUID, audit_read: bool = True
) -> Person:
    """Outside the jurisdiction looks exactly like absent. A merged record leads to the survivor."""
    person = session.get(Person, person_id)
    for _ in range(10):  # merge chains are short; the bound guards against a corrupt loop
        if person is None or person.merged_into_id is None:
            break
        person = session.get(Person, person.merged_into_id)
    if person is None or not visible(session, actor, person):
        raise NotFound("person", person_id)
    if audit_read:
        audit.record(session, actor, "read", "person", person.id, unit_code=person.unit_code)
    return person


def find_by_document(
    *, session: Session, actor: Actor, number: str, nationality: str | None = None
) -> Person:
    document = parse_document(number, nationality=nationality or None)
    person = document_owner(session, document)
    if person is None or not visible(session, actor, person):
        raise NotFound("person with this document")
    audit.record(
        session,
        actor,
        "read",
        "person",
        person.id,
        unit_code=person.unit_code,
        detail="lookup by document",
    )
    return person


def search_persons(
    *,
    session: Session,
    actor: Actor,
    query: str = "",
    unit_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Person], int]:
    """By document number, phone, or name without diacritics; only people the actor may see."""
    actor.require(Permission.PERSONS_READ)
    stmt = select(Person).where(
        Person.merged_into_id.is_(None),
        in_jurisdiction(actor, Person.permanent_unit_code, Person.temporary_unit_code),
    )
    text = query.strip()
    digits = text.replace(" ", "")
    if text and digits.isdigit() and len(digits) in (9, 12):
        stmt = stmt.where(
            Person.id.in_(
                select(IdentityDocument.person_id).where(IdentityDocument.number == digits)
            )
        )
    elif text and (digits.startswith("+") or digits.isdigit()):
        try:
            phone = parse_phone(digits, "q")
        except Invalid:
            phone = digits
        stmt = stmt.where(Person.phone == phone)
    elif text:
        upper = text.upper().replace(" ", "")
        stmt = stmt.where(
            or_(
                Person.name_folded.contains(fold(text), autoescape=True),
                Person.id.in_(
                    select(IdentityDocument.person_id).where(IdentityDocument.number == upper)
                ),
            )
        )
    if unit_code:
        stmt = stmt.where(
            or_(Person.permanent_unit_code == unit_code, Person.temporary_unit_code == unit_code)
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    people = session.scalars(
        stmt.order_by(Person.name_folded, Person.id).limit(limit).offset(offset)
    ).all()
    audit.record(
        session,
        actor,
        "search",
        "person",
        None,
        unit_code=actor.unit_code,
        detail=f"q={text!r} results={total} shown={len(people)}",
    )
    return people, total


def update_person(
    *, session: Session, actor: Actor, person_id: uuid.UUID, data: PersonUpdate
) -> Person:
    actor.require(Permission.PERSONS_WRITE)
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    changes = data.model_dump(exclude_unset=True)
    main = person.main_document
    merged = PersonInput(
        document_number=main.number if main else "X000000",
        document_kind=main.kind if main else "passport",
        nationality=main.nationality if main else person.nationality,
        # An explicit null keeps a required field; an empty string is refused by normalise().
        full_name=person.full_name if changes.get("full_name") is None else changes["full_name"],
        birth_date=changes.get("birth_date", _birth_text(person)),
        sex=changes.get("sex", person.sex),
        phone=changes.get("phone", person.phone),
        permanent_unit_code=changes.get("permanent_unit_code", person.permanent_unit_code),
        permanent_address=changes.get("permanent_address", person.permanent_address) or "",
        temporary_unit_code=changes.get("temporary_unit_code", person.temporary_unit_code),
        temporary_address=changes.get("temporary_address", person.temporary_address) or "",
        household_code=changes.get("household_code", person.household_code),
    )
    normal = normalise(merged, UnitPaths(session), actor)
    changed = [name for name, value in normal.fields.items() if getattr(person, name) != value]
    for name in changed:
        setattr(person, name, normal.fields[name])
    if normal.household_code != person.household_code:
        changed.append("household")
        person.household = (
            None
            if normal.household_code is None
            else _household(
                session,
                normal.household_code,
                person.unit_code,
                person.temporary_address or person.permanent_address,
            )
        )
    if changed:
        session.flush()
        audit.record(
            session,
            actor,
            "update",
            "person",
            person.id,
            unit_code=person.unit_code,
            detail="fields=" + ",".join(sorted(set(changed) - {"name_folded", "address_folded"})),
        )
    return person


def _birth_text(person: Person) -> str | None:
    if person.birth_date is not None:
        return person.birth_date.isoformat()
    return None if person.birth_year is None else str(person.birth_year)


def add_document(
    *, session: Session, actor: Actor, person_id: uuid.UUID, data: DocumentInput
) -> Person:
    """A second document (a new CCCD after a CMND, a passport) for the same person."""
    actor.require(Permission.PERSONS_WRITE)
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    document = parse_document(
        data.number, kind=data.kind, nationality=data.nationality, field="number"
    )
    if document.kind == "cccd":
        try:
            check_cccd_matches(document.number, person.sex, person.birth_year)
        except Invalid as exc:
            raise Invalid("number", exc.reason) from None
    owner = document_owner(session, document)
    if owner is not None:
        if owner.id == person.id:
            return person
        raise Conflict(
            "this document number belongs to another person; merge the two records "
            "if they are the same person"
        )
    person.documents.append(
        IdentityDocument(
            kind=document.kind, number=document.number, nationality=document.nationality
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "person",
        person.id,
        unit_code=person.unit_code,
        detail=f"added {document.kind} document",
    )
    return person


def household_members(*, session: Session, actor: Actor, person: Person) -> Sequence[Person]:
    """The others in the person's household whom this actor may see (jurisdiction per member)."""
    if person.household_id is None or not actor.can(Permission.PERSONS_READ):
        return []
    members = session.scalars(
        select(Person)
        .where(
            Person.household_id == person.household_id,
            Person.id != person.id,
            Person.merged_into_id.is_(None),
            in_jurisdiction(actor, Person.permanent_unit_code, Person.temporary_unit_code),
        )
        .order_by(Person.birth_year, Person.name_folded)
        .limit(100)
    ).all()
    audit.record_many(
        session,
        actor,
        "read",
        "person",
        [(m.id, m.unit_code) for m in members],
        detail=f"listed as household member of {person.id}",
    )
    return members
