"""Bulk import of resident lists: every row validated, good rows kept, bad rows reported.

Re-importing the same file changes nothing: a document number already registered is the same
person, updated only where the row gives a different, non-empty value.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.errors import Invalid
from phongdich.importing import ImportReport, read_source, rows
from phongdich.persons.models import Household, IdentityDocument, Person
from phongdich.persons.schemas import PersonInput
from phongdich.persons.service import NormalisedPerson, UnitPaths, normalise, visible

COLUMNS = (
    "document_number",
    "full_name",
    "birth_date",
    "sex",
    "phone",
    "unit_code",
    "address",
    "household_code",
)
OPTIONAL = ("document_kind", "nationality", "residence")
BATCH = 500


def _input(row: dict[str, str]) -> PersonInput:
    temporary = row.get("residence", "").lower() in ("temporary", "tạm trú", "tam tru")
    unit, address = row["unit_code"] or None, row["address"]
    return PersonInput(
        document_number=row["document_number"],
        document_kind=row.get("document_kind") or None,
        nationality=row.get("nationality") or None,
        full_name=row["full_name"],
        birth_date=row["birth_date"] or None,
        sex=row["sex"] or None,
        phone=row["phone"] or None,
        permanent_unit_code=None if temporary else unit,
        permanent_address="" if temporary else address,
        temporary_unit_code=unit if temporary else None,
        temporary_address=address if temporary else "",
        household_code=row["household_code"] or None,
    )


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    return ".".join(str(p) for p in error["loc"]) or "row", error["msg"]


def import_persons(*, session: Session, actor: Actor, source: bytes | str | Path) -> ImportReport:
    actor.require(Permission.PERSONS_IMPORT)
    report = ImportReport()
    units = UnitPaths(session)
    accepted: dict[tuple[str, str], tuple[int, NormalisedPerson]] = {}
    for line, row in rows(read_source(source), required=COLUMNS, optional=OPTIONAL):
        try:
            parsed = normalise(_input(row), units, actor)
        except ValidationError as exc:
            report.error(line, *_first_problem(exc))
            continue
        except Invalid as exc:
            report.error(
                line, "unit_code" if exc.field.endswith("unit_code") else exc.field, exc.reason
            )
            continue
        key = (parsed.document.nationality, parsed.document.number)
        earlier = accepted.get(key)
        if earlier is not None:
            if earlier[1] != parsed:
                report.error(
                    line,
                    "document_number",
                    f"the same document is on line {earlier[0]} with other details",
                )
            else:
                report.unchanged += 1
            continue
        accepted[key] = (line, parsed)

    items = list(accepted.values())
    created: list[tuple[Person, str | None]] = []
    updated: list[tuple[Person, str | None]] = []
    households: dict[str, Household] = {}
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        numbers = [p.document.number for _, p in batch]
        owners = {
            (doc.nationality, doc.number): doc.person_id
            for doc in session.scalars(
                select(IdentityDocument).where(IdentityDocument.number.in_(numbers))
            )
        }
        existing = {
            p.id: p
            for p in session.scalars(select(Person).where(Person.id.in_(set(owners.values()))))
        }
        codes = {p.household_code for _, p in batch if p.household_code} - households.keys()
        if codes:
            for known in session.scalars(select(Household).where(Household.code.in_(codes))):
                households[known.code] = known
        for line, data in batch:
            owner_id = owners.get((data.document.nationality, data.document.number))
            household: Household | None = None
            if data.household_code:
                household = households.get(data.household_code)
                if household is None:
                    household = Household(
                        code=data.household_code,
                        unit_code=data.temporary_unit_code or data.permanent_unit_code,
                        address=data.temporary_address or data.permanent_address,
                    )
                    session.add(household)
                    households[data.household_code] = household
            if owner_id is None:
                person = data.new_person(household)
                session.add(person)
                created.append((person, person.unit_code))
                continue
            person = existing[owner_id]
            if not visible(session, actor, person, units):
                report.error(
                    line,
                    "document_number",
                    "registered to a person outside your "
                    "jurisdiction; ask an official of their unit to transfer them",
                )
                continue
            changes = {
                name: value
                for name, value in data.fields.items()
                if value not in (None, "") and getattr(person, name) != value
            }
            # Compare objects, not ids: a household new in this file has no id until the flush.
            if household is not None and person.household is not household:
                person.household = household
                changes["household"] = household.code
            if changes:
                for name, value in changes.items():
                    if name != "household":
                        setattr(person, name, value)
                updated.append((person, person.unit_code))
            else:
                report.unchanged += 1
        session.flush()
    report.created = len(created)
    report.updated = len(updated)
    audit.record_many(
        session,
        actor,
        "import",
        "person",
        [(p.id, unit) for p, unit in created],
        detail="created by resident-list import",
    )
    audit.record_many(
        session,
        actor,
        "import",
        "person",
        [(p.id, unit) for p, unit in updated],
        detail="updated by resident-list import",
    )
    return report
