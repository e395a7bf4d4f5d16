"""A citizen declares on a phone: no login, one screen, done in well under a minute."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from phongdich.declarations.models import HealthDeclaration
from phongdich.persons.documents import parse_document
from phongdich.persons.service import document_owner
from tests.e2e.conftest import LiveApp, Screenshots
from tests.factories import cccd

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

PHONE_WIDTH, PHONE_HEIGHT = 390, 844  # a common phone screen, in CSS pixels
PHUC_XA = "00001"


def test_first_declaration_on_a_phone(
    browser: Browser, live_app: LiveApp, shot: Screenshots
) -> None:
    context = browser.new_context(
        base_url=live_app.url,
        locale="vi-VN",
        viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    number = cccd(sex="female", born=1992)
    try:
        page.goto("/declare")
        shot(page, "form")
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        page.get_by_label("Số giấy tờ").fill(number)
        page.get_by_label("Số điện thoại").fill("0913579246")
        page.get_by_text("Khai báo lần đầu?").click()
        page.get_by_label("Họ và tên").fill("Phạm Thu Trang")
        page.get_by_label("Ngày sinh").fill("03/07/1992")
        page.get_by_label("Giới tính").select_option("female")
        page.get_by_label("Tỉnh, thành phố", exact=True).select_option("01")
        # The province's communes arrive for the list; typing the code is enough here.
        page.wait_for_function("document.querySelectorAll('#address-units option').length > 0")
        page.get_by_label(re.compile(r"^Phường, xã")).fill(PHUC_XA)
        page.get_by_label("Ho", exact=True).check()
        assert not page.get_by_label("Không có triệu chứng nào").is_checked()
        shot(page, "filled")
        page.get_by_role("button", name="Gửi tờ khai").click()
        page.get_by_role("heading", name="Đã nhận tờ khai").wait_for()
        shot(page, "done")
        assert page.get_by_role("button", name="Xem mã QR cá nhân").is_visible()
    finally:
        context.close()
    with live_app.database.transaction() as session:
        person = document_owner(session, parse_document(number))
        assert person is not None
        stored = session.scalars(
            select(HealthDeclaration).where(HealthDeclaration.person_id == person.id)
        ).one()
        assert (stored.version, stored.symptoms) == (1, ["cough"])
