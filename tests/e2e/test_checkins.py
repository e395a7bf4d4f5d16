"""The three ways to check in, in a real browser: the citizen's phone on the poster page, the
venue's staff scanning passes and CCCD cards, and a paper logbook uploaded twice."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import segno
from PIL import Image
from sqlalchemy import select

from phongdich.auth.actor import system_actor
from phongdich.auth.models import User
from phongdich.auth.service import actor_for_user
from phongdich.checkins.models import CheckinEvent
from phongdich.config import Settings, get_settings
from phongdich.credentials.keys import keyring
from phongdich.credentials.passes import issue_current_pass
from phongdich.credentials.status import record_fact
from phongdich.persons.models import Person
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveApp, Screenshots
from tests.factories import cccd, make_person

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

pytestmark = pytest.mark.e2e

PHONE_WIDTH, PHONE_HEIGHT = 390, 844
PHUC_XA = "00001"
MANAGER = "quanly.cho"  # the demo's venue manager, of a market in Phúc Xá


@dataclass(frozen=True)
class Visitor:
    id: uuid.UUID
    document_number: str
    phone: str
    full_name: str


def a_venue(live_app: LiveApp) -> str:
    """A new market run by the demo's venue manager; its code."""
    with live_app.database.transaction() as session:
        user = session.scalars(select(User).where(User.username == MANAGER)).one()
        venue = register_venue(
            session=session,
            actor=actor_for_user(session, user, origin="tests"),
            data=VenueInput(
                name=f"Chợ Châu Long {uuid.uuid4().hex[:4]}",
                category="market",
                unit_code=PHUC_XA,
                address="Phố Châu Long",
            ),
        )
        return venue.code


def a_visitor(live_app: LiveApp, full_name: str, fact: str | None = None) -> Visitor:
    """Someone registered in Phúc Xá; `vaccinated` is green, `case_confirmed` is red."""
    with live_app.database.transaction() as session:
        person = make_person(session, full_name=full_name, permanent_unit_code=PHUC_XA)
        if fact is not None:
            record_fact(
                session=session,
                actor=system_actor("tests"),
                person_id=person.id,
                kind="vaccination_dose" if fact == "vaccinated" else fact,
                occurred_at=datetime.now(UTC) - timedelta(days=30),
                value={"dose_number": 2, "full_course": True} if fact == "vaccinated" else {},
            )
        return Visitor(person.id, person.documents[0].number, person.phone or "", full_name)


def events(live_app: LiveApp, code: str) -> list[tuple[str, str]]:
    from phongdich.venues.models import Venue

    with live_app.database.transaction() as session:
        return [
            (direction, source)
            for direction, source in session.execute(
                select(CheckinEvent.direction, CheckinEvent.source)
                .join(Venue, Venue.id == CheckinEvent.venue_id)
                .where(Venue.code == code)
                .order_by(CheckinEvent.at)
            )
        ]


def live_keys_settings(live_app: LiveApp) -> Settings:
    """The live app's settings as far as its keys go: the folder holding its database."""
    folder = Path(str(live_app.database.engine.url.database)).parent
    return Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'demo.db'}")


def log_in(page: Page, live_app: LiveApp, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(live_app.passwords[username])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$"))


def test_a_citizen_checks_in_and_out_on_a_phone(
    browser: Browser, live_app: LiveApp, shot: Screenshots
) -> None:
    code = a_venue(live_app)
    visitor = a_visitor(live_app, "Đỗ Minh Hằng")
    context = browser.new_context(
        base_url=live_app.url,
        locale="vi-VN",
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"/c/{code}")
        shot(page, "poster")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        page.get_by_label("Số giấy tờ").fill(visitor.document_number)
        page.get_by_label("Số điện thoại").fill(visitor.phone)
        page.get_by_role("button", name="Tiếp tục").click()
        page.get_by_text("Xin chào, DMH").wait_for()
        shot(page, "remembered")
        page.get_by_role("button", name="Khai báo vào").click()
        page.get_by_text(re.compile(r"Đã vào Chợ Châu Long \w+ lúc \d\d:\d\d")).wait_for()
        shot(page, "checked-in")
        assert page.get_by_text(re.compile(r"^Đã vào lúc \d\d:\d\d$")).is_visible()
        page.get_by_role("button", name="Khai báo ra").click()
        page.get_by_text(re.compile(r"Đã ra khỏi Chợ Châu Long \w+ lúc")).wait_for()
        shot(page, "checked-out")
        # The next poster needs no identification: one tap.
        page.goto(f"/c/{code}")
        assert page.get_by_role("button", name="Khai báo vào").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    finally:
        context.close()
    assert events(live_app, code) == [("in", "phone"), ("out", "phone")]


def scan(page: Page, text: str) -> None:
    """What a USB scanner does: type the code into the focused input and press Enter."""
    scanner = page.locator("#scan-text")
    assert page.evaluate("document.activeElement.id") == "scan-text"
    scanner.fill(text)
    scanner.press("Enter")


def verdict_text(page: Page, expected: str) -> str:
    """The verdict once its headline (the colour, or what went wrong) says `expected`."""
    page.locator("#verdict .verdict-colour").filter(has_text=expected).wait_for()
    return page.locator("#verdict").inner_text()


def test_staff_scan_passes_and_cards_and_refuse_red(
    page: Page, live_app: LiveApp, shot: Screenshots
) -> None:
    code = a_venue(live_app)
    green = a_visitor(live_app, "Vũ Thị Lan", fact="vaccinated")
    card_holder = a_visitor(live_app, "Ngô Văn Hải", fact="vaccinated")
    red = a_visitor(live_app, "Lý Thanh Tâm", fact="case_confirmed")
    with live_app.database.transaction() as session:
        person = session.get_one(Person, green.id)
        pass_text = issue_current_pass(
            session=session,
            actor=system_actor("tests"),
            person=person,
            keys=keyring(live_keys_settings(live_app)),
        ).text
    card_text = "|".join(
        (card_holder.document_number, "", card_holder.full_name, "05051985", "Nam", "Phúc Xá", "")
    )

    log_in(page, live_app, MANAGER)
    page.goto(f"/venues/{code}/scan")
    shot(page, "scanner")

    scan(page, pass_text)
    shown = verdict_text(page, "Xanh")
    shot(page, "green-pass")
    assert "VTL" in shown
    assert "Đã vào" in shown
    assert "Lan" not in shown  # initials, never the name
    assert page.locator("#scan-text").input_value() == ""
    assert page.evaluate("document.activeElement.id") == "scan-text"

    scan(page, card_text)
    page.locator("#verdict").get_by_text("NVH").wait_for()
    assert "Đã vào" in page.locator("#verdict").inner_text()

    scan(page, red.document_number)
    shown = verdict_text(page, "KHÔNG CHO VÀO")
    shot(page, "red-refused")
    assert "Đỏ" in shown
    assert "LTT" in shown
    assert "trạng thái đỏ: không cho vào" in shown
    assert "verdict-red" in (page.locator("#verdict").get_attribute("class") or "")

    # The visitor with the pass leaves at once: a minute after coming in, "automatic" would
    # take it for a second scan at the door, so the staff choose "out".
    page.get_by_label("Ra", exact=True).check()
    scan(page, green.document_number)
    page.locator("#verdict").get_by_text("Đã ra").wait_for()

    scan(page, "not a code at all")
    verdict_text(page, "không phải mã QR cá nhân, mã QR thẻ CCCD hay số giấy tờ")
    assert events(live_app, code) == [("in", "staff"), ("in", "staff"), ("out", "staff")]


def test_a_paper_log_uploaded_twice(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    code = a_venue(live_app)
    known = a_visitor(live_app, "Phan Quốc Bảo")
    at = datetime.now(get_settings().tz) - timedelta(hours=5)
    csv = (
        "venue_code,document_number,full_name,phone,checkin_at,checkout_at\n"
        f"{code},{known.document_number},{known.full_name},,{at:%d/%m/%Y %H:%M},"
        f"{at + timedelta(hours=1):%d/%m/%Y %H:%M}\n"
        f"{code},{cccd(born=1970)},Mai Thị Hoa,0987654321,{at:%Y-%m-%d %H:%M},\n"
        f"{code},123,Tên Sai,,{at:%Y-%m-%d %H:%M},\n"
    ).encode()
    upload: FilePayload = {"name": "so-ra-vao.csv", "mimeType": "text/csv", "buffer": csv}
    log_in(page, live_app, MANAGER)
    page.goto("/checkins/paper")
    for attempt in ("first", "second"):
        page.get_by_label("Tệp CSV").set_input_files(files=[upload])
        page.get_by_role("button", name="Tải lên").click()
        page.get_by_role("heading", name=re.compile("so-ra-vao.csv")).wait_for()
        shot(page, attempt)
        counts = page.locator(".paper-counts li").all_inner_texts()
        rows = page.locator("table.rejected tbody tr").all_inner_texts()
        assert len(rows) == 1
        assert rows[0].startswith("4")
        assert "document_number" in rows[0]
        if attempt == "first":
            assert counts == [
                "2 tạo mới",
                "0 không thay đổi",
                "1 bị từ chối",
                "1 người được đăng ký mới",
            ]
        else:
            assert counts == [
                "0 tạo mới",
                "2 không thay đổi",
                "1 bị từ chối",
                "0 người được đăng ký mới",
            ]
    assert sorted(events(live_app, code)) == [("in", "paper"), ("in", "paper"), ("out", "paper")]


def _mjpeg(text: str, path: Path, frames: int = 10) -> None:
    """A fake camera: a QR code on a grey background, as concatenated JPEG frames."""
    qr = io.BytesIO()
    segno.make(text, error="m").save(qr, kind="png", scale=6, border=4)
    code = Image.open(io.BytesIO(qr.getvalue())).convert("RGB")
    frame = Image.new("RGB", (640, 480), (200, 200, 200))
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    one = io.BytesIO()
    frame.save(one, "JPEG", quality=90)
    path.write_bytes(one.getvalue() * frames)


def test_the_camera_reads_a_pass(
    browser: Browser, live_app: LiveApp, tmp_path: Path, shot: Screenshots
) -> None:
    code = a_venue(live_app)
    holder = a_visitor(live_app, "Trịnh Văn Khoa", fact="vaccinated")
    video = tmp_path / "camera.mjpeg"
    _mjpeg(holder.document_number, video)
    camera_browser = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(base_url=live_app.url, locale="vi-VN")
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, live_app, MANAGER)
        page.goto(f"/venues/{code}/scan")
        page.get_by_role("button", name="Dùng camera").click()
        page.locator("#verdict").get_by_text("TVK").wait_for()
        shot(page, "camera")
        assert "Đã vào" in page.locator("#verdict").inner_text()
        page.get_by_role("button", name="Tắt camera").click()
    finally:
        camera_browser.close()
    assert events(live_app, code) == [("in", "staff")]
