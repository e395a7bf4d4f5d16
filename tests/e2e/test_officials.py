"""A commune health official's day in the browser: log in, find, register, import, log out."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from phongdich.persons.models import Person
from phongdich.text import fold
from tests.e2e.conftest import LiveApp, Screenshots

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page

pytestmark = pytest.mark.e2e

PHUC_XA_OFFICER, TRUC_BACH_OFFICER = "yte.phucxa", "yte.trucbach"
PHUC_XA = "00001"


def log_in(page: Page, live_app: LiveApp, username: str) -> None:
    """As a newcomer would: open the site, land on the login page, fill it in."""
    page.goto("/")
    assert page.url.endswith("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(live_app.passwords[username])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$"))
    assert username in page.locator(".who").inner_text()


def a_phuc_xa_resident(live_app: LiveApp) -> Person:
    """Someone living only in Phúc Xá (so Trúc Bạch's officer may not see them), whose name
    nobody else in the city has, and who lives with others."""
    with live_app.database.transaction() as session:
        members = (
            select(Person.household_id)
            .group_by(Person.household_id)
            .having(func.count() > 1)
            .scalar_subquery()
        )
        unique_names = (
            select(Person.name_folded)
            .group_by(Person.name_folded)
            .having(func.count() == 1)
            .scalar_subquery()
        )
        person = session.scalars(
            select(Person)
            .where(
                Person.permanent_unit_code == PHUC_XA,
                Person.temporary_unit_code.is_(None),
                Person.household_id.in_(members),
                Person.name_folded.in_(unique_names),
            )
            .order_by(Person.name_folded)
            .limit(1)
        ).one()
        session.expunge(person)
        return person


def test_find_a_person_by_name_without_diacritics(
    page: Page, live_app: LiveApp, shot: Screenshots
) -> None:
    person = a_phuc_xa_resident(live_app)
    page.goto("/")
    shot(page, "login")
    log_in(page, live_app, PHUC_XA_OFFICER)
    shot(page, "home")
    page.get_by_role("navigation").get_by_role("link", name="Người dân").click()
    search = page.get_by_role("textbox", name="Tìm kiếm")
    search.fill(fold(person.full_name))
    search.press("Enter")
    page.wait_for_url(re.compile(r"/persons\?q="))
    shot(page, "search")
    page.get_by_role("link", name=person.full_name, exact=True).click()
    page.wait_for_url(f"**/persons/{person.id}")
    assert page.get_by_role("heading", level=1).inner_text() == person.full_name
    assert page.get_by_text("Thường trú").is_visible()
    assert page.get_by_role("heading", name="Thành viên hộ gia đình").is_visible()
    members = page.locator("section", has=page.get_by_text("Thành viên hộ gia đình"))
    assert members.get_by_role("link").count() >= 1
    shot(page, "person")


def test_another_communes_officer_cannot_open_the_person(
    page: Page, live_app: LiveApp, shot: Screenshots
) -> None:
    person = a_phuc_xa_resident(live_app)
    log_in(page, live_app, TRUC_BACH_OFFICER)
    response = page.goto(f"/persons/{person.id}")
    assert response is not None
    assert response.status == 404
    assert page.get_by_role("heading", name="Không tìm thấy").is_visible()
    assert person.full_name not in page.content()
    shot(page, "not-found")


def test_switch_to_english_and_back(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    log_in(page, live_app, PHUC_XA_OFFICER)
    page.get_by_role("link", name="EN", exact=True).click()
    assert page.get_by_role("navigation").get_by_role("link", name="People").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    # The choice is kept from page to page.
    page.get_by_role("navigation").get_by_role("link", name="People").click()
    assert page.get_by_role("heading", name="People").is_visible()
    shot(page, "english")
    page.get_by_role("link", name="VI", exact=True).click()
    assert page.get_by_role("heading", name="Người dân").is_visible()
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_role("navigation").get_by_role("link", name="Đơn vị hành chính").click()
    assert page.get_by_role("heading", name="Đơn vị hành chính").is_visible()


def test_register_with_a_bad_cccd_then_fix_it(
    page: Page, live_app: LiveApp, shot: Screenshots
) -> None:
    serial = f"{random.randrange(10**6):06d}"
    number = "001190" + serial  # Hà Nội, female, born 1990
    log_in(page, live_app, PHUC_XA_OFFICER)
    page.get_by_role("navigation").get_by_role("link", name="Đăng ký").click()
    assert page.get_by_role("heading", name="Đăng ký người dân").is_visible()

    # A scanner that dropped a field: the QR cannot be read, and says why.
    qr_box = page.get_by_label("Mã QR trên thẻ CCCD")
    qr_box.fill(f"{number}||Lê Thị Hoa|12051990|Nữ|Số 5 phố Phó Đức Chính")
    qr_box.press("Enter")
    assert page.get_by_text("Không đọc được mã QR").is_visible()
    shot(page, "bad-qr")

    # The whole QR fills the form.
    qr_box = page.get_by_label("Mã QR trên thẻ CCCD")
    qr_box.fill(f"{number}||Lê Thị Hoa|12051990|Nữ|Số 5 phố Phó Đức Chính|01022021")
    qr_box.press("Enter")
    assert page.get_by_label("Họ và tên").input_value() == "Lê Thị Hoa"
    assert page.get_by_label("Số giấy tờ").input_value() == number

    # The official mistypes the number while checking it: the error sits next to the field.
    page.get_by_label("Số giấy tờ").fill("999190" + serial)
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_role("button", name="Đăng ký", exact=True).click()
    error = page.locator("#e-document_number")
    assert "mã tỉnh" in error.inner_text()
    assert page.get_by_label("Họ và tên").input_value() == "Lê Thị Hoa"
    assert page.get_by_label("Số điện thoại").input_value() == "0912 345 678"
    shot(page, "bad-cccd")

    page.get_by_label("Số giấy tờ").fill(number)
    page.get_by_role("button", name="Đăng ký", exact=True).click()
    page.wait_for_url(re.compile(r"/persons/[0-9a-f-]{36}\?notice=registered"))
    assert page.get_by_text("Đã đăng ký người dân.").is_visible()
    assert page.get_by_role("heading", level=1).inner_text() == "Lê Thị Hoa"
    assert page.get_by_role("cell", name=number).is_visible()
    shot(page, "registered")


def test_upload_a_csv_with_one_bad_row(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    serial = random.randrange(10**6 - 3)
    rows = [
        "document_number,full_name,birth_date,sex,phone,unit_code,address,household_code",
        f"001080{serial:06d},Hoàng Văn Nam,1980-01-02,Nam,,{PHUC_XA},Số 2 Hòe Nhai,",
        f"001081{serial + 1:06d},Hoàng Văn Bắc,31/02/1981,Nam,,{PHUC_XA},Số 3 Hòe Nhai,",
        f"001182{serial + 2:06d},Vũ Thị Lan,1982,Nữ,,{PHUC_XA},Số 4 Hòe Nhai,",
    ]
    log_in(page, live_app, PHUC_XA_OFFICER)
    page.get_by_role("navigation").get_by_role("link", name="Nhập danh sách").click()
    csv_file: FilePayload = {
        "name": "danh-sach.csv",
        "mimeType": "text/csv",
        "buffer": ("\n".join(rows) + "\n").encode(),
    }
    page.get_by_label("Tệp CSV").set_input_files(files=csv_file)
    page.get_by_role("button", name="Nhập danh sách").click()
    result = page.locator(".counts")
    assert "2 tạo mới" in result.inner_text()
    assert "1 bị từ chối" in result.inner_text()
    rejected = page.locator("table.rejected tbody tr")
    assert rejected.count() == 1
    assert rejected.locator("td").nth(0).inner_text() == "3"
    assert rejected.locator("td").nth(1).inner_text() == "birth_date"
    assert "không phải là ngày có thật" in rejected.locator("td").nth(2).inner_text()
    shot(page, "import")


def test_log_out(page: Page, live_app: LiveApp, shot: Screenshots) -> None:
    log_in(page, live_app, PHUC_XA_OFFICER)
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert page.get_by_role("heading", name="Đăng nhập").is_visible()
    page.goto("/persons")
    assert "/login" in page.url
    shot(page, "logged-out")


@pytest.fixture
def browser_phone(browser: Browser, live_app: LiveApp) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_app.url,
        locale="vi-VN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        log_in(page, live_app, PHUC_XA_OFFICER)
        yield page
    finally:
        context.close()


def test_the_register_form_fits_a_phone(browser_phone: Page, shot: Screenshots) -> None:
    page = browser_phone
    page.goto("/persons/new")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, "the form scrolls sideways on a phone"
    shot(page, "phone-register")
