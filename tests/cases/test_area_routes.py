"""The API of what follows a case: quarantine lists, treatment facilities, lockdowns, zone
levels; every route's 401, 403 and 404 answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import quarantine, service, tracing, zones
from phongdich.cases.models import QuarantineOrder
from phongdich.checkins import service as checkins
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.persons.models import Person
from tests.cases.helpers import make_venue
from tests.factories import BA_DINH, PHUC_XA, TRUC_BACH, bearer, make_person, make_user

SYSTEM = system_actor("tests")
START = datetime.now(UTC).replace(second=0, microsecond=0)


def headers(session: Session, role: Role, unit: str | None = PHUC_XA) -> dict[str, str]:
    user, _ = make_user(session, role, unit)
    return bearer(session, user)


def ago(hours: float) -> datetime:
    return START - timedelta(hours=hours)


@pytest.fixture
def officer(session: Session) -> dict[str, str]:
    return headers(session, Role.COMMUNE_OFFICER)


@pytest.fixture
def outsider(session: Session) -> dict[str, str]:
    return headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)


@pytest.fixture
def technician(session: Session) -> dict[str, str]:
    return headers(session, Role.LAB_TECHNICIAN)


def guarded(
    client: TestClient,
    method: str,
    path: str,
    body: Any,
    technician: dict[str, str],
    outsider: dict[str, str] | None,
) -> None:
    """No login: 401; a role without the cases permissions: 403; another unit: 404."""
    assert client.request(method, path, json=body).status_code == 401, path
    assert client.request(method, path, json=body, headers=technician).status_code == 403, path
    if outsider is not None:
        answer = client.request(method, path, json=body, headers=outsider)
        assert answer.status_code == 404, (path, answer.text)


def traced_contact(session: Session) -> Person:
    """An F1 of a case opened now: met the F0 at a market four hours ago."""
    venue = make_venue(session, SYSTEM)
    f0 = make_person(session, full_name="Trần Văn Khải")
    f1 = make_person(session, full_name="Nguyễn Thị Hoa")
    for who in (f0, f1):
        checkins.ingest(
            session=session,
            actor=SYSTEM,
            events=[
                CheckinEventIn(
                    id=uuid.uuid4(), venue_code=venue.code, person_id=who.id, at=at, direction=way
                )
                for at, way in ((ago(5), "in"), (ago(4), "out"))
            ],
        )
    case, _ = service.open_case(
        session=session, actor=SYSTEM, person_id=f0.id, reference_time=ago(1)
    )
    tracing.trace(session=session, actor=SYSTEM, case=case)
    return f1


def test_the_commune_sees_who_is_due_what_and_records_checks(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    outsider: dict[str, str],
    technician: dict[str, str],
) -> None:
    f1 = traced_contact(session)
    order = session.scalars(select(QuarantineOrder).where(QuarantineOrder.person_id == f1.id)).one()
    first_test = quarantine.local_day(order.starts_at) + timedelta(days=1)
    listed = client.get("/api/quarantine/due", params={"day": str(first_test)}, headers=officer)
    assert listed.status_code == 200
    (item,) = [i for i in listed.json() if i["person_id"] == str(f1.id)]
    assert (item["kind"], item["place"], item["unit_code"]) == ("quarantine", "home", PHUC_XA)
    assert item["tests_due"] == [str(first_test)]
    assert (item["checked_today"], item["release_due"]) == (False, False)
    assert client.get("/api/quarantine/due", headers=outsider).json() == []
    guarded(client, "GET", "/api/quarantine/due", None, technician, None)

    path = f"/api/quarantine/{order.id}/checks"
    body = {"day": str(zones.today()), "temperature": 37.2, "symptoms": ["ho"]}
    checked = client.post(path, json=body, headers=officer)
    assert (checked.status_code, checked.json()) == (
        201,
        {"day": str(zones.today()), "created": True},
    )
    assert client.post(path, json=body, headers=officer).json()["created"] is False
    today = client.get("/api/quarantine/due", headers=officer).json()
    assert [i["checked_today"] for i in today if i["person_id"] == str(f1.id)] == [True]
    for bad, field in [
        ({**body, "temperature": 50}, "temperature"),
        ({**body, "day": str(zones.today() + timedelta(days=1))}, "day"),
    ]:
        answer = client.post(path, json=bad, headers=officer)
        assert (answer.status_code, answer.json()["field"]) == (422, field)
    guarded(client, "POST", path, body, technician, outsider)

    release = f"/api/quarantine/{order.id}/release"
    early = client.post(release, headers=officer)
    assert early.status_code == 409
    assert order.ends_on.isoformat() in early.json()["message"]
    guarded(client, "POST", release, None, technician, outsider)
    missing = client.post(f"/api/quarantine/{uuid.uuid4()}/release", headers=officer)
    assert missing.status_code == 404


def test_facilities_with_their_occupancy(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    outsider: dict[str, str],
    technician: dict[str, str],
) -> None:
    path = "/api/treatment/facilities"
    body = {
        "code": "tt-px",
        "name": "Trạm y tế Phúc Xá",
        "tier": 1,
        "unit_code": PHUC_XA,
        "beds": 2,
    }
    created = client.post(path, json=body, headers=officer)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "code": "TT-PX",
        "name": "Trạm y tế Phúc Xá",
        "tier": 1,
        "unit_code": PHUC_XA,
        "beds": 2,
        "occupied": 0,
        "free": 2,
    }
    assert client.post(path, json=body, headers=officer).status_code == 409
    home = client.post(
        path,
        json={**body, "code": "NHA-PX", "name": "Cách ly tại nhà", "tier": 0, "beds": 5},
        headers=officer,
    )
    assert (home.json()["beds"], home.json()["free"]) == (None, None)
    refused: list[tuple[dict[str, Any], str]] = [
        ({"tier": 4}, "tier"),
        ({"beds": -1}, "beds"),
        ({"beds": None}, "beds"),
    ]
    for bad, field in refused:
        answer = client.post(path, json={**body, "code": "X-1", **bad}, headers=officer)
        assert (answer.status_code, answer.json()["field"]) == (422, field)
    outside = client.post(
        path, json={**body, "code": "TT-TB", "unit_code": TRUC_BACH}, headers=officer
    )
    assert outside.status_code == 404
    guarded(client, "POST", path, {**body, "code": "TT-2"}, technician, None)

    patient = make_person(session, full_name="Phan Văn Lợi")
    service.open_case(session=session, actor=SYSTEM, person_id=patient.id, reference_time=ago(3))
    listed = client.get(path, headers=officer)
    assert listed.status_code == 200
    rows = {r["code"]: (r["occupied"], r["free"]) for r in listed.json()}
    assert rows == {"NHA-PX": (0, None), "TT-PX": (1, 1)}
    assert client.get(path, headers=outsider).json() == []
    guarded(client, "GET", path, None, technician, None)


def test_a_lockdown_declared_narrowed_and_lifted(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    outsider: dict[str, str],
    technician: dict[str, str],
) -> None:
    inside = make_person(session, full_name="Vương Thị Mận", permanent_address="Số 5 ngõ Hàng Bột")
    street = make_person(session, full_name="Lâm Văn Nam", permanent_address="12 phố Yên Phụ")
    body = {
        "unit_code": PHUC_XA,
        "reason": "ổ dịch chợ Phúc Xá",
        "areas": [{"kind": "unit", "unit_code": PHUC_XA}],
    }
    declared = client.post("/api/lockdowns", json=body, headers=officer)
    assert declared.status_code == 201, declared.text
    lockdown = declared.json()
    code = lockdown["code"]
    assert [(a["kind"], a["unit_code"]) for a in lockdown["areas"]] == [("unit", PHUC_XA)]
    assert [c["action"] for c in lockdown["changes"]] == ["declare"]
    assert [x["code"] for x in client.get("/api/lockdowns", headers=officer).json()] == [code]
    points = client.get("/api/lockdowns/points", headers=officer).json()
    assert points[PHUC_XA] == 1
    residents = client.get(f"/api/lockdowns/{code}/residents", headers=officer).json()
    assert {str(inside.id), str(street.id)} <= {r["person_id"] for r in residents["residents"]}
    assert residents["total"] == len(residents["residents"])

    unit_area = lockdown["areas"][0]["id"]
    change = {
        "remove": [unit_area],
        "add": [{"kind": "street", "unit_code": PHUC_XA, "text": "phố Yên Phụ"}],
        "reason": "kết quả âm tính ngoài phố Yên Phụ",
    }
    narrowed = client.post(f"/api/lockdowns/{code}/narrow", json=change, headers=officer)
    assert narrowed.status_code == 200, narrowed.text
    assert [(a["kind"], a["text"]) for a in narrowed.json()["areas"]] == [("street", "phố Yên Phụ")]
    assert [c["action"] for c in narrowed.json()["changes"]] == ["declare", "narrow"]
    after = client.get(f"/api/lockdowns/{code}/residents", headers=officer).json()
    assert [r["person_id"] for r in after["residents"]] == [str(street.id)]
    everything = {"remove": [narrowed.json()["areas"][0]["id"]], "reason": "hết"}
    refused = client.post(f"/api/lockdowns/{code}/narrow", json=everything, headers=officer)
    assert (refused.status_code, refused.json()["field"]) == (422, "remove")

    bad_kind = {**body, "areas": [{"kind": "city", "unit_code": PHUC_XA}]}
    answer = client.post("/api/lockdowns", json=bad_kind, headers=officer)
    assert (answer.status_code, answer.json()["field"]) == (422, "areas.0.kind")
    no_reason = client.post("/api/lockdowns", json={**body, "reason": " "}, headers=officer)
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")

    for method, route, payload in [
        ("GET", f"/api/lockdowns/{code}", None),
        ("GET", f"/api/lockdowns/{code}/residents", None),
        ("POST", f"/api/lockdowns/{code}/narrow", change),
        ("POST", f"/api/lockdowns/{code}/lift", {"reason": "hết dịch"}),
        ("POST", "/api/lockdowns", body),
    ]:
        guarded(client, method, route, payload, technician, outsider)
    guarded(client, "GET", "/api/lockdowns", None, technician, None)
    guarded(client, "GET", "/api/lockdowns/points", None, technician, None)
    assert client.get("/api/lockdowns", headers=outsider).json() == []

    lifted = client.post(
        f"/api/lockdowns/{code}/lift", json={"reason": "hết dịch"}, headers=officer
    )
    assert lifted.status_code == 200
    assert lifted.json()["ends_at"] is not None
    assert [c["action"] for c in lifted.json()["changes"]] == ["declare", "narrow", "lift"]
    assert client.get("/api/lockdowns", headers=officer).json() == []
    assert PHUC_XA not in client.get("/api/lockdowns/points", headers=officer).json()
    again = client.post(f"/api/lockdowns/{code}/lift", json={"reason": "x"}, headers=officer)
    assert again.status_code == 409


def test_zone_levels_their_override_and_history(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    outsider: dict[str, str],
    technician: dict[str, str],
) -> None:
    day = zones.today()
    zones.compute(session=session, actor=SYSTEM, day=day)
    listed = client.get("/api/zones", headers=officer)
    assert listed.status_code == 200
    (row,) = listed.json()
    assert (row["unit_code"], row["day"], row["level"], row["colour"]) == (
        PHUC_XA,
        str(day),
        1,
        "green",
    )
    district = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    codes = [r["unit_code"] for r in client.get("/api/zones", headers=district).json()]
    assert codes == [BA_DINH, PHUC_XA, TRUC_BACH]

    path = f"/api/zones/{PHUC_XA}/override"
    body = {"day": str(day), "level": 3, "reason": "ổ dịch chợ chưa kiểm soát"}
    overridden = client.post(path, json=body, headers=officer)
    assert overridden.status_code == 201, overridden.text
    assert (overridden.json()["level"], overridden.json()["computed_level"]) == (3, 1)
    assert overridden.json()["colour"] == "orange"
    assert client.get("/api/zones", headers=officer).json()[0]["level"] == 3
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"level": 5}, "level"),
        ({"reason": " "}, "reason"),
        ({"day": str(day + timedelta(days=1))}, "day"),
    ]
    for bad, field in wrong:
        answer = client.post(path, json={**body, **bad}, headers=officer)
        assert (answer.status_code, answer.json()["field"]) == (422, field)
    history = client.get(f"/api/zones/{PHUC_XA}/history", headers=officer)
    assert history.status_code == 200
    assert [(r["level"], r["override_reason"]) for r in history.json()] == [
        (3, "ổ dịch chợ chưa kiểm soát"),
        (1, ""),
    ]
    guarded(client, "POST", path, body, technician, outsider)
    guarded(client, "GET", f"/api/zones/{PHUC_XA}/history", None, technician, outsider)
    guarded(client, "GET", "/api/zones", None, technician, None)
    assert client.get("/api/zones/99999/history", headers=officer).status_code == 404
