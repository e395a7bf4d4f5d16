"""Shared pieces of the transfer and notice tests: a sending province (Hồ Chí Minh) with
people registered there, and a manifest filed by it."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.models import User
from phongdich.auth.roles import Role
from phongdich.checkpoints import transfers
from phongdich.checkpoints.models import Transfer
from phongdich.db import utcnow
from phongdich.persons.models import Person
from tests.factories import BA_DINH, HCM, TAN_DINH, bearer, make_person, make_user


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The test client, named for the tests that call the transfer and notice API."""
    return client


def today() -> date:
    return utcnow().date()


def document_of(person: Person) -> str:
    return person.documents[0].number


def hcm_people(session: Session, count: int) -> list[Person]:
    return [make_person(session, permanent_unit_code=TAN_DINH) for _ in range(count)]


def sender(session: Session) -> tuple[User, Actor]:
    """An official of the sending province (Hồ Chí Minh)."""
    return make_user(session, Role.PROVINCE_OFFICER, HCM)


def headers(session: Session, user: User) -> dict[str, str]:
    return bearer(session, user)


def file_to_ba_dinh(
    session: Session, actor: Actor, people: list[Person], plate: str = "51B-12345"
) -> Transfer:
    return transfers.file_transfer(
        session=session,
        actor=actor,
        from_unit_code=HCM,
        to_unit_code=BA_DINH,
        reason="continued_quarantine",
        travel_date=today(),
        document_numbers=[document_of(p) for p in people],
        route="QL1A",
        vehicle_plate=plate,
        vehicle_type="bus",
    )
