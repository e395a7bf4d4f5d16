"""The venues API: registration, approval, listing, changes, import."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.venues.importer import COLUMNS
from tests.factories import PHUC_XA, TAN_DINH, TRUC_BACH, audit_entries, bearer, make_user


def headers(session: Session, role: Role, unit: str | None = PHUC_XA) -> dict[str, str]:
    user, _ = make_user(session, role, unit)
    return bearer(session, user)


def body(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "Quán Phở Đức",
        "category": "restaurant",
        "unit_code": PHUC_XA,
        "address": "Số 5 Hòe Nhai",
    }
    values.update(overrides)
    return values


def test_a_managers_venue_is_approved_by_an_official_of_its_unit(
    client: TestClient, session: Session
) -> None:
    manager = headers(session, Role.VENUE_MANAGER)
    created = client.post("/api/venues", json=body(unit_code=TRUC_BACH), headers=manager)
    assert created.status_code == 201
    venue = created.json()
    assert (venue["status"], venue["unit_code"], venue["default_visit_minutes"]) == (
        "pending",
        TRUC_BACH,
        90,
    )
    code = venue["code"]
    assert client.post(f"/api/venues/{code}/approve", headers=manager).status_code == 403
    phuc_xa = headers(session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert client.post(f"/api/venues/{code}/approve", headers=phuc_xa).status_code == 404
    truc_bach = headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    approved = client.post(f"/api/venues/{code}/approve", headers=truc_bach)
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_at"] is not None
    suspended = client.post(
        f"/api/venues/{code}/suspend", json={"reason": "overcrowded"}, headers=truc_bach
    )
    assert suspended.json()["status"] == "suspended"
    # The manager still sees their venue, with its status.
    mine = client.get(f"/api/venues/{code}", headers=manager)
    assert (mine.status_code, mine.json()["status"]) == (200, "suspended")


def test_an_officials_venue_is_approved_at_once(client: TestClient, session: Session) -> None:
    officer = headers(session, Role.COMMUNE_OFFICER)
    created = client.post("/api/venues", json=body(code="hx-pho"), headers=officer)
    assert created.status_code == 201
    assert (created.json()["code"], created.json()["status"]) == ("HX-PHO", "approved")
    taken = client.post("/api/venues", json=body(code="HX-PHO"), headers=officer)
    assert (taken.status_code, taken.json()["field"]) == (422, "code")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "X"}, "name"),
        ({"category": "zoo"}, "category"),
        ({"unit_code": TAN_DINH}, "unit_code"),
        ({"default_visit_minutes": 1}, "default_visit_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_registration_rejects_bad_input_naming_the_field(
    client: TestClient, session: Session, overrides: dict[str, object], field: str
) -> None:
    response = client.post(
        "/api/venues", json=body(**overrides), headers=headers(session, Role.COMMUNE_OFFICER)
    )
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["field"]) == ("invalid", field)


def test_auth_and_roles(client: TestClient, session: Session) -> None:
    assert client.post("/api/venues", json=body()).status_code == 401
    assert client.get("/api/venues").status_code == 401
    checkpoint = headers(session, Role.CHECKPOINT_OFFICER)
    assert client.post("/api/venues", json=body(), headers=checkpoint).status_code == 403
    assert client.get("/api/venues", headers=checkpoint).status_code == 403


def test_list_get_and_update(client: TestClient, session: Session) -> None:
    manager = headers(session, Role.VENUE_MANAGER)
    other = headers(session, Role.VENUE_MANAGER)
    officer = headers(session, Role.COMMUNE_OFFICER)
    code = client.post("/api/venues", json=body(), headers=manager).json()["code"]
    client.post("/api/venues", json=body(name="Chợ Hòe Nhai", category="market"), headers=officer)

    listed = client.get("/api/venues", headers=manager).json()
    assert (listed["total"], [v["code"] for v in listed["items"]]) == (1, [code])
    assert client.get("/api/venues", headers=other).json() == {"total": 0, "items": []}
    found = client.get("/api/venues", params={"q": "pho duc"}, headers=officer).json()
    assert [v["code"] for v in found["items"]] == [code]
    pending = client.get("/api/venues", params={"status": "pending"}, headers=officer).json()
    assert [v["code"] for v in pending["items"]] == [code]
    bad = client.get("/api/venues", params={"status": "closed"}, headers=officer)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")

    assert client.get(f"/api/venues/{code}", headers=other).status_code == 404
    assert client.get("/api/venues/NOSUCHCODE", headers=officer).status_code == 404
    updated = client.put(f"/api/venues/{code}", json=body(name="Quán Phở Đức Mới"), headers=manager)
    assert (updated.status_code, updated.json()["name"]) == (200, "Quán Phở Đức Mới")
    assert client.put(f"/api/venues/{code}", json=body(), headers=other).status_code == 404


def test_import_keeps_good_rows_and_reports_bad_ones(client: TestClient, session: Session) -> None:
    officer = headers(session, Role.COMMUNE_OFFICER)
    data = (
        ",".join(COLUMNS)
        + f"\nHX-R1,Chợ Hòe Nhai,market,{PHUC_XA},Số 2,\nHX-R2,Sở thú,zoo,{PHUC_XA},,\n"
    ).encode()
    upload = {"file": ("venues.csv", data, "text/csv")}
    first = client.post("/api/venues/import", files=upload, headers=officer)
    assert first.status_code == 200
    result = first.json()
    assert (result["created"], result["rejected"]) == (1, 1)
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(3, "category")]
    again = client.post("/api/venues/import", files=upload, headers=officer).json()
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (
        0,
        0,
        1,
        1,
    )
    assert len(audit_entries(session, action="import")) == 1
    manager = headers(session, Role.VENUE_MANAGER)
    assert client.post("/api/venues/import", files=upload, headers=manager).status_code == 403
