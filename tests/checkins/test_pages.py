"""Check-in pages: the citizen's poster page, the staff scanning page, paper logs, sections."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import segno
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.devices import COOKIE
from phongdich.auth.roles import Role
from phongdich.checkins.models import CheckinEvent
from phongdich.checkins.pages import unit_section, venue_section
from phongdich.config import Settings, get_settings
from phongdich.credentials.keys import keyring
from phongdich.credentials.passes import issue_current_pass
from phongdich.credentials.status import record_fact
from phongdich.persons.models import Person
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import decide, register_venue
from tests.factories import BA_DINH, PHUC_XA, TRUC_BACH, cccd, make_person, make_user
from tests.web.pages import field_error, sign_in

PHONE_MISMATCH_VI = "số điện thoại này không khớp với hồ sơ"


def _venue(session: Session, actor: Actor, name: str = "Chợ Hòe Nhai") -> Venue:
    return register_venue(
        session=session,
        actor=actor,
        data=VenueInput(
            name=name, category="market", unit_code=PHUC_XA, address="Số 2 phố Hòe Nhai"
        ),
    )


def _official_venue(session: Session) -> Venue:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    return _venue(session, officer)


def _events(session: Session, venue: Venue) -> list[tuple[str, str]]:
    return [
        (direction, source)
        for direction, source in session.execute(
            select(CheckinEvent.direction, CheckinEvent.source)
            .where(CheckinEvent.venue_id == venue.id)
            .order_by(CheckinEvent.at)
        )
    ]


def _hidden_id(html: str) -> str:
    match = re.search(r'<input type="hidden" name="id" value="([0-9a-f-]{36})">', html)
    assert match, "the page holds a one-time id for the tap"
    return match.group(1)


def _vaccinated(session: Session, person: Person) -> None:
    """Fully vaccinated a month ago: green under the default rules."""
    record_fact(
        session=session,
        actor=system_actor("tests"),
        person_id=person.id,
        kind="vaccination_dose",
        occurred_at=datetime.now(UTC) - timedelta(days=30),
        value={"dose_number": 2, "full_course": True},
    )


# The citizen's page


def test_a_citizen_identifies_once_then_checks_in_and_out_with_one_tap(
    client: TestClient, session: Session
) -> None:
    venue = _official_venue(session)
    person = make_person(session, full_name="Trần Thị Bình")
    page = client.get(f"/c/{venue.code.lower()}")
    assert page.status_code == 200
    assert "Chợ Hòe Nhai" in page.text
    assert "Số 2 phố Hòe Nhai" in page.text
    assert f'action="/c/{venue.code}/identify"' in page.text
    assert page.headers["cache-control"] == "no-store"

    # Another phone than the registered one: one message, whatever the document holds.
    wrong = client.post(
        f"/c/{venue.code}/identify",
        data={"document_number": person.documents[0].number, "phone": "0999999999"},
        follow_redirects=False,
    )
    assert wrong.status_code == 422
    assert PHONE_MISMATCH_VI in (field_error(wrong.text, "phone") or "")
    assert COOKIE not in client.cookies

    unknown = client.post(
        f"/c/{venue.code}/identify",
        data={"document_number": cccd(), "phone": "0912345678"},
        follow_redirects=False,
    )
    assert unknown.status_code == 404
    assert f'href="/declare?next=/c/{venue.code}"' in unknown.text
    assert "chưa có tờ khai y tế" in unknown.text

    malformed = client.post(
        f"/c/{venue.code}/identify",
        data={"document_number": "12", "phone": "abc"},
        follow_redirects=False,
    )
    assert malformed.status_code == 422
    assert field_error(malformed.text, "document_number")
    assert field_error(malformed.text, "phone")

    known = client.post(
        f"/c/{venue.code}/identify",
        data={"document_number": person.documents[0].number, "phone": person.phone or ""},
        follow_redirects=False,
    )
    assert known.status_code == 303
    assert known.headers["location"] == f"/c/{venue.code}"
    assert client.cookies.get(COOKIE)

    page = client.get(f"/c/{venue.code}")
    assert "Xin chào, TTB" in page.text
    assert "Bình" not in page.text  # initials only, on a screen others may see
    assert f'action="/c/{venue.code}/in"' in page.text
    assert f'action="/c/{venue.code}/out"' not in page.text
    tap = _hidden_id(page.text)

    checked_in = client.post(f"/c/{venue.code}/in", data={"id": tap}, follow_redirects=False)
    assert checked_in.status_code == 303
    assert checked_in.headers["location"] == f"/c/{venue.code}?done=in"
    # A second tap (the page reloaded, a new id) within the minute is the same check-in.
    again = client.get(f"/c/{venue.code}")
    client.post(f"/c/{venue.code}/in", data={"id": _hidden_id(again.text)})
    client.post(f"/c/{venue.code}/in", data={"id": tap})
    assert _events(session, venue) == [("in", "phone")]

    done = client.get(f"/c/{venue.code}?done=in")
    assert re.search(r"Đã vào Chợ Hòe Nhai lúc \d\d:\d\d, \d\d/\d\d/\d{4}\.", done.text)
    assert re.search(r"Đã vào lúc \d\d:\d\d", done.text)
    assert f'action="/c/{venue.code}/out"' in done.text
    assert f'action="/c/{venue.code}/in"' not in done.text

    out = client.post(
        f"/c/{venue.code}/out", data={"id": _hidden_id(done.text)}, follow_redirects=False
    )
    assert out.headers["location"] == f"/c/{venue.code}?done=out"
    left = client.get(out.headers["location"])
    assert re.search(r"Đã ra khỏi Chợ Hòe Nhai lúc \d\d:\d\d", left.text)
    assert f'action="/c/{venue.code}/in"' in left.text
    assert _events(session, venue) == [("in", "phone"), ("out", "phone")]

    # "Not you?": the phone forgets, and asks again.
    client.post(f"/c/{venue.code}/forget")
    assert not client.cookies.get(COOKIE)
    assert f'action="/c/{venue.code}/identify"' in client.get(f"/c/{venue.code}").text


def test_a_declaration_from_the_poster_remembers_the_phone_and_returns(
    client: TestClient, session: Session
) -> None:
    venue = _official_venue(session)
    form = client.get(f"/declare?next=/c/{venue.code}")
    assert f'name="next" value="/c/{venue.code}"' in form.text
    number = cccd(sex="female", born=1990)
    declared = client.post(
        "/declare",
        data={
            "next": f"/c/{venue.code}",
            "document_number": number,
            "phone": "0913579246",
            "full_name": "Phạm Thu Trang",
            "birth_date": "03/07/1990",
            "sex": "female",
            "address_unit_code": PHUC_XA,
            "no_symptoms": "on",
        },
        follow_redirects=False,
    )
    assert declared.status_code == 303, declared.text
    assert declared.headers["location"] == f"/c/{venue.code}?declared=1"
    page = client.get(declared.headers["location"])
    assert "Đã nhận tờ khai y tế của bạn." in page.text
    assert "Xin chào, PTT" in page.text


def test_declare_sends_back_only_to_a_check_in_page(client: TestClient) -> None:
    for outside in ("https://evil.example/c/X", "//evil.example/c/X", "/c/../admin", "/persons"):
        form = client.get("/declare", params={"next": outside})
        assert form.status_code == 200
        assert 'name="next"' not in form.text


def test_viewing_ones_own_pass_remembers_the_phone(client: TestClient, session: Session) -> None:
    person = make_person(session)
    shown = client.post(
        "/pass", data={"document_number": person.documents[0].number, "phone": person.phone}
    )
    assert shown.status_code == 200
    assert client.cookies.get(COOKIE)
    venue = _official_venue(session)
    assert f'action="/c/{venue.code}/in"' in client.get(f"/c/{venue.code}").text


def test_a_suspended_venue_shows_a_message_and_no_buttons(
    client: TestClient, session: Session
) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    venue = _venue(session, officer)
    person = make_person(session)
    client.post(
        f"/c/{venue.code}/identify",
        data={"document_number": person.documents[0].number, "phone": person.phone or ""},
    )
    decide(session=session, actor=officer, code=venue.code, status="suspended")
    page = client.get(f"/c/{venue.code}")
    assert page.status_code == 200
    assert "đang bị tạm dừng" in page.text
    assert "<button" not in page.text.split("<main>")[1]
    tapped = client.post(f"/c/{venue.code}/in", data={"id": str(uuid.uuid4())})
    assert tapped.status_code == 200
    assert _events(session, venue) == []


def test_unknown_venues_and_bad_input_are_never_errors_of_the_server(
    client: TestClient, session: Session
) -> None:
    assert client.get("/c/NOPE1234").status_code == 404
    assert client.get("/c/" + "X" * 300).status_code == 404
    assert client.post("/c/NOPE1234/in", data={"id": "x"}).status_code == 404
    venue = _official_venue(session)
    # No remembered phone, a tampered id: back to the page, nothing recorded.
    bad = client.post(f"/c/{venue.code}/in", data={"id": "not-a-uuid"}, follow_redirects=False)
    assert bad.status_code == 303
    assert client.post(f"/c/{venue.code}/identify", data={}).status_code == 422
    client.cookies.set(COOKIE, "forged")
    assert f'action="/c/{venue.code}/identify"' in client.get(f"/c/{venue.code}").text
    assert _events(session, venue) == []


# Staff scanning


def test_the_scanning_page_is_for_the_venues_own_manager(
    client: TestClient, session: Session
) -> None:
    owner = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, owner)
    page = client.get(f"/venues/{venue.code}/scan")
    assert page.status_code == 200
    assert re.search(r'<input id="scan-text"[^>]*autofocus', page.text)
    assert 'src="/static/scan.js"' in page.text
    assert f'data-venue="{venue.code}"' in page.text

    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)  # another shop's manager
    assert client.get(f"/venues/{venue.code}/scan").status_code == 404
    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)  # officials of another commune
    assert client.get(f"/venues/{venue.code}/scan").status_code == 404
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    assert client.get(f"/venues/{venue.code}/scan").status_code == 200
    client.cookies.clear()
    anonymous = client.get(f"/venues/{venue.code}/scan", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")


def test_a_scan_answers_in_vietnamese_and_red_is_refused(
    client: TestClient, session: Session, settings: Settings
) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager)
    green = make_person(session, full_name="Lê Văn Cường", born=date(1979, 1, 5))
    _vaccinated(session, green)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    issued = issue_current_pass(
        session=session, actor=officer, person=green, keys=keyring(settings)
    )

    answer = client.post(
        f"/venues/{venue.code}/scan",
        json={"text": issued.text, "direction": "auto", "id": str(uuid.uuid4())},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["colour"], body["colour_label"]) == ("green", "Xanh")
    assert (body["initials"], body["birth_year"]) == ("LVC", 1979)
    assert (body["recorded"], body["refused"], body["direction"]) == (True, False, "in")
    assert body["direction_label"] == "Đã vào"
    assert re.fullmatch(r"\d\d:\d\d", body["time"])
    assert body["reasons"] == ["Đã tiêm đủ liều vắc xin từ 14 ngày trở lên"]
    assert "Cường" not in answer.text  # initials, never a name

    # Nobody on record with a vaccination, a recovery or a test: red, refused, not recorded.
    red = make_person(session)
    refused = client.post(
        f"/venues/{venue.code}/scan",
        json={"text": red.documents[0].number, "direction": "in", "id": str(uuid.uuid4())},
    ).json()
    assert (refused["colour"], refused["refused"], refused["recorded"]) == ("red", True, False)
    assert "trạng thái đỏ: không cho vào" in refused["reasons"]
    assert _events(session, venue) == [("in", "staff")]

    expired = issue_current_pass(
        session=session,
        actor=officer,
        person=green,
        keys=keyring(settings),
        now=datetime.now(UTC) - timedelta(days=10),
    )
    stale = client.post(f"/venues/{venue.code}/scan", json={"text": expired.text})
    assert stale.status_code == 422
    assert stale.json()["error"] == "đã hết hạn"

    unreadable = client.post(f"/venues/{venue.code}/scan", json={"text": "hello"})
    assert unreadable.status_code == 422
    assert unreadable.json()["error"] == "không phải mã QR cá nhân, mã QR thẻ CCCD hay số giấy tờ"
    # The JSON API itself still speaks English.
    api = client.post(f"/api/venues/{venue.code}/scans", json={"text": "hello"})
    assert api.json()["reason"] == "not a personal pass, a CCCD card QR or a document number"


def _qr_image(text: str, kind: str) -> bytes:
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=8, border=4)
    if kind == "png":
        return png.getvalue()
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(png.getvalue())).convert("RGB").save(jpeg, "JPEG", quality=85)
    return jpeg.getvalue()


def test_a_camera_frame_is_decoded_on_the_server(client: TestClient, session: Session) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager)
    card = "001085012345|012345678|Nguyễn Văn An|02041985|Nam|Số 1 phố Hòe Nhai, Phúc Xá|01012021"
    for kind in ("jpeg", "png"):
        found = client.post(
            f"/venues/{venue.code}/scan/frame",
            content=_qr_image(card, kind),
            headers={"Content-Type": f"image/{kind}"},
        )
        assert found.status_code == 200
        assert found.json() == {"text": card}
    nothing = client.post(
        f"/venues/{venue.code}/scan/frame",
        content=b"not an image",
        headers={"Content-Type": "image/jpeg"},
    )
    assert nothing.json() == {"text": None}
    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    other = client.post(
        f"/venues/{venue.code}/scan/frame",
        content=_qr_image(card, "png"),
        headers={"Content-Type": "image/png"},
    )
    assert other.status_code == 404


# Paper logs


def _counts(html: str) -> list[int]:
    listed = re.search(r'<ul class="counts paper-counts">(.*?)</ul>', html, re.S)
    assert listed
    return [int(n) for n in re.findall(r"<strong>(\d+)</strong>", listed.group(1))]


def test_a_paper_log_uploaded_twice_adds_nothing_the_second_time(
    client: TestClient, session: Session
) -> None:
    manager = sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    venue = _venue(session, manager)
    form = client.get("/checkins/paper")
    assert form.status_code == 200
    assert "venue_code,document_number,full_name,phone,checkin_at,checkout_at" in form.text
    local = datetime.now(get_settings().tz) - timedelta(hours=3)
    csv = (
        "venue_code,document_number,full_name,phone,checkin_at,checkout_at\n"
        f"{venue.code},{cccd()},Trần Thị Bình,0912345678,{local:%Y-%m-%d %H:%M},"
        f"{local + timedelta(minutes=40):%d/%m/%Y %H:%M}\n"
        f"{venue.code},{cccd()},Hà Văn Dũng,,yesterday,\n"
    ).encode()
    first = client.post("/checkins/paper", files={"file": ("so-giay.csv", csv, "text/csv")})
    assert first.status_code == 200
    assert _counts(first.text) == [1, 0, 1, 1]  # created, unchanged, rejected, registered
    row = re.search(
        r"<tr><td>3</td><td><code>checkin_at</code></td><td>(.*?)</td></tr>", first.text
    )
    assert row is not None
    assert row.group(1) == "ngày giờ, ví dụ 2021-08-01 08:30 hoặc 01/08/2021 08:30"
    assert _events(session, venue) == [("in", "paper"), ("out", "paper")]

    second = client.post("/checkins/paper", files={"file": ("so-giay.csv", csv, "text/csv")})
    assert _counts(second.text) == [0, 1, 1, 0]
    assert len(_events(session, venue)) == 2

    empty = client.post("/checkins/paper")
    assert empty.status_code == 422
    wrong = client.post("/checkins/paper", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert wrong.status_code == 422
    assert "thiếu cột: venue_code" in wrong.text

    sign_in(client, session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    assert client.get("/checkins/paper").status_code == 403


# Sections of the venue and unit pages


def test_the_venue_section_shows_counts_to_those_who_run_the_venue(session: Session) -> None:
    _, owner = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    _, stranger = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    venue = _venue(session, owner)
    section = venue_section(session, owner, venue)
    assert section is not None
    assert len(section.context["days"]) == 14
    assert section.context["may_record"]
    assert venue_section(session, officer, venue) is not None
    assert venue_section(session, stranger, venue) is None


def test_the_unit_section_is_for_officials_of_the_unit(
    client: TestClient, session: Session
) -> None:
    _, officer = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    _venue(session, officer)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    own = client.get(f"/adminunits/{PHUC_XA}")
    assert "Địa điểm và lượt ra vào" in own.text
    assert own.text.count("<tr><td>") >= 14
    above = client.get(f"/adminunits/{BA_DINH}")
    assert above.status_code == 200
    assert "Địa điểm và lượt ra vào" not in above.text
    sign_in(client, session, Role.VENUE_MANAGER, PHUC_XA)
    assert "Địa điểm và lượt ra vào" not in client.get(f"/adminunits/{PHUC_XA}").text
    unit = session.get_one(AdminUnit, PHUC_XA)
    _, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    assert unit_section(session, manager, unit) is None
    found = unit_section(session, officer, unit)
    assert found is not None
    assert found.context["counts"].venues_registered == 1
