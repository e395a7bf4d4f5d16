from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.deps import SESSION_COOKIE
from tests.factories import HA_NOI, PHUC_XA, TAN_DINH, bearer, make_person, make_user

PASSWORD = "correct horse"


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["token_type"] == "bearer"
    assert answer["expires_at"]
    token: str = answer["token"]
    return token


def test_login_me_and_logout(client: TestClient, session: Session) -> None:
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    token = login(client, user.username.upper())
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {
        "username": user.username,
        "role": "commune_officer",
        "unit_code": PHUC_XA,
        "person_id": None,
    }
    assert client.delete("/api/auth/token", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_the_session_cookie_authenticates(client: TestClient, session: Session) -> None:
    user, _ = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    token = login(client, user.username)
    client.cookies.set(SESSION_COOKIE, token)
    try:
        assert client.get("/api/me").json()["username"] == user.username
    finally:
        client.cookies.clear()


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"username": "nobody", "password": "correct horse"}, 401, None),
        ({"username": "USER", "password": "wrong horse"}, 401, None),
        ({"username": "x"}, 422, "password"),
        ({"username": "x" * 65, "password": "p"}, 422, "username"),
    ],
)
def test_login_failures(
    client: TestClient,
    session: Session,
    payload: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    payload = {k: v.replace("USER", user.username) for k, v in payload.items()}
    response = client.post("/api/auth/token", json=payload)
    assert response.status_code == status
    if status == 401:
        assert response.json()["message"] == "wrong username or password"
    else:
        assert response.json()["field"] == field


def test_me_without_or_with_a_bad_token(client: TestClient) -> None:
    missing = client.get("/api/me")
    assert missing.status_code == 401
    assert missing.json() == {"error": "unauthorized", "message": "login required"}
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/api/me", headers={"Authorization": "Bearer pd_nope"})
    assert wrong.json()["message"] == "invalid or expired token"
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_a_citizen_sees_their_own_person_id(client: TestClient, session: Session) -> None:
    person = make_person(session)
    user, _ = make_user(session, Role.CITIZEN, person_id=person.id)
    me = client.get("/api/me", headers=bearer(session, user)).json()
    assert me["person_id"] == str(person.id)


def test_create_user(client: TestClient, session: Session) -> None:
    officer, _ = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    headers = bearer(session, officer)
    payload = {
        "username": "phucxa.staff",
        "password": "long enough",
        "role": "sampling_staff",
        "unit_code": PHUC_XA,
        "full_name": "Nhân viên Phúc Xá",
    }
    created = client.post("/api/users", json=payload, headers=headers)
    assert created.status_code == 201
    answer = created.json()
    assert {k: answer[k] for k in ("username", "role", "unit_code", "active")} == {
        "username": "phucxa.staff",
        "role": "sampling_staff",
        "unit_code": PHUC_XA,
        "active": True,
    }
    assert "password" not in created.text
    taken = client.post("/api/users", json=payload, headers=headers)
    assert (taken.status_code, taken.json()["error"]) == (409, "conflict")
    assert login(client, "phucxa.staff", "long enough")


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"role": "emperor"}, 422, "role"),
        ({"username": "A B"}, 422, "username"),
        ({"password": "short"}, 422, "password"),
        ({"password": ""}, 422, "password"),
        ({"unit_code": TAN_DINH}, 422, "unit"),
        ({"unit_code": "nope"}, 422, "unit"),
        ({"unit_code": None}, 422, "unit"),
        ({"is_admin": True}, 422, "is_admin"),
        ({"role": "national_admin", "unit_code": None}, 403, None),
    ],
)
def test_create_user_rejects(
    client: TestClient,
    session: Session,
    changes: dict[str, object],
    status: int,
    field: str | None,
) -> None:
    officer, _ = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    payload: dict[str, object] = {
        "username": "someone.new",
        "password": "long enough",
        "role": "commune_officer",
        "unit_code": PHUC_XA,
    }
    payload.update(changes)
    response = client.post("/api/users", json=payload, headers=bearer(session, officer))
    assert response.status_code == status
    if field is not None:
        assert response.json()["field"] == field


def test_only_user_managers_create_users(client: TestClient, session: Session) -> None:
    payload = {"username": "x.y.z", "password": "long enough", "role": "citizen"}
    assert client.post("/api/users", json=payload).status_code == 401
    commune, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post("/api/users", json=payload, headers=bearer(session, commune))
    assert response.status_code == 403


def test_audit_log(client: TestClient, session: Session) -> None:
    person = make_person(session)
    province, _ = make_user(session, Role.PROVINCE_OFFICER, HA_NOI)
    headers = bearer(session, province)
    assert client.get(f"/api/persons/{person.id}", headers=headers).status_code == 200
    response = client.get("/api/audit", params={"object_id": str(person.id)}, headers=headers)
    assert response.status_code == 200
    actions = [(e["action"], e["username"]) for e in response.json()]
    assert actions == [("read", province.username), ("create", "system")]
    assert response.json()[0]["origin"].endswith(f"GET /api/persons/{person.id}")
    hcm, _ = make_user(session, Role.PROVINCE_OFFICER, "79")
    other = client.get(
        "/api/audit", params={"object_id": str(person.id)}, headers=bearer(session, hcm)
    )
    assert other.json() == []
    commune, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert client.get("/api/audit", headers=bearer(session, commune)).status_code == 403
    assert client.get("/api/audit").status_code == 401
    for params in ({"limit": 0}, {"since": "yesterday"}, {"offset": -1}):
        bad = client.get("/api/audit", params=params, headers=headers)
        assert (bad.status_code, bad.json()["field"]) == (422, f"query.{next(iter(params))}")
