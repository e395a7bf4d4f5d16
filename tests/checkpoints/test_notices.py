"""Rapid tests at the driver lane reach the destination (and, when positive, the origin) as
notices its officials read on /checkpoints/notices and the API; other units see nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.persons.models import Person
from phongdich.station.runtime import Station
from tests.checkpoints.helpers import Gate, gate, officer, pass_text, station
from tests.checkpoints.transfer_fixtures import api
from tests.factories import (
    BA_DINH,
    HOAN_KIEM,
    TAN_DINH,
    audit_entries,
    bearer,
    make_person,
    make_user,
)
from tests.web.pages import sign_in

__all__ = ["api", "gate", "officer", "station"]


def driver_tested(session: Session, gate: Gate, station: Station, result: str) -> Person:
    """A long-haul driver from Tân Định through the driver lane, tested after crossing."""
    driver = make_person(session, permanent_unit_code=TAN_DINH, full_name="Trần Văn Tài")
    station.set_lane(lane="driver")
    station.start_vehicle(plate="51C-99999", vehicle_type="truck", origin_unit_code=TAN_DINH)
    shown = station.scan(pass_text(session, driver, gate.keys, evidence={}))
    assert shown is not None
    assert shown.passage_id is not None
    station.sync_once()
    station.rapid_test(shown.passage_id, result)
    assert station.sync_once().rapid_tests == 1
    return driver


def api_notices(
    client: TestClient, session: Session, role: Role, unit: str
) -> list[dict[str, object]]:
    user, _ = make_user(session, role, unit)
    answer = client.get("/api/checkpoint-notices", headers=bearer(session, user))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_a_positive_reaches_the_destination_and_the_origin_only(
    session: Session, gate: Gate, station: Station, api: TestClient
) -> None:
    driver = driver_tested(session, gate, station, "positive")
    destination = api_notices(api, session, Role.DISTRICT_OFFICER, BA_DINH)
    assert [(n["kind"], n["unit_code"]) for n in destination] == [("rapid_positive", BA_DINH)]
    assert destination[0]["full_name"] == driver.full_name
    assert destination[0]["vehicle_plate"] == "51C-99999"
    origin = api_notices(api, session, Role.COMMUNE_OFFICER, TAN_DINH)
    assert [(n["kind"], n["unit_code"]) for n in origin] == [("rapid_positive", TAN_DINH)]
    assert api_notices(api, session, Role.DISTRICT_OFFICER, HOAN_KIEM) == []
    # On the page too, with the driver's name for the call.
    sign_in(api, session, Role.COMMUNE_OFFICER, TAN_DINH)
    page = api.get("/checkpoints/notices")
    assert page.status_code == 200
    assert 'data-kind="rapid_positive"' in page.text
    assert driver.full_name in page.text
    sign_in(api, session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    other = api.get("/checkpoints/notices")
    assert other.status_code == 200
    assert 'id="no-notices"' in other.text
    assert driver.full_name not in other.text


def test_a_negative_reaches_the_destination_only(
    session: Session, gate: Gate, station: Station, api: TestClient
) -> None:
    driver_tested(session, gate, station, "negative")
    destination = api_notices(api, session, Role.DISTRICT_OFFICER, BA_DINH)
    assert [(n["kind"], n["unit_code"]) for n in destination] == [("rapid_negative", BA_DINH)]
    assert api_notices(api, session, Role.COMMUNE_OFFICER, TAN_DINH) == []


def test_marking_read_is_once_and_only_in_the_unit(
    session: Session, gate: Gate, station: Station, api: TestClient
) -> None:
    driver_tested(session, gate, station, "positive")
    reader, _ = make_user(session, Role.DISTRICT_OFFICER, BA_DINH)
    notice = api.get("/api/checkpoint-notices", headers=bearer(session, reader)).json()[0]
    outsider, _ = make_user(session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    url = f"/api/checkpoint-notices/{notice['id']}/read"
    assert api.post(url, headers=bearer(session, outsider)).status_code == 404
    first = api.post(url, headers=bearer(session, reader)).json()
    again = api.post(url, headers=bearer(session, reader)).json()
    assert first == again
    assert first["read_by"] == reader.username
    assert len(audit_entries(session, action="mark_read")) == 1
    unread = api.get(
        "/api/checkpoint-notices", params={"unread": "true"}, headers=bearer(session, reader)
    ).json()
    assert unread == []
    bad = api.get(
        "/api/checkpoint-notices", params={"kind": "other"}, headers=bearer(session, reader)
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "kind")


def test_the_page_marks_a_notice_read_and_hides_it(
    session: Session, gate: Gate, station: Station, client: TestClient
) -> None:
    driver_tested(session, gate, station, "positive")
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    page = client.get("/checkpoints/notices")
    notice_id = page.text.split('data-id="')[1].split('"')[0]
    done = client.post(f"/checkpoints/notices/{notice_id}/read", follow_redirects=False)
    assert done.status_code == 303
    assert 'id="no-notices"' in client.get("/checkpoints/notices").text
    everything = client.get("/checkpoints/notices?all=1").text
    assert notice_id in everything
    assert "read" in everything
    assert client.post("/checkpoints/notices/nonsense/read").status_code == 404


def test_reading_notices_that_name_people_is_audited(
    session: Session, gate: Gate, station: Station, api: TestClient
) -> None:
    driver = driver_tested(session, gate, station, "positive")
    before = len(audit_entries(session, action="read", object_id=driver.id))
    api_notices(api, session, Role.DISTRICT_OFFICER, BA_DINH)
    assert len(audit_entries(session, action="read", object_id=driver.id)) == before + 1


def test_a_checkpoint_officer_does_not_read_the_units_notices(
    session: Session, gate: Gate, station: Station, api: TestClient
) -> None:
    driver_tested(session, gate, station, "positive")
    user, _ = make_user(session, Role.CHECKPOINT_OFFICER, BA_DINH)
    assert api.get("/api/checkpoint-notices", headers=bearer(session, user)).status_code == 403
