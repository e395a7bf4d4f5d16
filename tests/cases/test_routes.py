"""The cases API: opening, changing and closing a case, tracing and contacts, the tracing
policy, clusters; every route's 401, 403 and 404 answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import treatment
from phongdich.checkins import service as checkins
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.credentials.status import facts_of, status_for
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from tests.cases.helpers import make_venue
from tests.factories import (
    BA_DINH,
    HA_NOI,
    PHUC_XA,
    TRUC_BACH,
    bearer,
    cccd,
    make_person,
    make_user,
)

API = "/api/cases"
SYSTEM = system_actor("tests")


def headers(session: Session, role: Role, unit: str | None = PHUC_XA) -> dict[str, str]:
    user, _ = make_user(session, role, unit)
    return bearer(session, user)


# Whole minutes, so that durations between two of these times are exact.
START = datetime.now(UTC).replace(second=0, microsecond=0)


def ago(hours: float) -> datetime:
    return START - timedelta(hours=hours)


def person(session: Session, name: str, unit: str = PHUC_XA) -> tuple[Person, str]:
    number = cccd()
    return make_person(
        session, document_number=number, full_name=name, permanent_unit_code=unit
    ), number


def visit(session: Session, venue: Venue, who: Person, arrived: datetime, left: datetime) -> None:
    items = [
        CheckinEventIn(
            id=uuid.uuid4(), venue_code=venue.code, person_id=who.id, at=at, direction=way
        )
        for at, way in ((arrived, "in"), (left, "out"))
    ]
    report = checkins.ingest(session=session, actor=SYSTEM, events=items)
    assert set(report.statuses) == {"accepted"}, report.statuses


@pytest.fixture
def officer(session: Session) -> dict[str, str]:
    return headers(session, Role.COMMUNE_OFFICER)


@pytest.fixture
def outsider(session: Session) -> dict[str, str]:
    """An officer of the other commune of the district."""
    return headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)


@pytest.fixture
def technician(session: Session) -> dict[str, str]:
    """A role without the cases permissions."""
    return headers(session, Role.LAB_TECHNICIAN)


def open_by_document(client: TestClient, auth: dict[str, str], number: str, **more: Any) -> Any:
    body = {"document_number": number, "reference_time": ago(2).isoformat(), **more}
    return client.post(API, json=body, headers=auth)


def test_open_a_case_by_document_number_once(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    f0, number = person(session, "Trần Thị Bình")
    opened = open_by_document(client, officer, number)
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["code"].startswith("BN-")
    assert (case["person_id"], case["full_name"], case["unit_code"]) == (
        str(f0.id),
        "Trần Thị Bình",
        PHUC_XA,
    )
    assert (case["source"], case["classification"], case["severity"]) == (
        "community",
        "confirmed",
        "mild",
    )
    again = open_by_document(client, officer, number)
    assert again.status_code == 422
    assert again.json()["field"] == "person_id"
    assert f"already an open case: {case['code']}" in again.json()["message"]
    fetched = client.get(f"{API}/{case['code']}", headers=officer)
    assert fetched.status_code == 200
    assert fetched.json()["code"] == case["code"]
    listed = client.get(API, params={"open_only": True}, headers=officer)
    assert [c["code"] for c in listed.json()] == [case["code"]]


@pytest.mark.parametrize(
    ("reference_time", "reason"),
    [
        ("2021-09-10T08:00:00", "offset"),
        ((datetime.now(UTC) + timedelta(days=1)).isoformat(), "future"),
    ],
)
def test_a_bad_reference_time_names_the_field(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    reference_time: str,
    reason: str,
) -> None:
    _, number = person(session, "Lê Văn Cường")
    answer = open_by_document(client, officer, number, reference_time=reference_time)
    assert answer.status_code == 422
    assert answer.json()["field"] == "reference_time"
    assert reason in answer.json()["reason"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"severity": "grave"}, "severity"),
        ({"source": "abroad"}, "source"),
        ({"person_id": str(uuid.uuid4()), "document_number": "001085000001"}, "person_id"),
        ({"reference_time": "yesterday"}, "reference_time"),
    ],
)
def test_other_bad_input_names_the_field(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    change: dict[str, str],
    field: str,
) -> None:
    _, number = person(session, "Phạm Văn Dũng")
    answer = open_by_document(client, officer, number, **change)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_opening_needs_a_login_the_permission_and_the_jurisdiction(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    technician: dict[str, str],
) -> None:
    _, number = person(session, "Đỗ Thị Em")
    _, elsewhere = person(session, "Vũ Văn Phong", TRUC_BACH)
    assert open_by_document(client, {}, number).status_code == 401
    assert open_by_document(client, technician, number).status_code == 403
    assert open_by_document(client, officer, elsewhere).status_code == 404
    assert client.get(API).status_code == 401
    assert client.get(API, headers=technician).status_code == 403


def test_reading_and_changing_a_case_outside_the_unit_looks_absent(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    outsider: dict[str, str],
    technician: dict[str, str],
) -> None:
    _, number = person(session, "Hoàng Thị Giang")
    code = open_by_document(client, officer, number).json()["code"]
    for method, path, body in [
        ("GET", f"{API}/{code}", None),
        ("PATCH", f"{API}/{code}", {"severity": "moderate"}),
        ("GET", f"{API}/{code}/timeline", None),
        ("POST", f"{API}/{code}/trace", None),
        ("GET", f"{API}/{code}/contacts", None),
        (
            "POST",
            f"{API}/{code}/contacts",
            {"document_number": number, "start": ago(3).isoformat(), "end": ago(2).isoformat()},
        ),
    ]:
        assert client.request(method, path, json=body).status_code == 401, path
        assert client.request(method, path, json=body, headers=technician).status_code == 403
        assert client.request(method, path, json=body, headers=outsider).status_code == 404
    assert client.get(f"{API}/BN-NOSUCH", headers=officer).status_code == 404
    # The district above sees the commune's case.
    district = headers(session, Role.DISTRICT_OFFICER, BA_DINH)
    assert client.get(f"{API}/{code}", headers=district).status_code == 200


def test_a_new_severity_routes_the_case_to_a_facility_of_its_tier(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    for code, tier in (("TANG1-PX", 1), ("TANG2-BD", 2)):
        treatment.create_facility(
            session=session,
            actor=SYSTEM,
            code=code,
            name=f"Cơ sở tầng {tier}",
            tier=tier,
            unit_code=PHUC_XA if tier == 1 else BA_DINH,
            beds=10,
        )
    _, number = person(session, "Bùi Văn Hải")
    case = open_by_document(client, officer, number).json()
    assert case["facility_code"] == "TANG1-PX"
    changed = client.patch(f"{API}/{case['code']}", json={"severity": "moderate"}, headers=officer)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["severity"], changed.json()["facility_code"]) == (
        "moderate",
        "TANG2-BD",
    )
    events = client.get(f"{API}/{case['code']}/timeline", headers=officer).json()
    kinds = [e["kind"] for e in events]
    assert kinds == ["opened", "routed", "severity", "routed"]
    assert "TANG2-BD" in events[-1]["detail"]
    assert "tier 2" in events[-1]["detail"]
    bad = client.patch(f"{API}/{case['code']}", json={"severity": "grave"}, headers=officer)
    assert (bad.status_code, bad.json()["field"]) == (422, "severity")


def test_recovery_closes_the_case_and_the_pass_is_no_longer_red(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    f0, number = person(session, "Ngô Thị Lan")
    code = open_by_document(client, officer, number).json()["code"]
    assert status_for(session=session, person_id=f0.id, at=datetime.now(UTC)).colour == "red"
    closed = client.patch(f"{API}/{code}", json={"outcome": "recovered"}, headers=officer)
    assert closed.status_code == 200, closed.text
    assert closed.json()["outcome"] == "recovered"
    assert "case_recovered" in {f.kind for f in facts_of(session=session, person_id=f0.id)}
    assert status_for(session=session, person_id=f0.id, at=datetime.now(UTC)).colour != "red"
    assert [e["kind"] for e in client.get(f"{API}/{code}/timeline", headers=officer).json()][
        -1
    ] == "recovered"
    # A closed case takes no more changes; the person may be opened again.
    later = client.patch(f"{API}/{code}", json={"severity": "severe"}, headers=officer)
    assert later.status_code == 409
    assert open_by_document(client, officer, number).status_code == 201


def test_trace_returns_the_contacts_in_the_documented_shape(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    venue = make_venue(session, SYSTEM, name="Quán phở Hòe Nhai")
    f0, number = person(session, "Trịnh Văn Minh")
    f1, f1_number = person(session, "Đặng Thị Ngọc")
    visit(session, venue, f0, ago(6), ago(5))
    visit(session, venue, f1, ago(5.5), ago(4))
    code = open_by_document(client, officer, number).json()["code"]
    traced = client.post(f"{API}/{code}/trace", headers=officer)
    assert traced.status_code == 200, traced.text
    data = traced.json()
    assert {"case", "policy", "contacts"} <= set(data)
    assert (data["case"]["code"], data["case"]["document_number"]) == (code, number)
    assert data["policy"]["version"] == 1
    assert data["policy"]["min_overlap_minutes"] == 15
    (contact,) = data["contacts"]
    assert {"document_number", "full_name", "degree", "exposures"} <= set(contact)
    assert (contact["document_number"], contact["full_name"], contact["degree"]) == (
        f1_number,
        "Đặng Thị Ngọc",
        1,
    )
    (exposure,) = contact["exposures"]
    assert {"via", "venue_code", "start", "end", "overlap_minutes"} <= set(exposure)
    assert (exposure["via"], exposure["venue_code"], exposure["overlap_minutes"]) == (
        "venue",
        venue.code,
        30,
    )
    assert datetime.fromisoformat(exposure["end"]) - datetime.fromisoformat(
        exposure["start"]
    ) == timedelta(minutes=30)
    assert data["new_contacts"] >= 1
    again = client.post(f"{API}/{code}/trace", headers=officer).json()
    assert (again["new_contacts"], again["new_exposures"]) == (0, 0)
    listed = client.get(f"{API}/{code}/contacts", headers=officer)
    assert listed.status_code == 200
    assert listed.json()["contacts"] == data["contacts"]


def test_a_declared_contact_is_an_f1(
    client: TestClient, session: Session, officer: dict[str, str]
) -> None:
    _, number = person(session, "Lý Văn Quang")
    _, friend = person(session, "Mai Thị Sen")
    code = open_by_document(client, officer, number).json()["code"]
    body = {
        "document_number": friend,
        "start": ago(20).isoformat(),
        "end": ago(19).isoformat(),
        "note": "ăn trưa cùng nhau",
    }
    added = client.post(f"{API}/{code}/contacts", json=body, headers=officer)
    assert added.status_code == 201, added.text
    assert (added.json()["degree"], added.json()["status"]) == (1, "active")
    (contact,) = client.get(f"{API}/{code}/contacts", headers=officer).json()["contacts"]
    assert contact["document_number"] == friend
    assert [(e["via"], e["overlap_minutes"]) for e in contact["exposures"]] == [("declared", 60)]
    backwards = client.post(
        f"{API}/{code}/contacts", json={**body, "end": ago(21).isoformat()}, headers=officer
    )
    assert (backwards.status_code, backwards.json()["field"]) == (422, "end")
    own = client.post(
        f"{API}/{code}/contacts", json={**body, "document_number": number}, headers=officer
    )
    assert (own.status_code, own.json()["field"]) == (422, "person_id")


def test_the_tracing_policy_is_read_by_officers_and_published_by_the_province(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    technician: dict[str, str],
) -> None:
    path = f"{API}/tracing-policy"
    current = client.get(path, headers=officer)
    assert current.status_code == 200
    assert current.json() == {
        "version": 1,
        "window_before_hours": 48,
        "min_overlap_minutes": 15,
        "trace_household": True,
        "trace_vehicle": True,
        "trace_f2": True,
        "quarantine_days": 14,
        "quarantine_place": "home",
        "quarantine_test_days": [1, 7, 14],
        "monitoring_days": 14,
        "monitoring_test_days": [],
    }
    assert client.get(path).status_code == 401
    assert client.get(path, headers=technician).status_code == 403
    province = headers(session, Role.PROVINCE_OFFICER, HA_NOI)
    change = {"rules": {"min_overlap_minutes": 10}}
    assert client.post(path, json=change).status_code == 401
    assert client.post(path, json=change, headers=technician).status_code == 403
    assert client.post(path, json=change, headers=officer).status_code == 403
    published = client.post(path, json=change, headers=province)
    assert published.status_code == 201, published.text
    assert (published.json()["version"], published.json()["min_overlap_minutes"]) == (2, 10)
    assert client.get(path, headers=officer).json()["version"] == 2
    for rules, field in [
        ({"overlap": 10}, "overlap"),
        ({"min_overlap_minutes": 0}, "min_overlap_minutes"),
        ({"quarantine_test_days": [1, 30]}, "quarantine_test_days"),
    ]:
        bad = client.post(path, json={"rules": rules}, headers=province)
        assert (bad.status_code, bad.json()["field"]) == (422, field)


def test_clusters_and_their_graph(
    client: TestClient,
    session: Session,
    officer: dict[str, str],
    outsider: dict[str, str],
    technician: dict[str, str],
) -> None:
    venue = make_venue(session, SYSTEM, name="Quán cà phê Yên Phụ")
    f0, number = person(session, "Kiều Văn Tâm")
    f1, f1_number = person(session, "Tạ Thị Uyên")
    visit(session, venue, f0, ago(10), ago(9))
    visit(session, venue, f1, ago(10), ago(9))
    first = open_by_document(client, officer, number).json()["code"]
    client.post(f"{API}/{first}/trace", headers=officer)
    second = open_by_document(client, officer, f1_number).json()
    assert second["cluster_code"] is not None
    listed = client.get("/api/clusters", headers=officer)
    assert listed.status_code == 200
    (cluster,) = [c for c in listed.json() if c["code"] == second["cluster_code"]]
    assert cluster["cases"] == 2
    assert venue.code in cluster["place"]
    graph = client.get(f"/api/clusters/{cluster['code']}/graph", headers=officer)
    assert graph.status_code == 200
    data = graph.json()
    assert (data["cluster"], data["cases"]) == (cluster["code"], 2)
    kinds = {n["id"]: n["kind"] for n in data["nodes"]}
    assert kinds == {str(f0.id): "case", str(f1.id): "case"}
    (edge,) = data["edges"]
    assert (edge["from"], edge["to"], edge["via"], edge["venue_code"], edge["converted"]) == (
        str(f0.id),
        str(f1.id),
        "venue",
        venue.code,
        True,
    )
    path = f"/api/clusters/{cluster['code']}/graph"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=technician).status_code == 403
    assert client.get(path, headers=outsider).status_code == 404
    assert client.get("/api/clusters", headers=outsider).json() == []
    assert client.get("/api/clusters").status_code == 401
    assert client.get("/api/clusters", headers=technician).status_code == 403
