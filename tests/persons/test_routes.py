from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.persons.importer import COLUMNS
from phongdich.persons.models import Person
from tests.factories import (
    PHUC_XA,
    TRUC_BACH,
    audit_entries,
    bearer,
    cccd,
    make_person,
    make_user,
    person_input,
)


@pytest.fixture
def officer(session: Session) -> dict[str, str]:
    """A Phúc Xá commune officer's headers."""
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    return bearer(session, user)


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    user, _ = make_user(session, Role.NATIONAL_ADMIN)
    return bearer(session, user)


def body(**overrides: object) -> dict[str, object]:
    return person_input(**overrides).model_dump(exclude_none=True)


def test_register_then_register_again(client: TestClient, officer: dict[str, str]) -> None:
    data = body(full_name="Đoàn Văn Hậu", phone="+84 912 000 444")
    created = client.post("/api/persons", json=data, headers=officer)
    assert created.status_code == 201
    person = created.json()
    assert (person["full_name"], person["phone"], person["permanent_unit_code"]) == (
        "Đoàn Văn Hậu",
        "0912000444",
        PHUC_XA,
    )
    assert person["documents"] == [
        {
            "kind": "cccd",
            "number": data["document_number"],
            "nationality": "VNM",
            "issued_on": None,
        }
    ]
    again = client.post("/api/persons", json=data, headers=officer)
    assert again.status_code == 200
    assert again.json()["id"] == person["id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"document_number": "12"}, "document_number"),
        ({"full_name": "X"}, "full_name"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"sex": "?"}, "sex"),
        ({"phone": "1"}, "phone"),
        ({"permanent_unit_code": "nope"}, "permanent_unit_code"),
        ({"permanent_unit_code": TRUC_BACH}, "permanent_unit_code"),
        ({"document_kind": "visa"}, "document_kind"),
        ({"full_name": "A" * 201}, "full_name"),
        ({"nickname": "Tí"}, "nickname"),
    ],
)
def test_register_rejects_bad_input_naming_the_field(
    client: TestClient, officer: dict[str, str], overrides: dict[str, object], field: str
) -> None:
    data = body()
    data.update(overrides)
    response = client.post("/api/persons", json=data, headers=officer)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid"
    assert answer["field"] == field
    assert answer["reason"]


def test_register_missing_field_and_malformed_json(
    client: TestClient, officer: dict[str, str]
) -> None:
    data = body()
    del data["full_name"]
    response = client.post("/api/persons", json=data, headers=officer)
    assert (response.status_code, response.json()["field"]) == (422, "full_name")
    broken = client.post(
        "/api/persons", content=b"{", headers={**officer, "content-type": "application/json"}
    )
    assert broken.status_code == 422


def test_auth_is_required_and_roles_are_checked(client: TestClient, session: Session) -> None:
    assert client.post("/api/persons", json=body()).status_code == 401
    response = client.get("/api/persons", headers={"Authorization": "Bearer pd_wrong"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    checkpoint, _ = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    denied = client.post("/api/persons", json=body(), headers=bearer(session, checkpoint))
    assert denied.status_code == 403
    assert denied.json()["error"] == "forbidden"


def test_read_is_jurisdiction_bound_and_audited(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    here = make_person(session)
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    response = client.get(f"/api/persons/{here.id}", headers=officer)
    assert response.status_code == 200
    assert response.json()["id"] == str(here.id)
    hidden = client.get(f"/api/persons/{there.id}", headers=officer)
    missing = client.get(f"/api/persons/{uuid.uuid4()}", headers=officer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == "not_found"
    assert client.get("/api/persons/not-a-uuid", headers=officer).status_code == 422
    [entry] = audit_entries(session, action="read", object_id=here.id)
    assert entry.origin.endswith(f"GET /api/persons/{here.id}")


def test_search(client: TestClient, session: Session, officer: dict[str, str]) -> None:
    person = make_person(session, full_name="Quách Văn Tĩnh")
    make_person(session, full_name="Quách Văn Tĩnh", permanent_unit_code=TRUC_BACH)
    response = client.get("/api/persons", params={"q": "quach van tinh"}, headers=officer)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 1
    [item] = page["items"]
    assert (item["id"], item["unit_code"], item["birth_year"]) == (str(person.id), PHUC_XA, 1985)
    assert item["document_hint"] == person.documents[0].number[-4:]
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"q": "x" * 101}):
        bad = client.get("/api/persons", params=params, headers=officer)
        assert bad.status_code == 422
        assert bad.json()["field"] == f"query.{next(iter(params))}"


def test_update(client: TestClient, session: Session, officer: dict[str, str]) -> None:
    person = make_person(session)
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    response = client.patch(
        f"/api/persons/{person.id}", json={"phone": "0977 000 111"}, headers=officer
    )
    assert (response.status_code, response.json()["phone"]) == (200, "0977000111")
    bad = client.patch(f"/api/persons/{person.id}", json={"sex": "female"}, headers=officer)
    assert (bad.status_code, bad.json()["field"]) == (422, "sex")
    empty_name = client.patch(f"/api/persons/{person.id}", json={"full_name": ""}, headers=officer)
    assert (empty_name.status_code, empty_name.json()["field"]) == (422, "full_name")
    unknown = client.patch(f"/api/persons/{person.id}", json={"id": "x"}, headers=officer)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "id")
    hidden = client.patch(f"/api/persons/{there.id}", json={"phone": None}, headers=officer)
    assert hidden.status_code == 404


def test_add_document(client: TestClient, session: Session, officer: dict[str, str]) -> None:
    person = make_person(session)
    other = make_person(session)
    url = f"/api/persons/{person.id}/documents"
    added = client.post(url, json={"number": "123456789"}, headers=officer)
    assert added.status_code == 200
    assert sorted(d["kind"] for d in added.json()["documents"]) == ["cccd", "cmnd"]
    clash = client.post(url, json={"number": other.documents[0].number}, headers=officer)
    assert (clash.status_code, clash.json()["error"]) == (409, "conflict")
    bad = client.post(url, json={"number": "B123"}, headers=officer)
    assert (bad.status_code, bad.json()["field"]) == (422, "number")


def test_lookup_by_document(client: TestClient, session: Session, officer: dict[str, str]) -> None:
    person = make_person(session)
    there = make_person(session, permanent_unit_code=TRUC_BACH)
    number = person.documents[0].number
    found = client.post("/api/persons/lookup", json={"number": number}, headers=officer)
    assert (found.status_code, found.json()["id"]) == (200, str(person.id))
    hidden = client.post(
        "/api/persons/lookup", json={"number": there.documents[0].number}, headers=officer
    )
    assert hidden.status_code == 404
    bad = client.post("/api/persons/lookup", json={"number": "12"}, headers=officer)
    assert (bad.status_code, bad.json()["field"]) == (422, "document_number")


def test_import_upload(client: TestClient, session: Session, officer: dict[str, str]) -> None:
    good = cccd()
    text = ",".join(COLUMNS) + "\n"
    text += f"{good},Lưu Văn Nhập,1985,Nam,,{PHUC_XA},,\n"
    text += f"{cccd()},Lưu Văn Ngoài,1985,Nam,,{TRUC_BACH},,\n"
    files = {"file": ("residents.csv", text.encode(), "text/csv")}
    response = client.post("/api/persons/import", files=files, headers=officer)
    assert response.status_code == 200
    assert response.json() == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "errors": [
            {
                "line": 3,
                "field": "unit_code",
                "reason": "a person you register must live in your jurisdiction",
            }
        ],
    }
    again = client.post("/api/persons/import", files=files, headers=officer).json()
    assert (again["created"], again["unchanged"], again["rejected"]) == (0, 1, 1)
    assert (
        session.scalar(
            select(Person.full_name).join(Person.documents).where(Person.documents.any(number=good))
        )
        == "Lưu Văn Nhập"
    )
    bad = client.post(
        "/api/persons/import",
        files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")},
        headers=officer,
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "file")
    assert client.post("/api/persons/import", headers=officer).status_code == 422


def test_cccd_qr(client: TestClient, officer: dict[str, str]) -> None:
    qr = "001085012345||Nguyễn Văn An|02041985|Nam|Hà Nội|15062021"
    response = client.post("/api/persons/cccd-qr", json={"qr": qr}, headers=officer)
    assert response.status_code == 200
    assert response.json() == {
        "number": "001085012345",
        "old_number": None,
        "full_name": "Nguyễn Văn An",
        "birth_date": "1985-04-02",
        "sex": "male",
        "address": "Hà Nội",
        "issued_on": "2021-06-15",
    }
    bad = client.post("/api/persons/cccd-qr", json={"qr": "a|b"}, headers=officer)
    assert (bad.status_code, bad.json()["field"]) == (422, "qr")
    assert client.post("/api/persons/cccd-qr", json={"qr": qr}).status_code == 401


def test_duplicates_merge_and_dismiss(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    a = make_person(session, full_name="Tôn Văn Đôi", phone="0900000100")
    b = make_person(session, full_name="Tôn Văn Đôi", phone="0900000100")
    c = make_person(session, full_name="Tôn Văn Đôi", phone="0900000100")
    listed = client.get("/api/persons/duplicates", headers=officer)
    assert listed.status_code == 200
    assert {frozenset({p["a"]["id"], p["b"]["id"]}) for p in listed.json()} == {
        frozenset({str(a.id), str(b.id)}),
        frozenset({str(a.id), str(c.id)}),
        frozenset({str(b.id), str(c.id)}),
    }
    assert {p["reason"] for p in listed.json()} == {"phone"}
    dismissed = client.post(
        "/api/persons/duplicates/dismiss",
        json={"survivor_id": str(b.id), "duplicate_id": str(c.id)},
        headers=officer,
    )
    assert dismissed.status_code == 204
    merged = client.post(
        "/api/persons/merge",
        json={"survivor_id": str(a.id), "duplicate_id": str(b.id)},
        headers=officer,
    )
    assert merged.status_code == 200
    assert len(merged.json()["documents"]) == 2
    follow = client.get(f"/api/persons/{b.id}", headers=officer)
    assert (follow.status_code, follow.json()["id"]) == (200, str(a.id))
    remaining = client.get("/api/persons/duplicates", headers=officer).json()
    assert [{p["a"]["id"], p["b"]["id"]} for p in remaining] == [{str(a.id), str(c.id)}]
    self_merge = client.post(
        "/api/persons/merge",
        json={"survivor_id": str(a.id), "duplicate_id": str(a.id)},
        headers=officer,
    )
    assert (self_merge.status_code, self_merge.json()["field"]) == (422, "duplicate_id")
    not_uuid = client.post(
        "/api/persons/merge", json={"survivor_id": "x", "duplicate_id": str(a.id)}, headers=officer
    )
    assert (not_uuid.status_code, not_uuid.json()["field"]) == (422, "survivor_id")
    assert client.get("/api/persons/duplicates?limit=0", headers=officer).status_code == 422
