"""The checkpoint registry through its API: jurisdiction, roles, officers, station tokens."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.checkpoints import registry
from phongdich.errors import Forbidden, Invalid, NotFound
from tests.checkpoints.helpers import Gate, gate, officer
from tests.factories import BA_DINH, HCM, HOAN_KIEM, PHUC_XA, audit_entries, bearer, make_user

__all__ = ["gate", "officer"]


def headers(session: Session, role: Role, unit: str | None) -> dict[str, str]:
    return bearer(session, make_user(session, role, unit)[0])


def test_an_officer_registers_lists_and_updates_a_checkpoint(
    client: TestClient, session: Session, unique: str
) -> None:
    h = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    code = f"ck-{unique}"
    body = {
        "code": code,
        "name": " Chốt  Ba Đình ",
        "unit_code": PHUC_XA,
        "lanes": ["general", "Driver"],
    }
    created = client.post("/api/checkpoints", json=body, headers=h)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == code.upper()
    assert created.json()["name"] == "Chốt Ba Đình"
    assert created.json()["lanes"] == ["general", "driver"]
    listed = client.get("/api/checkpoints", headers=h).json()
    assert [c["code"] for c in listed] == [code.upper()]
    again = client.post("/api/checkpoints", json=body, headers=h)
    assert again.status_code == 409
    changed = client.patch(
        f"/api/checkpoints/{code}", json={"lanes": ["general"], "active": False}, headers=h
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["lanes"], changed.json()["active"]) == (["general"], False)
    got = client.get(f"/api/checkpoints/{code.upper()}", headers=h).json()
    assert got["active"] is False


def test_bad_lanes_are_refused_naming_the_lane(client: TestClient, session: Session) -> None:
    h = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    body = {"code": "CK-LANES", "name": "x", "unit_code": BA_DINH, "lanes": ["general", "làn 2"]}
    response = client.post("/api/checkpoints", json=body, headers=h)
    assert response.status_code == 422
    assert response.json()["field"] == "lanes.1"


def test_another_districts_officer_sees_no_checkpoint(
    client: TestClient, session: Session, gate: Gate
) -> None:
    code = gate.checkpoint.code
    other = headers(session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    assert client.get(f"/api/checkpoints/{code}", headers=other).status_code == 404
    assert client.get("/api/checkpoints", headers=other).json() == []
    patched = client.patch(f"/api/checkpoints/{code}", json={"active": False}, headers=other)
    assert patched.status_code == 404
    assert (
        client.post(f"/api/checkpoints/{code}/stations", json={}, headers=other).status_code == 404
    )
    far = headers(session, Role.PROVINCE_OFFICER, HCM)
    assert client.get(f"/api/checkpoints/{code}/stations", headers=far).status_code == 404
    # The province above it sees it.
    city = headers(session, Role.PROVINCE_OFFICER, "01")
    assert client.get(f"/api/checkpoints/{code}", headers=city).status_code == 200


def test_a_checkpoint_officer_reads_but_may_not_manage(
    client: TestClient, session: Session, gate: Gate
) -> None:
    code = gate.checkpoint.code
    h = headers(session, Role.CHECKPOINT_OFFICER, BA_DINH)
    assert client.get(f"/api/checkpoints/{code}", headers=h).status_code == 200
    assert (
        client.patch(f"/api/checkpoints/{code}", json={"name": "x"}, headers=h).status_code == 403
    )
    assert client.post(f"/api/checkpoints/{code}/stations", json={}, headers=h).status_code == 403
    assert client.get(f"/api/checkpoints/{code}/stations", headers=h).status_code == 403
    body = {"code": "CK-NOPE", "name": "x", "unit_code": BA_DINH}
    assert client.post("/api/checkpoints", json=body, headers=h).status_code == 403


def test_officers_are_added_once_and_removed(
    client: TestClient, session: Session, gate: Gate
) -> None:
    code = gate.checkpoint.code
    h = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    staff, _ = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    for _ in range(2):
        added = client.post(
            f"/api/checkpoints/{code}/officers", json={"username": staff.username}, headers=h
        )
        assert added.status_code == 201, added.text
    listed = client.get(f"/api/checkpoints/{code}/officers", headers=h).json()
    assert [o["username"] for o in listed] == [staff.username]
    removed = client.delete(f"/api/checkpoints/{code}/officers/{staff.username}", headers=h)
    assert removed.status_code == 204
    assert client.get(f"/api/checkpoints/{code}/officers", headers=h).json() == []
    again = client.delete(f"/api/checkpoints/{code}/officers/{staff.username}", headers=h)
    assert again.status_code == 404


def test_an_officer_from_elsewhere_or_without_the_role_is_refused(
    session: Session, gate: Gate
) -> None:
    far, _ = make_user(session, Role.CHECKPOINT_OFFICER, HCM)
    with pytest.raises(NotFound):
        registry.add_officer(
            session=session, actor=gate.officer, code=gate.checkpoint.code, username=far.username
        )
    lab, _ = make_user(session, Role.LAB_TECHNICIAN, PHUC_XA)
    with pytest.raises(Invalid) as refused:
        registry.add_officer(
            session=session, actor=gate.officer, code=gate.checkpoint.code, username=lab.username
        )
    assert refused.value.field == "username"


def test_a_station_token_is_shown_once_and_refused_once_revoked(
    client: TestClient, session: Session, gate: Gate
) -> None:
    code = gate.checkpoint.code
    h = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    issued = client.post(f"/api/checkpoints/{code}/stations", json={"label": "Làn 1"}, headers=h)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    station_id = issued.json()["station"]["id"]
    assert f"--token {token}" in issued.json()["command"]
    assert issued.json()["command"].startswith("phongdich station --server http")
    station_auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/station/bundle", headers=station_auth).status_code == 200
    listed = client.get(f"/api/checkpoints/{code}/stations", headers=h)
    assert token not in listed.text
    assert {s["label"] for s in listed.json()} >= {"Làn 1"}
    revoked = client.post(f"/api/checkpoints/{code}/stations/{station_id}/revoke", headers=h)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/api/station/bundle", headers=station_auth).status_code == 401
    # Revoking again changes nothing; the other station still works.
    again = client.post(f"/api/checkpoints/{code}/stations/{station_id}/revoke", headers=h)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    other = {"Authorization": f"Bearer {gate.token}"}
    assert client.get("/api/station/bundle", headers=other).status_code == 200
    assert [e.object_type for e in audit_entries(session, action="revoke")][-1] == "station"


def test_a_station_of_another_checkpoint_is_not_revoked_through_this_one(
    client: TestClient, session: Session, gate: Gate, unique: str
) -> None:
    other = registry.register_checkpoint(
        session=session, actor=gate.officer, code=f"CK2-{unique}", name="Chốt 2", unit_code=BA_DINH
    )
    foreign = registry.add_station(session=session, actor=gate.officer, code=other.code)
    h = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    response = client.post(
        f"/api/checkpoints/{gate.checkpoint.code}/stations/{foreign.station.id}/revoke", headers=h
    )
    assert response.status_code == 404
    assert foreign.station.revoked_at is None


def test_a_closed_checkpoints_stations_still_sync_until_their_token_is_revoked(
    client: TestClient, session: Session, gate: Gate
) -> None:
    """What a station recorded before the checkpoint closed must still reach the server."""
    registry.update_checkpoint(
        session=session, actor=gate.officer, code=gate.checkpoint.code, active=False
    )
    headers = {"Authorization": f"Bearer {gate.token}"}
    assert (
        client.post("/api/station/passages", json={"passages": []}, headers=headers).status_code
        == 200
    )
    (station,) = registry.stations_of(session, gate.checkpoint)
    registry.revoke_station(session=session, actor=gate.officer, station_id=station.id)
    response = client.post("/api/station/passages", json={"passages": []}, headers=headers)
    assert response.status_code == 401


def test_a_commune_officer_may_not_register_a_district_gateway(session: Session) -> None:
    _, commune = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    with pytest.raises(NotFound):
        registry.register_checkpoint(
            session=session, actor=commune, code="CK-X", name="x", unit_code=BA_DINH
        )
    _, staff = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    with pytest.raises(Forbidden):
        registry.register_checkpoint(
            session=session, actor=staff, code="CK-X", name="x", unit_code=PHUC_XA
        )
