"""The officer's page answers only to this computer's own names (no DNS rebinding), and a
rapid test taken before the scan changes the next verdict."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.station.page import create_page
from phongdich.station.runtime import Station
from tests.checkpoints.helpers import Gate, gate, officer, pass_text, station
from tests.factories import make_person

__all__ = ["gate", "officer", "station"]


def test_another_host_name_is_refused(station: Station) -> None:
    with TestClient(create_page(station), base_url="http://evil.example:8765") as client:
        assert client.get("/state").status_code == 400
        refused = client.post(
            "/vehicle", data={"plate": "X"}, headers={"Origin": "http://evil.example:8765"}
        )
        assert refused.status_code == 400
    with TestClient(create_page(station), base_url="http://localhost:8765") as client:
        assert client.get("/state").status_code == 200


def test_a_rapid_test_before_the_scan_decides_the_next_verdict(
    session: Session, gate: Gate, station: Station
) -> None:
    with TestClient(create_page(station), base_url="http://127.0.0.1:8765") as client:
        response = client.post(
            "/rapid-test", data={"passage_id": "next", "result": "positive"}, follow_redirects=False
        )
        assert response.status_code == 303
    shown = station.scan(pass_text(session, make_person(session), gate.keys))
    assert shown is not None
    assert shown.verdict == "turn_back"
    assert shown.reason == "Positive rapid test at the lane: isolate and confirm by PCR"
    assert station.queue.recent(1)[0]["rapid_test"] == "positive"
    after = station.scan(pass_text(session, make_person(session), gate.keys))
    assert after is not None
    assert after.verdict == "pass"  # the test was for one person
