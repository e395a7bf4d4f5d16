"""The demo city: the same seed builds the same city, and everything in it is valid.

`build_demo` commits, so these tests use databases of their own (never the rolled-back session):
one built city per backend for the read-only checks, and fresh ones to rebuild it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from phongdich.auth.roles import Role
from phongdich.auth.service import authenticate
from phongdich.credentials.status import HealthFact, status_for
from phongdich.db import Database, utcnow
from phongdich.demo.city import DEMO_COMMUNES, build_demo
from phongdich.errors import Conflict
from phongdich.persons.documents import cccd_facts, check_cccd_matches
from phongdich.persons.models import Household, IdentityDocument, Person
from tests.demo.helpers import Built, Snapshot, build

PEOPLE = 300
SEED = 7


@pytest.fixture(scope="module")
def built(fresh_database: Callable[[], Database]) -> Built:
    return build(fresh_database(), people=PEOPLE, seed=SEED)


def snapshot(database: Database) -> Snapshot:
    """Everything generated about people, in a stable order (ids included: they come from the
    seeded generator too); creation times are left out."""
    with database.transaction() as session:
        rows = session.execute(
            select(
                Person.id,
                Person.full_name,
                Person.birth_date,
                Person.sex,
                Person.phone,
                Person.permanent_unit_code,
                Person.permanent_address,
                Person.temporary_unit_code,
                Person.temporary_address,
                IdentityDocument.number,
                Household.code,
                Household.address,
            )
            .join(IdentityDocument, IdentityDocument.person_id == Person.id)
            .join(Household, Household.id == Person.household_id)
            .order_by(IdentityDocument.number)
        ).all()
    return [tuple(row) for row in rows]


def test_the_same_seed_builds_the_same_city(
    built: Built, fresh_database: Callable[[], Database]
) -> None:
    database = fresh_database()
    again = build_demo(database, people=PEOPLE, seed=SEED)
    assert again == built.result  # counts, usernames and their printed passwords
    city = snapshot(built.database)
    assert len(city) == PEOPLE
    assert snapshot(database) == city


def test_another_seed_builds_another_city(
    built: Built, fresh_database: Callable[[], Database]
) -> None:
    database = fresh_database()
    other = build_demo(database, people=PEOPLE, seed=SEED + 1)
    assert other.people == PEOPLE
    city, other_city = snapshot(built.database), snapshot(database)
    names = {row[1] for row in city}
    assert {row[1] for row in other_city} != names
    assert {row[9] for row in other_city} != {row[9] for row in city}  # document numbers
    assert {row[2] for row in other_city} != {row[2] for row in city}  # birth dates
    assert [u[3] for u in other.users] != [u[3] for u in built.result.users]  # passwords


def test_every_cccd_is_valid_and_agrees_with_sex_and_birth_year(built: Built) -> None:
    with built.database.transaction() as session:
        rows = session.execute(
            select(
                IdentityDocument.kind, IdentityDocument.number, Person.sex, Person.birth_year
            ).join(Person, Person.id == IdentityDocument.person_id)
        ).all()
    assert len(rows) == PEOPLE
    provinces = set()
    for kind, number, sex, birth_year in rows:
        assert kind == "cccd"
        provinces.add(cccd_facts(number).province_code)
        check_cccd_matches(number, sex, birth_year)
    assert "001" in provinces  # Hà Nội; migrant workers bring other provinces' cards
    assert len(provinces) > 1


def test_one_user_per_role_and_the_printed_passwords_work(built: Built) -> None:
    users = built.result.users
    assert {role for _, role, _, _ in users} == {role.value for role in Role}
    with built.database.transaction() as session:
        for username, role, unit, password in users:
            user = authenticate(session=session, username=username, password=password)
            assert user.role == role
            assert (user.unit_code or "-") == unit
        citizen = next(u for u in users if u[1] == Role.CITIZEN.value)
        assert authenticate(session=session, username=citizen[0], password=citizen[3]).person_id


def test_households_share_their_address_and_unit(built: Built) -> None:
    with built.database.transaction() as session:
        households = {h.id: h for h in session.scalars(select(Household))}
        people = session.scalars(select(Person)).all()
        assert len(households) == built.result.households
        members: dict[object, int] = {}
        for person in people:
            assert person.household_id is not None
            home = households[person.household_id]
            # Migrant workers live at the household as temporary residents.
            assert (person.temporary_address or person.permanent_address) == home.address
            assert person.unit_code == home.unit_code
            members[home.id] = members.get(home.id, 0) + 1
    assert set(members) == set(households)  # no empty household
    assert max(members.values()) > 1
    # The demo's commune officers have people to work with.
    assert {h.unit_code for h in households.values()} & set(DEMO_COMMUNES)


def test_a_database_with_people_is_refused(built: Built) -> None:
    with pytest.raises(Conflict, match="already has people"):
        build_demo(built.database, people=10, seed=SEED)
    with built.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == PEOPLE


def test_the_demo_city_has_every_colour(built: Built) -> None:
    """Vaccinations and recent tests dated from today: a venue's scanner lets most adults in."""
    with built.database.transaction() as session:
        facts = session.scalar(select(func.count()).select_from(HealthFact))
        assert facts == built.result.health_facts > 0
        now = utcnow()
        adults = session.scalars(
            select(Person.id).where(Person.birth_year <= 2003).order_by(Person.id)
        ).all()
        colours = Counter(
            status_for(session=session, person_id=pid, at=now).colour for pid in adults
        )
    assert set(colours) == {"green", "yellow", "red"}
    assert colours["green"] > colours["yellow"]
    assert colours["green"] > colours["red"]
