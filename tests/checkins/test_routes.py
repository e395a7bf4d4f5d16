"""The check-ins API: device batches, paper logs, scans, presence and counts."""

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
from phongdich.checkins.models import CheckinEvent
from phongdich.checkins.paper import COLUMNS
from phongdich.checkins.schemas import MAX_BATCH
from phongdich.config import Settings
from phongdich.credentials.keys import keyring
from phongdich.credentials.passes import issue_pass
from phongdich.credentials.status import Status
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from tests.factories import PHUC_XA, TRUC_BACH, bearer, cccd, make_person, make_user


def headers(session: Session, role: Role, unit: str | None = PHUC_XA) -> dict[str, str]:
    user, _ = make_user(session, role, unit)
    return bearer(session, user)


@pytest.fixture
def manager(session: Session) -> dict[str, str]:
    return headers(session, Role.VENUE_MANAGER)


@pytest.fixture
def venue(client: TestClient, manager: dict[str, str], session: Session) -> Venue:
    created = client.post(
        "/api/venues",
        json={"name": "Quán Phở Đức", "category": "restaurant", "unit_code": PHUC_XA},
        headers=manager,
    )
    assert created.status_code == 201
    found = session.scalar(select(Venue).where(Venue.code == created.json()["code"]))
    assert found is not None
    return found


def event(venue: Venue, person: Person, at: datetime, **overrides: object) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "venue_code": venue.code,
        "person_id": str(person.id),
        "at": at.isoformat(),
        **overrides,
    }


def test_a_device_batch(
    client: TestClient, session: Session, manager: dict[str, str], venue: Venue
) -> None:
    person = make_person(session)
    now = datetime.now(UTC)
    events = [
        event(venue, person, now - timedelta(days=3)),
        event(venue, person, now - timedelta(days=3) + timedelta(hours=1), direction="out"),
        event(venue, person, now, venue_code="NOPE-1"),
        {
            "id": str(uuid.uuid4()),
            "venue_code": venue.code,
            "document_number": person.documents[0].number,
            "at": (now - timedelta(minutes=5)).astimezone().isoformat(),
        },
        # Before the year 1 in UTC: no time to store, and no server error either.
        {**event(venue, person, now), "at": "0001-01-01T00:30:00+01:00"},
    ]
    first = client.post("/api/checkins/batch", json={"events": events}, headers=manager)
    assert first.status_code == 200
    result = first.json()
    assert (result["accepted"], result["duplicate"], result["rejected"]) == (3, 0, 2)
    assert result["events"][0] == {
        "id": events[0]["id"],
        "status": "accepted",
        "field": None,
        "reason": None,
    }
    assert result["events"][2] == {
        "id": events[2]["id"],
        "status": "rejected",
        "field": "venue_code",
        "reason": "no venue with this code",
    }
    assert (result["events"][4]["status"], result["events"][4]["field"]) == ("rejected", "at")
    again = client.post("/api/checkins/batch", json={"events": events[::-1]}, headers=manager)
    assert [e["status"] for e in again.json()["events"]] == [
        "rejected",
        "duplicate",
        "rejected",
        "duplicate",
        "duplicate",
    ]


def test_a_batch_is_at_most_ten_thousand_events(
    client: TestClient, session: Session, manager: dict[str, str], venue: Venue
) -> None:
    one = event(venue, make_person(session), datetime.now(UTC))
    response = client.post(
        "/api/checkins/batch", json={"events": [one] * (MAX_BATCH + 1)}, headers=manager
    )
    assert response.status_code == 422
    assert response.json()["field"] == "events"
    bad = client.post(
        "/api/checkins/batch", json={"events": [{**one, "at": "2021-09-01T08:00"}]}, headers=manager
    )
    assert bad.status_code == 422


def test_the_manager_never_reads_visitors(
    client: TestClient, session: Session, manager: dict[str, str], venue: Venue
) -> None:
    person = make_person(session, full_name="Nguyễn Văn An")
    now = datetime.now(UTC).replace(microsecond=0)
    batch = [event(venue, person, now - timedelta(hours=1))]
    assert (
        client.post("/api/checkins/batch", json={"events": batch}, headers=manager).json()[
            "accepted"
        ]
        == 1
    )
    window = {"start": (now - timedelta(hours=2)).isoformat(), "end": now.isoformat()}
    url = f"/api/venues/{venue.code}/presence"
    denied = client.get(url, params=window, headers=manager)
    assert denied.status_code == 403
    assert "Nguyễn" not in denied.text
    elsewhere = client.get(
        url, params=window, headers=headers(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    )
    assert elsewhere.status_code == 404
    official = client.get(url, params=window, headers=headers(session, Role.COMMUNE_OFFICER))
    assert official.status_code == 200
    found = official.json()
    assert found["venue_code"] == venue.code
    assert [(p["person_id"], p["full_name"], p["left_recorded"]) for p in found["people"]] == [
        (str(person.id), "Nguyễn Văn An", False)
    ]
    # Counts only, for the manager.
    counts = client.get(f"/api/venues/{venue.code}/counts", headers=manager)
    assert counts.status_code == 200
    days = counts.json()["days"]
    assert len(days) == 14
    assert sum(d["checkins"] for d in days) == 1
    assert "Nguyễn" not in counts.text
    unit = client.get(f"/api/adminunits/{PHUC_XA}/checkin-counts", headers=manager)
    assert unit.status_code == 403
    # Nor through the registry.
    assert client.get(f"/api/persons/{person.id}", headers=manager).status_code in (403, 404)
    assert client.get("/api/persons", params={"q": "an"}, headers=manager).status_code == 403


@pytest.mark.parametrize(
    "window",
    [
        {"start": "0001-01-01T00:00:00+00:00", "end": "0001-01-02T00:00:00+00:00"},
        {"start": "9999-12-30T00:00:00+00:00", "end": "9999-12-31T23:00:00+00:00"},
        {"start": "2021-09-01T08:00:00", "end": "2021-09-01T09:00:00"},
        {"start": "2021-09-01T08:00:00+07:00", "end": "2021-09-01T08:00:00+07:00"},
    ],
)
def test_presence_windows_that_make_no_sense(
    client: TestClient, session: Session, venue: Venue, window: dict[str, str]
) -> None:
    response = client.get(
        f"/api/venues/{venue.code}/presence",
        params=window,
        headers=headers(session, Role.COMMUNE_OFFICER),
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-05"},
        {"from": "2021-09-02", "to": "2021-09-01"},
        {"from": "2020-01-01", "to": "2021-09-01"},
    ],
)
def test_count_ranges_that_make_no_sense(
    client: TestClient, manager: dict[str, str], venue: Venue, params: dict[str, str]
) -> None:
    response = client.get(f"/api/venues/{venue.code}/counts", params=params, headers=manager)
    assert response.status_code == 422


def test_unit_counts(client: TestClient, session: Session, venue: Venue) -> None:
    officer = headers(session, Role.COMMUNE_OFFICER)
    response = client.get(
        f"/api/adminunits/{PHUC_XA}/checkin-counts",
        params={"from": "2021-09-01", "to": "2021-09-02"},
        headers=officer,
    )
    assert response.status_code == 200
    found = response.json()
    assert (found["venues_registered"], found["venues_pending"], len(found["days"])) == (1, 1, 2)
    other = client.get(f"/api/adminunits/{TRUC_BACH}/checkin-counts", headers=officer)
    assert other.status_code == 404


def test_a_paper_log_upload(
    client: TestClient, session: Session, manager: dict[str, str], venue: Venue
) -> None:
    when = datetime.now(UTC) - timedelta(days=2)
    local = when.astimezone(Settings().tz).strftime("%d/%m/%Y %H:%M")
    data = (
        ",".join(COLUMNS)
        + f"\n{venue.code},{cccd()},Trần Thị Bình,0912345678,{local},"
        + f"\n{venue.code},12,Lê Văn Sai,,{local},\n"
    ).encode()
    upload = {"file": ("log.csv", data, "text/csv")}
    first = client.post("/api/checkins/paper", files=upload, headers=manager)
    assert first.status_code == 200
    result = first.json()
    assert (result["created"], result["rejected"], result["people_registered"]) == (1, 1, 1)
    assert result["errors"][0]["line"] == 3
    again = client.post("/api/checkins/paper", files=upload, headers=manager).json()
    assert (again["created"], again["unchanged"], again["people_registered"]) == (0, 1, 0)
    assert len(list(session.scalars(select(CheckinEvent)))) == 1


def test_a_staff_scan(
    client: TestClient,
    session: Session,
    settings: Settings,
    manager: dict[str, str],
    venue: Venue,
) -> None:
    person = make_person(session)
    keys = keyring(settings)
    now = datetime.now(UTC)
    green = Status(colour="green", reasons=("tests",), rules_version=1, evaluated_at=now)
    issued = issue_pass(
        session=session, actor=system_actor("tests"), person=person, status=green, keys=keys
    )
    url = f"/api/venues/{venue.code}/scans"
    response = client.post(url, json={"text": issued.text}, headers=manager)
    assert response.status_code == 200
    result = response.json()
    assert (result["recorded"], result["direction"], result["colour"]) == (True, "in", "green")
    assert set(result) == {
        "recorded",
        "direction",
        "colour",
        "initials",
        "birth_year",
        "at",
        "refused",
        "reasons",
    }
    again = client.post(url, json={"text": issued.text}, headers=manager)
    assert again.json()["recorded"] is True
    assert len(list(session.scalars(select(CheckinEvent)))) == 1
    garbage = client.post(url, json={"text": "hello"}, headers=manager)
    assert (garbage.status_code, garbage.json()["field"]) == (422, "text")
    other = headers(session, Role.VENUE_MANAGER)
    assert client.post(url, json={"text": issued.text}, headers=other).status_code == 404


def test_login_is_required(client: TestClient, venue: Venue) -> None:
    assert client.post("/api/checkins/batch", json={"events": []}).status_code == 401
    assert client.get(f"/api/venues/{venue.code}/counts").status_code == 401
    assert client.post(f"/api/venues/{venue.code}/scans", json={"text": "x"}).status_code == 401
