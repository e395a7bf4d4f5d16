"""Credentials API: public trust and revocation lists, revoking, verifying."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.config import Settings
from phongdich.credentials import passes
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.credentials.trust import import_anchor
from phongdich.credentials.verify import TrustStore, verify_text
from phongdich.db import utcnow
from tests.credentials.helpers import status
from tests.factories import PHUC_XA, TAN_DINH, audit_entries, bearer, make_person, make_user

SYSTEM = system_actor("tests")


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return keyring(settings)


def issue(session: Session, keys: KeyRing) -> passes.IssuedPass:
    return passes.issue_pass(
        session=session,
        actor=SYSTEM,
        person=make_person(session),
        status=status(),
        keys=keys,
    )


def test_trust_list_is_public_and_lists_keys_and_certificates(
    client: TestClient, session: Session, keys: KeyRing
) -> None:
    keys.current()
    keys.rotate()
    keys.init_dcc()
    body = client.get("/api/trust-list").json()
    assert [k["current"] for k in body["keys"]] == [False, True]
    assert {k["algorithm"] for k in body["keys"]} == {"ES256"}
    assert body["keys"][0]["valid_until"] is not None
    assert base64.b64decode(body["keys"][1]["kid"]) == keys.current().kid
    assert [c["source"] for c in body["certificates"]] == ["phongdich"]
    # A foreign anchor an administrator imported appears too.
    other = KeyRing(keys.directory.parent / "foreign")
    foreign = other.init_dcc(country="FR").public_bytes(serialization.Encoding.PEM)
    import_anchor(session=session, actor=SYSTEM, data=foreign)
    assert import_anchor(session=session, actor=SYSTEM, data=foreign).country == "FR"  # once
    body = client.get("/api/trust-list").json()
    assert [(c["source"], c["country"]) for c in body["certificates"]] == [
        ("phongdich", "VN"),
        ("imported", "FR"),
    ]


def test_offline_store_from_the_two_endpoints(
    client: TestClient, session: Session, keys: KeyRing
) -> None:
    keys.init_dcc()
    good, bad = issue(session, keys), issue(session, keys)
    officer, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    revoked = client.post(
        f"/api/passes/{bad.claims.pass_id}/revoke",
        json={"reason": "status changed"},
        headers=bearer(session, officer),
    )
    assert revoked.status_code == 200, revoked.text
    store = TrustStore.from_json(
        client.get("/api/trust-list").json(), client.get("/api/revocations").json()
    )
    now = utcnow() + timedelta(minutes=1)
    assert verify_text(good.text, store, now).valid
    verdict = verify_text(bad.text, store, now)
    assert verdict.revoked is True
    assert "revoked" in verdict.errors


def test_revocations_since(client: TestClient, session: Session, keys: KeyRing) -> None:
    first, second = issue(session, keys), issue(session, keys)
    t0 = utcnow()
    passes.revoke_pass(
        session=session, actor=SYSTEM, pass_id=first.claims.pass_id, reason="a", now=t0
    )
    passes.revoke_pass(
        session=session,
        actor=SYSTEM,
        pass_id=second.claims.pass_id,
        reason="b",
        now=t0 + timedelta(hours=2),
    )
    since = (t0 + timedelta(hours=1)).isoformat()
    body = client.get("/api/revocations", params={"since": since}).json()
    ids = [r["pass_id"] for r in body["revoked"]]
    assert str(second.claims.pass_id) in ids
    assert str(first.claims.pass_id) not in ids
    assert client.get("/api/revocations", params={"since": "yesterday"}).status_code == 422


@pytest.mark.parametrize(
    ("role", "unit", "expected"),
    [
        (Role.COMMUNE_OFFICER, PHUC_XA, 200),
        (Role.NATIONAL_ADMIN, None, 200),
        (Role.CHECKPOINT_OFFICER, PHUC_XA, 403),
        (Role.COMMUNE_OFFICER, TAN_DINH, 404),
        (Role.CITIZEN, None, 404),
    ],
)
def test_revoke_permissions(
    client: TestClient,
    session: Session,
    keys: KeyRing,
    role: Role,
    unit: str | None,
    expected: int,
) -> None:
    issued = issue(session, keys)
    user, _ = make_user(session, role, unit)
    response = client.post(
        f"/api/passes/{issued.claims.pass_id}/revoke", json={}, headers=bearer(session, user)
    )
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json()["pass_id"] == str(issued.claims.pass_id)
        assert audit_entries(session, action="revoke", object_id=issued.claims.pass_id)


def test_revoke_needs_login_and_a_known_pass(client: TestClient, session: Session) -> None:
    assert client.post(f"/api/passes/{uuid.uuid4()}/revoke", json={}).status_code == 401
    admin, _ = make_user(session, Role.NATIONAL_ADMIN)
    missing = client.post(
        f"/api/passes/{uuid.uuid4()}/revoke", json={}, headers=bearer(session, admin)
    )
    assert missing.status_code == 404
    bad = client.post("/api/passes/not-a-uuid/revoke", json={}, headers=bearer(session, admin))
    assert bad.status_code == 422


def test_verify_endpoint(client: TestClient, session: Session, keys: KeyRing) -> None:
    issued = issue(session, keys)
    device, _ = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    headers = bearer(session, device)
    assert client.post("/api/verify", json={"text": issued.text}).status_code == 401
    by_text = client.post("/api/verify", json={"text": issued.text}, headers=headers).json()
    assert by_text["valid"] is True
    assert by_text["colour"] == "green"
    png = base64.b64encode(passes.qr_png(issued.text)).decode()
    by_image = client.post("/api/verify", json={"image_base64": png}, headers=headers).json()
    assert by_image["valid"] is True
    later = (issued.claims.expires_at + timedelta(seconds=1)).isoformat()
    expired = client.post(
        "/api/verify", json={"text": issued.text, "at": later}, headers=headers
    ).json()
    assert expired["expired"] is True
    assert expired["valid"] is False
    garbage = client.post("/api/verify", json={"text": "PD1:%%%"}, headers=headers)
    assert garbage.status_code == 200
    assert garbage.json()["errors"]
    for body in ({}, {"text": "x", "image_base64": "eA=="}, {"image_base64": "not base64!"}):
        response = client.post("/api/verify", json=body, headers=headers)
        assert response.status_code == 422, body
