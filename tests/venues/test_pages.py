"""The venue pages: registering (with a sign-up), the lists, one venue, deciding, importing."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.models import User
from phongdich.auth.roles import Role
from phongdich.deps import SESSION_COOKIE
from phongdich.venues import pages
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from phongdich.web.templating import environment
from tests.factories import HANG_BAC, PHUC_XA, TRUC_BACH, audit_entries, make_user
from tests.web.pages import field_error, field_value, sign_in


def _form(**overrides: str) -> dict[str, str]:
    values = {
        "name": "Quán cà phê Hòe Nhai",
        "category": "cafe",
        "unit_code": PHUC_XA,
        "address": "Số 8 phố Hòe Nhai",
        "capacity": "40",
        "default_visit_minutes": "",
    }
    values.update(overrides)
    return values


def _text(response_text: str) -> str:
    return html.unescape(response_text)


def _venue(session: Session, manager: Actor, name: str = "Chợ Châu Long", **extra: str) -> Venue:
    data = {"name": name, "category": "market", "unit_code": PHUC_XA, **extra}
    return register_venue(session=session, actor=manager, data=VenueInput.model_validate(data))


def _by_code(session: Session, code: str) -> Venue:
    session.expire_all()
    return session.scalars(select(Venue).where(Venue.code == code)).one()


# Registering


def test_a_manager_registers_a_venue(client: TestClient, session: Session) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    form = client.get("/venues/register")
    assert form.status_code == 200
    assert "Đăng ký địa điểm" in form.text
    assert "Quán cà phê" in form.text  # the categories, in Vietnamese
    assert field_value(form.text, "unit_code") == PHUC_XA
    assert 'name="password"' not in form.text  # already has an account

    response = client.post("/venues/register", data=_form(), follow_redirects=False)
    assert response.status_code == 303
    code = response.headers["location"].split("/")[2].split("?")[0]
    assert response.headers["location"] == f"/venues/{code}?notice=venue-registered"
    venue = _by_code(session, code)
    assert venue.name == "Quán cà phê Hòe Nhai"
    assert venue.status == "pending"
    assert venue.manager_id == manager.user_id
    assert venue.capacity == 40
    assert venue.default_visit_minutes == 60  # a café's usual visit

    page = client.get(response.headers["location"])
    assert "Đã đăng ký địa điểm" in page.text
    assert "Chờ phê duyệt" in page.text


def test_register_errors_are_shown_next_to_the_field_with_the_values_kept(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    missing = client.post("/venues/register", data=_form(name=""))
    assert missing.status_code == 422
    assert field_error(missing.text, "name") == "bắt buộc"
    assert field_value(missing.text, "address") == "Số 8 phố Hòe Nhai"

    bad_capacity = client.post("/venues/register", data=_form(capacity="bốn mươi"))
    assert bad_capacity.status_code == 422
    assert field_error(bad_capacity.text, "capacity") == "một số nguyên, ít nhất là 1"
    assert field_value(_text(bad_capacity.text), "capacity") == "bốn mươi"

    too_long = client.post("/venues/register", data=_form(default_visit_minutes="2000"))
    assert field_error(too_long.text, "default_visit_minutes") == (
        "số phút (số nguyên), từ 5 đến 720"
    )
    no_category = client.post("/venues/register", data=_form(category=""))
    assert field_error(no_category.text, "category") == "bắt buộc"
    no_unit = client.post("/venues/register", data=_form(unit_code="99999"))
    assert field_error(_text(no_unit.text), "unit_code") == "không có đơn vị hành chính mã 99999"
    assert session.scalar(select(Venue).where(Venue.name == "Quán cà phê Hòe Nhai")) is None


def test_an_official_registers_only_inside_the_jurisdiction_and_is_approved_at_once(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    outside = client.post("/venues/register", data=_form(unit_code=TRUC_BACH))
    assert outside.status_code == 422
    assert field_error(_text(outside.text), "unit_code") == "ngoài địa bàn của bạn"
    inside = client.post("/venues/register", data=_form(), follow_redirects=False)
    assert inside.status_code == 303
    code = inside.headers["location"].split("/")[2].split("?")[0]
    assert _by_code(session, code).status == "approved"


def test_a_visitor_signs_up_and_registers_in_one_step(client: TestClient, session: Session) -> None:
    form = client.get("/venues/register")
    assert form.status_code == 200
    for name in ("full_name", "username", "password"):
        assert f'id="f-{name}"' in form.text

    values = _form(full_name="Trần Văn Bình", username="binh.hoenhai", password="mat khau 123")
    response = client.post("/venues/register", data=values, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login?next=/venues/")
    assert location.endswith("&notice=signed-up")
    code = location.split("/venues/")[1].split("&")[0]
    venue = _by_code(session, code)
    user = session.scalars(select(User).where(User.username == "binh.hoenhai")).one()
    assert user.role == Role.VENUE_MANAGER.value
    assert user.full_name == "Trần Văn Bình"
    assert venue.manager_id == user.id
    assert venue.status == "pending"

    # Logging in leads to the new venue.
    login = client.post(
        "/login",
        data={"username": "binh.hoenhai", "password": "mat khau 123", "next": f"/venues/{code}"},
        follow_redirects=False,
    )
    assert login.headers["location"] == f"/venues/{code}"
    assert "Quán cà phê Hòe Nhai" in _text(client.get(f"/venues/{code}").text)


def test_sign_up_errors_name_the_field_and_never_echo_the_password(
    client: TestClient, session: Session
) -> None:
    taken, _ = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    values = _form(full_name="Trần Văn Bình", username=taken.username, password="mat khau 123")
    response = client.post("/venues/register", data=values)
    assert response.status_code == 409
    assert field_error(response.text, "username") == (
        "tên đăng nhập này đã có người dùng; hãy chọn tên khác"
    )
    assert "mat khau 123" not in response.text
    assert field_value(_text(response.text), "full_name") == "Trần Văn Bình"

    short = client.post("/venues/register", data={**values, "username": "binh2", "password": "x"})
    assert short.status_code == 422
    assert field_error(short.text, "password") == "ít nhất 8 ký tự"

    nameless = client.post("/venues/register", data={**values, "full_name": ""})
    assert field_error(nameless.text, "full_name") == "bắt buộc"

    bad_venue = client.post(
        "/venues/register", data={**values, "username": "binh3", "unit_code": ""}
    )
    assert field_error(bad_venue.text, "unit_code") == "bắt buộc"
    assert session.scalar(select(User).where(User.username.in_(["binh2", "binh3"]))) is None


def test_roles_without_venues_may_not_register(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    assert client.get("/venues/register").status_code == 403
    assert client.post("/venues/register", data=_form()).status_code == 403
    assert client.get("/venues").status_code == 403


# The lists


def test_a_manager_sees_only_their_own_venues(client: TestClient, session: Session) -> None:
    _, other = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    _venue(session, other, "Hiệu thuốc của người khác")
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    mine = _venue(session, manager, "Chợ Châu Long")
    page = _text(client.get("/venues").text)
    assert "Chợ Châu Long" in page
    assert f'href="/venues/{mine.code}"' in page
    assert "Hiệu thuốc của người khác" not in page
    assert "Phê duyệt</button>" not in page
    assert "/venues/import" not in page


def test_an_official_filters_the_units_venues_and_approves_from_the_list(
    client: TestClient, session: Session
) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    pending = _venue(session, manager, "Chợ Châu Long")
    other = _venue(session, manager, "Quán phở Hòe Nhai", category="restaurant")
    _venue(session, manager, "Chợ Hàng Bè", unit_code=HANG_BAC)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)

    page = _text(client.get("/venues").text)
    assert "Chợ Châu Long" in page
    assert "Quán phở Hòe Nhai" in page
    assert "Chợ Hàng Bè" not in page  # another commune's
    assert page.count("Phê duyệt</button>") == 2
    assert 'href="/venues/import"' in page

    by_name = _text(client.get("/venues", params={"q": "pho hoe"}).text)
    assert "Quán phở Hòe Nhai" in by_name
    assert "Chợ Châu Long" not in by_name
    by_code = _text(client.get("/venues", params={"q": pending.code}).text)
    assert "Chợ Châu Long" in by_code
    assert "Quán phở Hòe Nhai" not in by_code
    by_category = _text(client.get("/venues", params={"category": "restaurant"}).text)
    assert "Quán phở Hòe Nhai" in by_category
    assert "Chợ Châu Long" not in by_category
    by_unit = _text(client.get("/venues", params={"unit": TRUC_BACH}).text)
    assert "Chợ Châu Long" not in by_unit
    assert "Không tìm thấy địa điểm nào" in by_unit
    unknown_unit = client.get("/venues", params={"unit": "99999"})
    assert unknown_unit.status_code == 422
    assert "không có đơn vị hành chính mã 99999" in _text(unknown_unit.text)

    back = f"/venues?status=pending&q={other.code}"
    approved = client.post(
        f"/venues/{other.code}/approve", data={"next": back}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == back + "&notice=venue-approved"
    assert _by_code(session, other.code).status == "approved"
    assert "Đã phê duyệt địa điểm." in client.get(approved.headers["location"]).text
    still_pending = _text(client.get("/venues", params={"status": "pending"}).text)
    assert "Chợ Châu Long" in still_pending
    assert "Quán phở Hòe Nhai" not in still_pending
    # The buttons come back to the list they are on, without the old notice.
    listed = client.get("/venues", params={"status": "pending", "notice": "venue-approved"})
    assert '<input type="hidden" name="next" value="/venues?status=pending">' in listed.text
    # The button never sends anyone to another site.
    elsewhere = client.post(
        f"/venues/{pending.code}/approve",
        data={"next": "https://evil.example/venues"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == f"/venues/{pending.code}?notice=venue-approved"


# One venue


def test_the_venue_page_shows_the_venue_and_its_posters(
    client: TestClient, session: Session
) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager, "Chợ Châu Long", address="Phố Châu Long", capacity="300")
    page = client.get(f"/venues/{venue.code}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "<h1>Chợ Châu Long</h1>" in text
    assert venue.code in text
    assert "Chợ" in text  # the category label
    assert "Phường Phúc Xá</a>, Quận Ba Đình, Thành phố Hà Nội" in text
    assert "Phố Châu Long" in text
    assert f'href="/api/venues/{venue.code}/poster.pdf"' in text
    assert f'href="/api/venues/{venue.code}/poster.png"' in text
    assert f'href="/venues/{venue.code}/edit"' in text
    assert "/suspend" not in text  # a manager does not decide
    english = _text(client.get(f"/venues/{venue.code}?lang=en").text)
    assert "Type of venue" in english
    assert "<dd>Market</dd>" in english
    assert "Awaiting approval" in english
    client.cookies.delete("lang")
    # The poster link works with the page's session cookie.
    pdf = client.get(f"/api/venues/{venue.code}/poster.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"


def test_a_venue_is_not_found_for_other_managers_and_other_units(
    client: TestClient, session: Session
) -> None:
    _, owner = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, owner)
    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    page = client.get(f"/venues/{venue.code}")
    assert page.status_code == 404
    assert "Không tìm thấy" in page.text
    assert "Chợ Châu Long" not in _text(page.text)
    assert client.get(f"/venues/{venue.code}/edit").status_code == 404
    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert client.get(f"/venues/{venue.code}").status_code == 404
    client.cookies.delete(SESSION_COOKIE)
    anonymous = client.get(f"/venues/{venue.code}", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=/venues/{venue.code}"


def test_an_official_approves_suspends_and_lifts_the_suspension(
    client: TestClient, session: Session
) -> None:
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    page = client.get(f"/venues/{venue.code}").text
    assert f'action="/venues/{venue.code}/approve"' in page
    assert f'action="/venues/{venue.code}/suspend"' in page

    approved = client.post(f"/venues/{venue.code}/approve", follow_redirects=False)
    assert approved.headers["location"] == f"/venues/{venue.code}?notice=venue-approved"
    assert _by_code(session, venue.code).status == "approved"

    no_reason = client.post(f"/venues/{venue.code}/suspend", data={"reason": " "})
    assert no_reason.status_code == 422
    assert field_error(no_reason.text, "reason") == "bắt buộc"
    assert _by_code(session, venue.code).status == "approved"

    suspended = client.post(
        f"/venues/{venue.code}/suspend",
        data={"reason": "Có ca F0 đến chợ ngày 12/9"},
        follow_redirects=False,
    )
    assert suspended.headers["location"] == f"/venues/{venue.code}?notice=venue-suspended"
    assert _by_code(session, venue.code).status == "suspended"
    entry = audit_entries(session, action="suspended", object_id=venue.id)[-1]
    assert entry.detail == "Có ca F0 đến chợ ngày 12/9"
    page = client.get(suspended.headers["location"]).text
    assert "Đã tạm dừng địa điểm" in page
    assert "Bỏ tạm dừng" in page

    client.post(f"/venues/{venue.code}/approve")
    assert _by_code(session, venue.code).status == "approved"


def test_a_manager_cannot_decide(client: TestClient, session: Session) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager)
    assert client.post(f"/venues/{venue.code}/approve").status_code == 403
    assert client.post(f"/venues/{venue.code}/suspend", data={"reason": "x"}).status_code == 403
    assert _by_code(session, venue.code).status == "pending"


def test_a_manager_edits_the_venue(client: TestClient, session: Session) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager, capacity="300")
    form = client.get(f"/venues/{venue.code}/edit")
    assert form.status_code == 200
    assert field_value(_text(form.text), "name") == "Chợ Châu Long"
    assert field_value(form.text, "capacity") == "300"
    assert field_value(form.text, "default_visit_minutes") == "60"

    bad = client.post(f"/venues/{venue.code}/edit", data=_form(name="Chợ Châu Long", capacity="0"))
    assert bad.status_code == 422
    assert field_error(bad.text, "capacity") == "một số nguyên, ít nhất là 1"

    saved = client.post(
        f"/venues/{venue.code}/edit",
        data=_form(name="Chợ Châu Long (cổng 2)", category="market", capacity=""),
        follow_redirects=False,
    )
    assert saved.headers["location"] == f"/venues/{venue.code}?notice=saved"
    changed = _by_code(session, venue.code)
    assert changed.name == "Chợ Châu Long (cổng 2)"
    assert changed.capacity is None
    assert changed.code == venue.code


@pytest.fixture
def test_section() -> Iterator[list[tuple[object, ...]]]:
    """A section provider of a higher domain, with its own template."""
    env = environment()
    original = env.loader
    assert original is not None
    env.loader = ChoiceLoader(
        [
            DictLoader(
                {"tests/venue_section.html": "<p id=s>{{ section.context.word }} {{ venue.code }}"}
            ),
            original,
        ]
    )
    calls: list[tuple[object, ...]] = []

    def shown(session: Session, actor: Actor, venue: Venue) -> pages.VenueSection:
        calls.append((session, actor, venue))
        return pages.VenueSection("tests/venue_section.html", {"word": "counted"})

    def hidden(session: Session, actor: Actor, venue: Venue) -> None:
        return None

    pages.venue_page_section("tests-shown")(shown)
    pages.venue_page_section("tests-hidden")(hidden)
    try:
        yield calls
    finally:
        del pages.VENUE_PAGE_SECTIONS.providers["tests-shown"]
        del pages.VENUE_PAGE_SECTIONS.providers["tests-hidden"]
        env.loader = original
        if env.cache is not None:
            env.cache.clear()


def test_registered_sections_are_shown_on_the_venue_page(
    client: TestClient, session: Session, test_section: list[tuple[object, ...]]
) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager)
    page = client.get(f"/venues/{venue.code}")
    assert page.status_code == 200
    assert f"<p id=s>counted {venue.code}" in page.text
    (_, actor, shown_venue), *_ = test_section
    assert isinstance(actor, Actor)
    assert actor.user_id == manager.user_id
    assert isinstance(shown_venue, Venue)
    assert shown_venue.code == venue.code


# Importing


CSV = (
    "code,name,category,unit_code,address,default_visit_minutes\n"
    "CHO-CHAU-LONG,Chợ Châu Long,market,00001,Phố Châu Long,\n"
    "NHA-THUOC-1,Nhà thuốc Số 1,pharmacy,00001,,abc\n"
)


def test_an_official_imports_a_venue_list(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    form = client.get("/venues/import")
    assert form.status_code == 200
    assert "Nhập danh sách địa điểm" in form.text
    response = client.post("/venues/import", files={"file": ("cho.csv", CSV.encode(), "text/csv")})
    assert response.status_code == 200
    text = _text(response.text)
    assert "<strong>1</strong> tạo mới" in text
    assert "<strong>1</strong> bị từ chối" in text
    assert "<td>3</td><td><code>default_visit_minutes</code></td><td>một số nguyên</td>" in text
    assert "cho.csv" in text
    assert _by_code(session, "CHO-CHAU-LONG").status == "approved"

    missing = client.post("/venues/import", files={})
    assert missing.status_code == 422
    bad_file = client.post("/venues/import", files={"file": ("x.csv", b"name\nabc\n", "text/csv")})
    assert bad_file.status_code == 422
    assert "thiếu cột: code" in _text(bad_file.text)


def test_managers_may_not_import(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    assert client.get("/venues/import").status_code == 403
    response = client.post("/venues/import", files={"file": ("x.csv", CSV.encode(), "text/csv")})
    assert response.status_code == 403
