"""Shared pieces of the checkpoint tests: a checkpoint with a station, a station that talks to
the app through the test client, passes issued with the app's own keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.checkpoints import registry
from phongdich.checkpoints.models import Checkpoint
from phongdich.config import Settings
from phongdich.credentials import passes
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.credentials.status import Status
from phongdich.persons.models import Person
from phongdich.station.client import Client, Offline, Refused
from phongdich.station.queue import Queue
from phongdich.station.runtime import Station
from tests.factories import BA_DINH, make_user


class TestClientTransport(Client):
    """A station client that calls the app in-process; `down` simulates a dead network."""

    __test__ = False

    def __init__(self, client: TestClient, token: str) -> None:
        super().__init__("http://testserver", token)
        self.client = client
        self.down = False
        self.calls: list[str] = []

    def _call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        self.calls.append(f"{method} {path}")
        if self.down:
            raise Offline("network down")
        response = self.client.request(
            method,
            path,
            content=json.dumps(body) if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        if response.status_code >= 500:
            raise Offline(f"server error {response.status_code}")
        if response.status_code >= 400:
            raise Refused(response.status_code, response.json())
        return response.json()


@dataclass
class Gate:
    """A district gateway checkpoint of Ba Đình with one station."""

    officer: Actor
    checkpoint: Checkpoint
    token: str
    keys: KeyRing


@pytest.fixture
def officer(session: Session) -> Actor:
    return make_user(session, Role.DISTRICT_OFFICER, BA_DINH)[1]


@pytest.fixture
def gate(session: Session, officer: Actor, settings: Settings, unique: str) -> Gate:
    checkpoint = registry.register_checkpoint(
        session=session,
        actor=officer,
        code=f"CK-{unique}",
        name="Chốt cửa ngõ Ba Đình",
        unit_code=BA_DINH,
        road="Đường Hoàng Hoa Thám",
        lanes=["general", "driver"],
    )
    issued = registry.add_station(session=session, actor=officer, code=checkpoint.code)
    session.flush()
    keys = keyring(settings)
    keys.current()  # the signing key exists before a station fetches the trust list
    return Gate(officer, checkpoint, issued.token, keys)


@pytest.fixture
def station(client: TestClient, gate: Gate, tmp_path: Path) -> Iterator[Station]:
    queue = Queue(tmp_path / "station.sqlite3")
    running = Station(TestClientTransport(client, gate.token), queue, officer="officer1")
    assert running.refresh()
    yield running
    queue.close()


def transport(station: Station) -> TestClientTransport:
    assert isinstance(station.client, TestClientTransport)
    return station.client


def pass_text(
    session: Session,
    person: Person,
    keys: KeyRing,
    colour: str = "green",
    reasons: tuple[str, ...] = ("Fully vaccinated at least 14 days ago",),
    evidence: dict[str, datetime] | None = None,
    now: datetime | None = None,
) -> str:
    """A pass signed with the app's keys, carrying the status given."""
    now = now or datetime.now(UTC)
    status = Status(
        colour=colour,
        reasons=reasons,
        rules_version=1,
        evaluated_at=now,
        evidence=evidence if evidence is not None else {"vaccinated": now - timedelta(days=40)},
    )
    from phongdich.auth.actor import system_actor

    return passes.issue_pass(
        session=session,
        actor=system_actor("tests"),
        person=person,
        status=status,
        now=now,
        keys=keys,
    ).text
