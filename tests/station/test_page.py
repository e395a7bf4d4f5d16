"""The officer's page at the lane: the verdict big and in Vietnamese, the forms, the lists."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.station.page import create_page
from phongdich.station.runtime import Station
from tests.checkpoints.helpers import Gate, gate, officer, pass_text, station, transport
from tests.factories import BA_DINH, make_person
from tests.station.helpers import serve, stop

__all__ = ["gate", "officer", "station"]

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def page(station: Station) -> Iterator[TestClient]:
    with TestClient(create_page(station), base_url="http://127.0.0.1:8765") as client:
        yield client


def test_the_page_renders_in_vietnamese_with_the_bundle_age(page: TestClient) -> None:
    response = page.get("/")
    assert response.status_code == 200
    assert "Đang chờ mã" in response.text
    assert "Danh sách tin cậy cập nhật 0 phút trước" in response.text
    assert "Chốt cửa ngõ Ba Đình" in response.text
    english = page.get("/?lang=en")
    assert "Waiting for a code" in english.text
    assert "Trust list 0 min old" in english.text


def test_a_scanned_pass_shows_the_verdict(
    session: Session, gate: Gate, station: Station, page: TestClient
) -> None:
    text = pass_text(session, make_person(session), gate.keys)
    response = page.post("/scan", data={"code": text + "\n"})
    assert response.status_code == 200
    assert 'class="verdict v-pass"' in response.text
    assert "ĐƯỢC QUA" in response.text
    assert "Cư trú tại địa bàn đến" in response.text
    assert "NVA 1985" in response.text
    # The scanner fires twice: one passage, and the page says so.
    again = page.post("/scan", data={"code": text})
    assert "Mã này vừa được quét" in again.text
    assert station.queue.counts().queued == 1
    state = page.get("/state").json()
    assert state["latest"]["verdict"] == "pass"
    assert state["latest"]["label"] == "ĐƯỢC QUA"
    assert state["status"]["queued"] == 1
    assert [p["traveller"] for p in state["recent"]] == ["NVA 1985"]
    assert "card" not in state["recent"][0]


def test_the_scanner_box_answers_json_to_the_page_script(
    session: Session, gate: Gate, page: TestClient
) -> None:
    red = pass_text(
        session,
        make_person(session),
        gate.keys,
        colour="red",
        reasons=("Confirmed case, not yet recovered",),
        evidence={},
    )
    answer = page.post("/scan", data={"code": red}, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    latest = answer.json()["latest"]
    assert (latest["verdict"], latest["label"]) == ("turn_back", "QUAY LẠI")
    assert latest["reason"] == "Ca bệnh hoặc F1 đang cách ly"
    empty = page.post("/scan", data={"code": " "}, headers={"Accept": "application/json"})
    assert empty.status_code == 422
    assert empty.json()["field"] == "code"
    unknown = page.post("/scan", data={"code": "hello"}, headers={"Accept": "application/json"})
    assert unknown.json()["latest"]["label"] == "KHÔNG NHẬN RA MÃ"


def test_vehicle_lane_and_rapid_test_forms(
    session: Session, gate: Gate, station: Station, page: TestClient
) -> None:
    assert page.post("/lane", data={"direction": "in", "lane": "driver"}).status_code == 200
    response = page.post(
        "/vehicle",
        data={
            "plate": "51c 999.99",
            "vehicle_type": "truck",
            "origin_unit_code": BA_DINH,
            "destination_unit_code": BA_DINH,
            "reason": "chở hàng",
            "transfer_group": "1",
        },
    )
    assert response.status_code == 200
    assert station.context.lane == "driver"
    assert station.context.vehicle_plate == "51C999.99"
    assert station.context.transfer_group
    shown = station.scan(pass_text(session, make_person(session), gate.keys))
    assert shown is not None
    assert shown.passage_id is not None
    assert "Đoàn chuyển giao không có danh sách được chấp nhận" in page.get("/").text
    bad = page.post("/vehicle", data={"origin_unit_code": "NOPE"})
    assert bad.status_code == 422
    assert "NOPE" in bad.text
    assert (
        page.post(
            "/rapid-test", data={"passage_id": shown.passage_id, "result": "maybe"}
        ).status_code
        == 422
    )
    ok = page.post("/rapid-test", data={"passage_id": shown.passage_id, "result": "negative"})
    assert ok.status_code == 200
    station.sync_once()
    assert transport(station).calls[-1] == "POST /api/station/rapid-tests"
    page.post("/vehicle/end")
    assert station.context.group_id is None
    assert station.context.lane == "driver"


def test_a_post_from_another_site_is_refused(
    session: Session, gate: Gate, station: Station, page: TestClient
) -> None:
    text = pass_text(session, make_person(session), gate.keys)
    answer = page.post("/scan", data={"code": text}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert station.queue.counts().queued == 0
    same = page.post("/scan", data={"code": text}, headers={"Origin": "http://127.0.0.1:8765"})
    assert same.status_code == 200
    assert station.queue.counts().queued == 1


@pytest.mark.e2e
def test_the_officer_scans_with_a_usb_scanner_and_sees_the_verdict(
    session: Session, gate: Gate, station: Station
) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("PHONGDICH_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found")
        pytest.skip(f"{CHROMIUM} not found")
    from playwright.sync_api import expect, sync_playwright

    text = pass_text(session, make_person(session), gate.keys)
    url, server, thread, listener = serve(create_page(station))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                tab = browser.new_page(locale="vi-VN")
                tab.set_default_timeout(10_000)
                tab.goto(url + "/")
                expect(tab.locator("#verdict")).to_contain_text("Đang chờ mã")
                box = tab.locator("#code")
                expect(box).to_be_focused()
                box.type(text)  # a scanner types the code ...
                box.press("Enter")  # ... and presses Enter
                expect(tab.locator("#verdict")).to_contain_text("ĐƯỢC QUA")
                expect(tab.locator("#verdict")).to_have_class("verdict v-pass")
                expect(tab.locator("#verdict")).to_contain_text("Cư trú tại địa bàn đến")
                expect(tab.locator("#recent")).to_contain_text("NVA 1985")
                expect(tab.locator("#code")).to_have_value("")
                shots = os.environ.get("PHONGDICH_E2E_SCREENSHOTS")
                if shots:
                    Path(shots).mkdir(parents=True, exist_ok=True)
                    tab.screenshot(path=str(Path(shots) / "station-verdict.png"), full_page=True)
            finally:
                browser.close()
    finally:
        stop(server, thread, listener)
    assert station.queue.counts().queued == 1
