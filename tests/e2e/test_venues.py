"""A shop owner signs up and registers, the ward approves, and the printed QR leads to check-in."""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

import pypdfium2 as pdfium  # type: ignore[import-untyped]  # ships no type information
import pytest
import zxingcpp

from tests.e2e.conftest import LiveApp, Screenshots
from tests.e2e.test_officials import PHUC_XA, PHUC_XA_OFFICER, log_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e


def _qr_in_pdf(pdf: bytes) -> list[str]:
    """What a phone reads off the printed poster (rendered at 150 dpi)."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        try:
            image = page.render(scale=150 / 72).to_pil().convert("L")
        finally:
            page.close()
    finally:
        document.close()
    return [result.text for result in zxingcpp.read_barcodes(image) if result.valid]


def test_a_manager_signs_up_the_ward_approves_and_the_poster_scans(
    page: Page, browser: Browser, live_app: LiveApp, shot: Screenshots
) -> None:
    suffix = f"{random.randrange(10**6):06d}"
    name = f"Tiệm bánh mì Hòe Nhai {suffix}"
    username, password = f"banhmi.{suffix}", "bánh mì nóng giòn"

    # A visitor with no account: the form asks for the venue and for an account.
    page.goto("/venues/register")
    assert page.get_by_role("heading", name="Đăng ký địa điểm").is_visible()
    page.get_by_label("Tên địa điểm").fill(name)
    page.get_by_label("Loại hình địa điểm").select_option("shop")
    page.get_by_label("Mã phường/xã").fill(PHUC_XA)
    page.get_by_label("Địa chỉ").fill("Số 20 phố Hòe Nhai")
    page.get_by_label("Họ và tên").fill("Phạm Thị Lan")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    shot(page, "sign-up")
    page.get_by_role("button", name="Đăng ký địa điểm").click()

    # Then logs in with the new account and lands on the new venue.
    page.wait_for_url(re.compile(r"/login\?next=/venues/"))
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/venues/[0-9A-Z]+$"))
    code = page.url.rsplit("/", 1)[1]
    assert page.get_by_role("heading", level=1).inner_text() == name
    assert page.locator(".venue-status").inner_text() == "Chờ phê duyệt"
    shot(page, "pending")

    # The ward's health officer finds it among the pending venues and approves it.
    official = browser.new_context(base_url=live_app.url, locale="vi-VN")
    official.set_default_timeout(10_000)
    try:
        officer_page = official.new_page()
        log_in(officer_page, live_app, PHUC_XA_OFFICER)
        officer_page.get_by_role("navigation").get_by_role("link", name="Địa điểm").click()
        officer_page.get_by_label("Trạng thái").select_option("pending")
        officer_page.get_by_role("button", name="Tìm kiếm").click()
        officer_page.get_by_role("button", name=f"Phê duyệt {name}").click()
        officer_page.wait_for_url(re.compile(r"notice=venue-approved"))
        assert officer_page.get_by_text("Đã phê duyệt địa điểm.").is_visible()
        # Back on the filtered list, where it is no longer pending.
        assert officer_page.get_by_role("link", name=name).count() == 0
        shot(officer_page, "approved")
    finally:
        official.close()

    # The manager sees it approved and downloads the poster through the page's link.
    page.reload()
    assert page.locator(".venue-status").inner_text() == "Đã phê duyệt"
    link = page.get_by_role("link", name="Áp phích mã QR (PDF, khổ A4)")
    href = link.get_attribute("href")
    assert href == f"/api/venues/{code}/poster.pdf"
    response = page.request.get(live_app.url + href)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert _qr_in_pdf(response.body()) == [f"{live_app.url}/c/{code}"]
    shot(page, "approved-manager")
