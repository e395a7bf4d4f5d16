"""Registering people one by one through the persons service, against a raw bulk insert.

The service is what every form, API call and import row goes through: validation, the document
look-up that finds an already-registered person, ORM flushes and an audit entry per person. The
baseline writes the same person and identity-document rows with Core `executemany`, the fastest
the database can take them. Both commit once per batch, as an import does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bench.harness import Result, Stopwatch, fresh_database, load_admin_tree, per_second
from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import system_actor
from phongdich.db import Database, new_id, utcnow
from phongdich.demo.names import (
    FAMILY_NAMES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    MIDDLE_FEMALE,
    MIDDLE_MALE,
    STREETS,
)
from phongdich.persons.models import IdentityDocument, Person
from phongdich.persons.schemas import PersonInput
from phongdich.persons.service import UnitPaths, normalise, register_person

FULL_ROWS = 100_000
QUICK_ROWS = 5_000
BATCH = 1_000
SEED = 1
CITY = "01"  # Hà Nội: people live in its communes, their CCCDs start with 001
TODAY = date(2021, 9, 13)


@dataclass(frozen=True)
class Rows:
    inputs: list[PersonInput]
    persons: list[dict[str, Any]]
    documents: list[dict[str, Any]]


def city_communes(database: Database) -> list[str]:
    """Hà Nội's communes (units with no children), in code order: the same list every run."""
    with database.transaction() as session:
        parents = select(AdminUnit.parent_code).where(AdminUnit.parent_code.is_not(None))
        return list(
            session.scalars(
                select(AdminUnit.code)
                .where(AdminUnit.path.startswith(CITY + "/"), ~AdminUnit.code.in_(parents))
                .order_by(AdminUnit.code)
            )
        )


def generate(count: int, communes: list[str], seed: int = SEED) -> list[PersonInput]:
    """`count` valid, distinct people; the serial makes each CCCD number unique."""
    rng = random.Random(seed)
    families = [name for name, _ in FAMILY_NAMES]
    weights = [weight for _, weight in FAMILY_NAMES]
    out = []
    for serial in range(count):
        sex = rng.choice(("male", "female"))
        born = TODAY - timedelta(days=rng.randrange(365, 90 * 365))
        middle, given = (
            (MIDDLE_MALE, GIVEN_MALE) if sex == "male" else (MIDDLE_FEMALE, GIVEN_FEMALE)
        )
        family = rng.choices(families, weights)[0]
        marker = (born.year // 100 - 19) * 2 + (0 if sex == "male" else 1)
        out.append(
            PersonInput(
                document_number=f"0{CITY}{marker}{born.year % 100:02d}{serial:06d}",
                full_name=f"{family} {rng.choice(middle)} {rng.choice(given)}",
                birth_date=born.isoformat(),
                sex=sex,
                phone=f"09{serial:08d}",
                permanent_unit_code=rng.choice(communes),
                permanent_address=f"Số {rng.randrange(1, 300)}, phố {rng.choice(STREETS)}",
            )
        )
    return out


def bulk_rows(database: Database, inputs: list[PersonInput]) -> Rows:
    """The rows the service would write for these inputs, computed before the clock starts."""
    persons, documents = [], []
    now = utcnow()
    with database.transaction() as session:
        units = UnitPaths(session)
        actor = system_actor("bench")
        for data in inputs:
            normal = normalise(data, units, actor)
            person_id = new_id()
            persons.append(
                {
                    "id": person_id,
                    **normal.fields,
                    "household_id": None,
                    "merged_into_id": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            documents.append(
                {
                    "id": new_id(),
                    "person_id": person_id,
                    "kind": normal.document.kind,
                    "number": normal.document.number,
                    "nationality": normal.document.nationality,
                    "issued_on": None,
                    "created_at": now,
                }
            )
    return Rows(inputs, persons, documents)


def _through_service(database: Database, inputs: list[PersonInput]) -> float:
    actor = system_actor("bench")
    clock = Stopwatch()
    with clock.running():
        for start in range(0, len(inputs), BATCH):
            with database.transaction() as session:
                units = UnitPaths(session)
                for data in inputs[start : start + BATCH]:
                    _, created = register_person(
                        session=session, actor=actor, data=data, units=units
                    )
                    assert created
    return clock.seconds


def _bulk(database: Database, rows: Rows) -> float:
    clock = Stopwatch()
    with clock.running():
        for start in range(0, len(rows.persons), BATCH):
            with database.transaction() as session:
                session.execute(insert(Person), rows.persons[start : start + BATCH])
                session.execute(insert(IdentityDocument), rows.documents[start : start + BATCH])
    return clock.seconds


def _count(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def run(*, quick: bool = False, database_url: str | None = None) -> Result:
    count = QUICK_ROWS if quick else FULL_ROWS
    with fresh_database(database_url) as database:
        load_admin_tree(database)
        inputs = generate(count, city_communes(database))
        service_seconds = _through_service(database, inputs)
        assert _count(database) == count
    with fresh_database(database_url) as database:
        load_admin_tree(database)
        rows = bulk_rows(database, inputs)
        bulk_seconds = _bulk(database, rows)
        assert _count(database) == count
    result = Result(f"persons_registration: {count:,} people, batches of {BATCH:,}")
    result.add("rows", count, "people")
    result.add(
        "service_rows_per_s",
        per_second(count, service_seconds),
        "people/s",
        baseline="bulk_rows_per_s",
        note=f"register_person, {service_seconds:.1f} s",
    )
    result.add(
        "bulk_rows_per_s",
        per_second(count, bulk_seconds),
        "people/s",
        note=f"Core executemany, {bulk_seconds:.1f} s (baseline)",
    )
    result.add(
        "service_vs_bulk",
        bulk_seconds / service_seconds,
        "x",
        note="bulk time / service time: the service runs at this fraction of the bulk "
        f"insert's speed (the bulk insert is {service_seconds / bulk_seconds:.1f}x faster)",
    )
    return result
