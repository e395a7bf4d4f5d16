"""Transfers between provinces through the API: filed by the sender, decided by the receiver,
each side seeing what it may."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.checkpoints import codes
from phongdich.config import Settings
from phongdich.credentials import trust
from phongdich.credentials.keys import keyring
from phongdich.credentials.verify import TrustStore
from tests.checkpoints.transfer_fixtures import (
    api,
    document_of,
    file_to_ba_dinh,
    hcm_people,
    headers,
    sender,
    today,
)
from tests.factories import BA_DINH, HCM, HOAN_KIEM, audit_entries, make_user

__all__ = ["api"]


def manifest(session: Session, count: int = 2, plate: str = "51B-12345") -> dict[str, object]:
    return {
        "from_unit_code": HCM,
        "to_unit_code": BA_DINH,
        "reason": "continued_quarantine",
        "travel_date": today().isoformat(),
        "document_numbers": [document_of(p) for p in hcm_people(session, count)],
        "route": "QL1A – Pháp Vân",
        "vehicle_plate": plate,
        "vehicle_type": "bus",
    }


def test_a_transfer_refused_and_one_accepted(session: Session, api: TestClient) -> None:
    """The issue's check: the receiving unit refuses one manifest and accepts another."""
    sending, _ = sender(session)
    receiving, _ = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    filed = [
        api.post("/api/transfers", json=manifest(session, 2), headers=headers(session, sending))
        for _ in range(2)
    ]
    assert [r.status_code for r in filed] == [201, 201], filed[0].text
    first, second = (r.json() for r in filed)
    assert first["status"] == "pending"
    assert first["outgoing"]
    assert not first["incoming"]
    assert first["people"] == 2
    assert first["named"]
    assert all(m["full_name"] for m in first["members"])

    incoming = api.get(
        "/api/transfers", params={"direction": "incoming"}, headers=headers(session, receiving)
    ).json()
    assert {t["code"] for t in incoming} == {first["code"], second["code"]}
    assert all(t["status"] == "pending" for t in incoming)

    # Before deciding, the receiver sees initials and birth years, not names.
    seen = api.get(f"/api/transfers/{first['code']}", headers=headers(session, receiving)).json()
    assert not seen["named"]
    assert [m["full_name"] for m in seen["members"]] == [None, None]
    assert all(m["initials"] and m["person_id"] is None for m in seen["members"])

    refused = api.post(
        f"/api/transfers/{first['code']}/refuse",
        json={"note": "Khu cách ly đã đầy"},
        headers=headers(session, receiving),
    )
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["decision_note"]) == (
        "refused",
        "Khu cách ly đã đầy",
    )
    assert not refused.json()["named"]

    accepted = api.post(
        f"/api/transfers/{second['code']}/accept", headers=headers(session, receiving)
    )
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted"
    assert body["named"]
    assert all(m["full_name"] for m in body["members"])
    assert body["decided_by"] == receiving.username

    statuses = {
        t["code"]: t["status"]
        for t in api.get("/api/transfers", headers=headers(session, sending)).json()
    }
    assert statuses == {first["code"]: "refused", second["code"]: "accepted"}
    only = api.get(
        "/api/transfers", params={"status": "accepted"}, headers=headers(session, sending)
    ).json()
    assert [t["code"] for t in only] == [second["code"]]
    assert audit_entries(session, action="refuse")
    assert audit_entries(session, action="accept")


def test_decisions_are_idempotent(session: Session, api: TestClient) -> None:
    sending, _ = sender(session)
    receiving, _ = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    code = api.post(
        "/api/transfers", json=manifest(session, 1), headers=headers(session, sending)
    ).json()["code"]
    url = f"/api/transfers/{code}"
    first = api.post(url + "/accept", headers=headers(session, receiving))
    again = api.post(url + "/accept", headers=headers(session, receiving))
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["decided_at"] == again.json()["decided_at"]
    assert len(audit_entries(session, action="accept")) == 1
    # The other decision after one was made is a conflict, not a silent change.
    changed = api.post(url + "/refuse", json={"note": "no"}, headers=headers(session, receiving))
    assert changed.status_code == 409
    cancelled = api.post(url + "/cancel", headers=headers(session, sending))
    assert cancelled.json()["status"] == "cancelled"
    assert api.post(url + "/cancel", headers=headers(session, sending)).status_code == 200
    assert len(audit_entries(session, action="cancel")) == 1


def test_a_receiving_official_cannot_file_for_the_sender(session: Session, api: TestClient) -> None:
    receiving, _ = make_user(session, Role.PROVINCE_OFFICER, "01")
    body = manifest(session, 1)
    refused = api.post("/api/transfers", json=body, headers=headers(session, receiving))
    assert refused.status_code == 404
    assert api.get("/api/transfers", headers=headers(session, receiving)).json() == []


def test_only_the_receiver_decides_and_others_see_nothing(
    session: Session, api: TestClient
) -> None:
    sending, _ = sender(session)
    code = api.post(
        "/api/transfers", json=manifest(session, 1), headers=headers(session, sending)
    ).json()["code"]
    own = api.post(f"/api/transfers/{code}/accept", headers=headers(session, sending))
    assert own.status_code == 404  # the sender cannot accept its own manifest
    elsewhere, _ = make_user(session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    for path in ("", "/code"):
        seen = api.get(f"/api/transfers/{code}{path}", headers=headers(session, elsewhere))
        assert seen.status_code == 404
    refused = api.post(
        f"/api/transfers/{code}/refuse", json={"note": "x"}, headers=headers(session, elsewhere)
    )
    assert refused.status_code == 404
    gate_officer, _ = make_user(session, Role.CHECKPOINT_OFFICER, BA_DINH)
    assert (
        api.post(f"/api/transfers/{code}/accept", headers=headers(session, gate_officer))
    ).status_code == 403


def test_validation_errors_name_the_field(session: Session, api: TestClient) -> None:
    sending, _ = sender(session)
    good = manifest(session, 2)
    cases: list[tuple[dict[str, object], str]] = [
        ({"to_unit_code": "79"}, "to_unit_code"),  # same province
        ({"to_unit_code": "nowhere"}, "to_unit_code"),
        ({"reason": "  "}, "reason"),
        ({"travel_date": "2001-01-01"}, "travel_date"),
        ({"travel_date": "not a date"}, "travel_date"),
        ({"document_numbers": []}, "document_numbers"),
        ({"document_numbers": ["12"]}, "document_numbers.0"),
        (
            {"document_numbers": [good["document_numbers"][0], "001099000001"]},  # type: ignore[index]
            "document_numbers.1",
        ),
        ({"vehicle_plate": "X" * 40}, "vehicle_plate"),
    ]
    for change, field in cases:
        answer = api.post(
            "/api/transfers", json={**good, **change}, headers=headers(session, sending)
        )
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["field"] == field, (change, answer.json())
    code = api.post("/api/transfers", json=good, headers=headers(session, sending)).json()["code"]
    receiving, _ = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    for body in ({"note": " "}, {}):
        answer = api.post(
            f"/api/transfers/{code}/refuse", json=body, headers=headers(session, receiving)
        )
        assert answer.status_code == 422
        assert answer.json()["field"] == "note"
    assert (
        api.get(
            "/api/transfers", params={"status": "lost"}, headers=headers(session, sending)
        ).json()["field"]
        == "status"
    )


def test_the_vehicle_code_is_signed_and_names_the_manifest(
    session: Session, api: TestClient, settings: Settings
) -> None:
    sending, _ = sender(session)
    created = api.post(
        "/api/transfers", json=manifest(session, 3, "51b 777.77"), headers=headers(session, sending)
    ).json()
    url = f"/api/transfers/{created['code']}/code"
    text = api.get(url, headers=headers(session, sending)).json()["text"]
    assert text.startswith(codes.TRANSFER_PREFIX)
    store = TrustStore.from_json(trust.trust_list(session, keyring(settings)), None)
    read = codes.read_transfer(text, store)
    assert (read.code, read.from_unit, read.to_unit, read.people) == (
        created["code"],
        HCM,
        BA_DINH,
        3,
    )
    assert read.plate == created["vehicle_plate"]
    png = api.get(url, params={"format": "png"}, headers=headers(session, sending))
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    svg = api.get(url, params={"format": "svg"}, headers=headers(session, sending))
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert (
        api.get(url, params={"format": "gif"}, headers=headers(session, sending)).status_code == 422
    )
    api.post(f"/api/transfers/{created['code']}/cancel", headers=headers(session, sending))
    assert api.get(url, headers=headers(session, sending)).status_code == 409


def test_reading_names_is_audited(session: Session, api: TestClient) -> None:
    sending, _ = sender(session)
    created = api.post(
        "/api/transfers", json=manifest(session, 2), headers=headers(session, sending)
    ).json()
    before = len(audit_entries(session, action="read"))
    api.get(f"/api/transfers/{created['code']}", headers=headers(session, sending))
    reads = audit_entries(session, action="read")[before:]
    # One read per person named.
    assert [(e.object_type, e.username) for e in reads] == [("person", sending.username)] * 2
    assert all(created["code"] in e.detail for e in reads)
    # The receiver reading a pending manifest (no names) leaves no read of personal data.
    receiving, _ = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    api.get(f"/api/transfers/{created['code']}", headers=headers(session, receiving))
    assert len(audit_entries(session, action="read")) == before + 2


def test_a_person_listed_twice_is_one_member(
    session: Session,
) -> None:
    _, actor = sender(session)
    people = hcm_people(session, 2)
    transfer = file_to_ba_dinh(session, actor, [*people, people[0]])
    from phongdich.checkpoints import transfers

    assert len(transfers.members_of(session, transfer)) == 2
