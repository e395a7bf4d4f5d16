"""A change of a person's status revokes the passes that show another colour."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth.actor import system_actor
from phongdich.config import Settings
from phongdich.credentials import handlers, passes
from phongdich.credentials.keys import keyring
from phongdich.credentials.models import HealthPass
from phongdich.db import utcnow
from tests.credentials.helpers import status, use_status
from tests.factories import make_person


def _event(person_id: uuid.UUID) -> events.Event:
    return events.Event(
        uuid.uuid4(), "health.status_changed", {"person_id": str(person_id)}, None, utcnow()
    )


def test_handler_is_registered() -> None:
    events.load_handlers()
    assert "credentials.revoke_outdated_passes" in events.handlers_for("health.status_changed")


def test_status_change_revokes_other_colours_only(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = keyring(settings)
    person = make_person(session)
    actor = system_actor("tests")
    green = passes.issue_pass(
        session=session, actor=actor, person=person, status=status("green"), keys=keys
    )
    red = passes.issue_pass(
        session=session, actor=actor, person=person, status=status("red"), keys=keys
    )
    use_status(monkeypatch, "red", "F0")
    handlers.revoke_outdated_passes(session, _event(person.id))
    handlers.revoke_outdated_passes(session, _event(person.id))  # a repeat changes nothing
    green_row = session.get_one(HealthPass, green.claims.pass_id)
    assert green_row.revoked_at is not None
    assert green_row.revoked_reason == "status changed to red"
    assert session.get_one(HealthPass, red.claims.pass_id).revoked_at is None


def test_a_batch_event_revokes_for_every_person_named(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = keyring(settings)
    actor = system_actor("tests")
    people = [make_person(session) for _ in range(3)]
    greens = [
        passes.issue_pass(session=session, actor=actor, person=p, status=status("green"), keys=keys)
        for p in people
    ]
    use_status(monkeypatch, "red", "F0")
    batch = events.Event(
        uuid.uuid4(),
        "health.status_changed",
        {"person_ids": [str(p.id) for p in people[:2]]},
        None,
        utcnow(),
    )
    handlers.revoke_outdated_passes(session, batch)
    revoked = [session.get_one(HealthPass, g.claims.pass_id).revoked_at for g in greens]
    assert [at is not None for at in revoked] == [True, True, False]
