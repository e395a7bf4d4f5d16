"""Officials' pages for quarantine, lockdowns, zone levels and treatment facilities."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.actor import system_actor
from phongdich.auth.roles import Role
from phongdich.cases import quarantine, service, tracing, zones
from phongdich.cases.models import (
    HealthCheck,
    Lockdown,
    QuarantineOrder,
    ScheduledTest,
    TreatmentFacility,
    ZoneLevel,
)
from phongdich.checkins import service as checkins
from phongdich.checkins.schemas import CheckinEventIn
from phongdich.persons.models import Person
from tests.cases.helpers import make_venue
from tests.factories import BA_DINH, HANG_BAC, PHUC_XA, TRUC_BACH, make_person
from tests.web.pages import field_error, sign_in

SYSTEM = system_actor("tests")


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(page))


def _row(page: str, row_id: str) -> str:
    """The text of the table row with that id."""
    match = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row {row_id}"
    return _text(re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def _residents(page: str) -> int:
    match = re.search(r'id="residents-total">(\d+)<', page)
    assert match, "no residents count"
    return int(match.group(1))


def quarantined(session: Session) -> tuple[Person, QuarantineOrder]:
    """An F1 of a case opened now (met the F0 at a Phúc Xá market) and their order."""
    venue = make_venue(session, SYSTEM)
    f0 = make_person(session, full_name="Trần Văn Khải")
    f1 = make_person(session, full_name="Nguyễn Thị Hoa")
    start = datetime.now(UTC).replace(microsecond=0)
    for who in (f0, f1):
        checkins.ingest(
            session=session,
            actor=SYSTEM,
            events=[
                CheckinEventIn(
                    id=uuid.uuid4(), venue_code=venue.code, person_id=who.id, at=at, direction=way
                )
                for at, way in (
                    (start - timedelta(hours=5), "in"),
                    (start - timedelta(hours=4), "out"),
                )
            ],
        )
    case, _ = service.open_case(
        session=session, actor=SYSTEM, person_id=f0.id, reference_time=start - timedelta(hours=1)
    )
    tracing.trace(session=session, actor=SYSTEM, case=case)
    order = session.scalars(select(QuarantineOrder).where(QuarantineOrder.person_id == f1.id)).one()
    return f1, order


# Who may open the pages


def test_the_pages_are_for_officials(client: TestClient, session: Session) -> None:
    anonymous = client.get("/quarantine", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (
        303,
        "/login?next=/quarantine",
    )
    sign_in(client, session, Role.LAB_TECHNICIAN, PHUC_XA)
    for path in ("/quarantine", "/lockdowns", "/zones", "/treatment", f"/zones/{PHUC_XA}"):
        assert client.get(path).status_code == 403, path
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    for path, heading in [
        ("/quarantine", "Cách ly và theo dõi"),
        ("/lockdowns", "Phong tỏa"),
        ("/zones", "Cấp độ dịch"),
        ("/treatment", "Cơ sở điều trị"),
    ]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert heading in page.text, path
        assert 'href="/treatment"' in page.text
    english = client.get("/quarantine?lang=en")
    assert "Quarantine and monitoring" in english.text


# The commune's quarantine day


def test_the_day_lists_each_order_with_what_it_needs(client: TestClient, session: Session) -> None:
    f1, order = quarantined(session)
    first_test = quarantine.local_day(order.starts_at) + timedelta(days=1)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    today = client.get("/quarantine")
    row = _row(today.text, f"order-{order.id}")
    assert f1.full_name in row
    assert "Cách ly" in row
    assert "tại nhà" in row
    assert "ngày 0/14" in row
    assert "chưa khám" in row
    assert re.search(r'id="count-checks">1<', today.text)

    on_test_day = client.get(f"/quarantine?day={first_test.strftime('%d/%m/%Y')}")
    assert "xét nghiệm hôm nay" in _row(on_test_day.text, f"order-{order.id}")
    assert re.search(r'id="count-tests">1<', on_test_day.text)
    later = client.get(f"/quarantine?day={(first_test + timedelta(days=2)).isoformat()}")
    assert "quá hạn xét nghiệm từ" in _row(later.text, f"order-{order.id}")
    assert re.search(r'id="count-overdue">1<', later.text)

    wrong = client.get("/quarantine?day=31/02/2021")
    assert wrong.status_code == 422
    assert field_error(wrong.text, "day") is not None
    assert f1.full_name in wrong.text  # today's list is shown under the refused day


def test_a_health_check_is_recorded_and_marked_done(client: TestClient, session: Session) -> None:
    _, order = quarantined(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    day = zones.today().isoformat()
    path = f"/quarantine/{order.id}/check"
    saved = client.post(
        path,
        data={"day": day, "temperature": "37,8", "symptom_fever": "1", "note": "ho nhẹ"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/quarantine?day={day}&notice=saved")
    check = session.scalars(select(HealthCheck).where(HealthCheck.order_id == order.id)).one()
    assert (check.temperature, check.symptoms, check.note) == (37.8, ["fever"], "ho nhẹ")
    row = _row(client.get("/quarantine").text, f"order-{order.id}")
    assert "đã khám" in row
    assert "chưa khám" not in row


def test_a_wrong_check_is_refused_beside_its_field(client: TestClient, session: Session) -> None:
    f1, order = quarantined(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    path = f"/quarantine/{order.id}/check"
    day = zones.today().isoformat()
    for temperature, reason in [("nóng", "37.5"), ("50", "30 đến 45"), ("nan", "37.5")]:
        refused = client.post(path, data={"day": day, "temperature": temperature})
        assert refused.status_code == 422, temperature
        error = field_error(refused.text, f"temperature-{order.id}")
        assert error is not None, temperature
        assert reason in html.unescape(error), (temperature, error)
        assert f'value="{temperature}"' in refused.text
    future = (zones.today() + timedelta(days=1)).isoformat()
    refused = client.post(path, data={"day": future, "temperature": "37"})
    assert refused.status_code == 422
    assert field_error(refused.text, f"day-{order.id}") is not None
    assert session.scalars(select(HealthCheck).where(HealthCheck.order_id == order.id)).all() == []
    assert client.post(f"/quarantine/{uuid.uuid4()}/check", data={"day": day}).status_code == 404
    assert client.post("/quarantine/not-an-id/check", data={"day": day}).status_code == 404
    assert f1.full_name not in client.post("/quarantine/not-an-id/check").text


def test_release_is_refused_until_the_last_test_is_negative(
    client: TestClient, session: Session
) -> None:
    _, order = quarantined(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    early = client.post(f"/quarantine/{order.id}/release", data={"day": ""})
    assert early.status_code == 409
    assert f"cách ly đến hết ngày {order.ends_on.isoformat()}" in _text(early.text)

    order.ends_on = zones.today()  # the fourteen days are over
    session.flush()
    assert "đến ngày ra cách ly" in _row(client.get("/quarantine").text, f"order-{order.id}")
    untested = client.post(f"/quarantine/{order.id}/release")
    assert untested.status_code == 409
    assert "lần xét nghiệm cuối chưa có kết quả âm tính" in _text(untested.text)

    for test in session.scalars(select(ScheduledTest).where(ScheduledTest.order_id == order.id)):
        test.status, test.result = "done", "negative"
    session.flush()
    released = client.post(f"/quarantine/{order.id}/release", follow_redirects=False)
    assert released.status_code == 303
    session.refresh(order)
    assert order.status == "released"
    assert f"order-{order.id}" not in client.get("/quarantine").text
    twice = client.post(f"/quarantine/{order.id}/release")
    assert twice.status_code == 409
    assert "lệnh cách ly đã kết thúc (released)" in _text(twice.text)


def test_another_communes_orders_are_out_of_reach(client: TestClient, session: Session) -> None:
    f1, order = quarantined(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert f1.full_name not in client.get("/quarantine").text
    day = zones.today().isoformat()
    assert client.post(f"/quarantine/{order.id}/check", data={"day": day}).status_code == 404
    assert client.post(f"/quarantine/{order.id}/release").status_code == 404
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    assert f1.full_name in client.get("/quarantine").text


# Lockdowns


def _residents_of_phuc_xa(session: Session) -> None:
    for number, street in ((1, "Hòe Nhai"), (7, "Hòe Nhai"), (3, "Yên Ninh")):
        make_person(session, permanent_address=f"Số {number} phố {street}")


def test_a_lockdown_declared_narrowed_and_lifted(client: TestClient, session: Session) -> None:
    _residents_of_phuc_xa(session)
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    declared = client.post(
        "/lockdowns",
        data={"unit_code": PHUC_XA, "reason": "F0 ở phố Hòe Nhai", "areas": f"unit {PHUC_XA}\n"},
        follow_redirects=False,
    )
    assert declared.status_code == 303
    lockdown = session.scalars(select(Lockdown).where(Lockdown.unit_code == PHUC_XA)).one()
    assert declared.headers["location"] == f"/lockdowns/{lockdown.code}?notice=saved"
    listed = client.get("/lockdowns").text
    assert f'href="/lockdowns/{lockdown.code}"' in listed
    assert re.search(
        rf'<tr data-code="{PHUC_XA}"><td>[^<]*<code>{PHUC_XA}</code></td><td>1<', listed
    )

    page = client.get(f"/lockdowns/{lockdown.code}").text
    assert _residents(page) == 3
    (area_field,) = re.findall(r'name="(remove-[0-9a-f-]+)"', page)
    narrowed = client.post(
        f"/lockdowns/{lockdown.code}/narrow",
        data={area_field: "1", "add": f"street {PHUC_XA} Hòe Nhai", "reason": "Yên Ninh âm tính"},
        follow_redirects=False,
    )
    assert narrowed.status_code == 303
    page = client.get(f"/lockdowns/{lockdown.code}").text
    assert _residents(page) == 2
    history = _text(page.split('id="lockdown-history"')[1].split("</ol>")[0])
    assert "Ban bố" in history
    assert "Thu hẹp" in history
    assert "Yên Ninh âm tính" in history

    refused = client.post(f"/lockdowns/{lockdown.code}/lift", data={"reason": ""})
    assert refused.status_code == 422
    assert field_error(refused.text, "lift-reason") is not None
    lifted = client.post(
        f"/lockdowns/{lockdown.code}/lift", data={"reason": "Hết 14 ngày"}, follow_redirects=False
    )
    assert lifted.status_code == 303
    assert f'href="/lockdowns/{lockdown.code}"' not in client.get("/lockdowns").text
    again = client.post(f"/lockdowns/{lockdown.code}/lift", data={"reason": "lại"})
    assert again.status_code == 409
    assert "đã được gỡ phong tỏa trước đó" in _text(again.text)
    late = client.post(f"/lockdowns/{lockdown.code}/narrow", data={area_field: "1", "reason": "r"})
    assert late.status_code == 409
    assert "khu vực đã được gỡ phong tỏa" in _text(late.text)


def test_wrong_area_lines_are_named_by_line(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    lines = f"unit {PHUC_XA}\nblock {PHUC_XA}\nstreet {HANG_BAC} Hàng Bạc\nstreet {PHUC_XA} ab"
    refused = client.post("/lockdowns", data={"unit_code": PHUC_XA, "reason": "x", "areas": lines})
    assert refused.status_code == 422
    error = _text(field_error(refused.text, "areas") or "")
    assert "Dòng 1" not in error
    assert "Dòng 2" in error
    assert "Dòng 3" in error
    assert f"không có đơn vị hành chính mã {HANG_BAC}" in error
    assert "Hàng Bạc" in refused.text  # what was typed is kept

    refused = client.post("/lockdowns", data={"unit_code": PHUC_XA, "reason": "x", "areas": lines})
    service_refusal = client.post(
        "/lockdowns", data={"unit_code": PHUC_XA, "reason": "x", "areas": f"street {PHUC_XA} ab"}
    )
    assert service_refusal.status_code == 422
    assert "Dòng 1" in _text(field_error(service_refusal.text, "areas") or "")

    empty = client.post("/lockdowns", data={"unit_code": TRUC_BACH, "reason": "", "areas": ""})
    assert empty.status_code == 422
    for field in ("unit_code", "reason", "areas"):
        assert field_error(empty.text, field) is not None, field
    assert session.scalars(select(Lockdown)).all() == []


def test_narrowing_errors_and_other_units_lockdowns(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    client.post(
        "/lockdowns", data={"unit_code": PHUC_XA, "reason": "F0", "areas": f"unit {PHUC_XA}"}
    )
    lockdown = session.scalars(select(Lockdown)).one()
    path = f"/lockdowns/{lockdown.code}/narrow"
    nothing = client.post(path, data={"reason": "r"})
    assert nothing.status_code == 422
    assert field_error(nothing.text, "remove") is not None
    page = client.get(f"/lockdowns/{lockdown.code}").text
    (area_field,) = re.findall(r'name="(remove-[0-9a-f-]+)"', page)
    everything = client.post(path, data={area_field: "1", "reason": "r"})
    assert everything.status_code == 422
    assert "gỡ phong tỏa" in _text(field_error(everything.text, "remove") or "")
    no_reason = client.post(path, data={area_field: "1", "add": f"street {PHUC_XA} Hòe Nhai"})
    assert field_error(no_reason.text, "reason") is not None

    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert lockdown.code not in client.get("/lockdowns").text
    assert client.get(f"/lockdowns/{lockdown.code}").status_code == 404
    assert client.post(path, data={area_field: "1", "reason": "r"}).status_code == 404


# Zone levels


def test_a_zone_level_overridden_with_its_reason(client: TestClient, session: Session) -> None:
    officer = sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    listed = client.get("/zones").text
    for code in (BA_DINH, PHUC_XA, TRUC_BACH):
        assert f'id="unit-{code}"' in listed
    assert f'id="unit-{HANG_BAC}"' not in listed
    day = zones.today().isoformat()
    saved = client.post(
        f"/zones/{PHUC_XA}/override",
        data={"day": day, "level": "3", "reason": "Ổ dịch chợ Long Biên"},
        follow_redirects=False,
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"/zones/{PHUC_XA}?notice=saved")
    row = _row(client.get("/zones").text, f"unit-{PHUC_XA}")
    assert "Cấp 3 · cam" in row
    history = client.get(f"/zones/{PHUC_XA}").text
    assert "Ổ dịch chợ Long Biên" in history
    assert officer.username in history
    assert "zone-orange" in history
    stored = session.scalars(select(ZoneLevel).where(ZoneLevel.unit_code == PHUC_XA)).one()
    assert (stored.level, stored.set_by) == (3, officer.username)


def test_a_wrong_override_is_refused_beside_its_field(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    day = zones.today().isoformat()
    path = f"/zones/{PHUC_XA}/override"
    for data, field in [
        ({"day": day, "level": "5", "reason": "x"}, "level"),
        ({"day": day, "level": "", "reason": "x"}, "level"),
        ({"day": day, "level": "2", "reason": " "}, "reason"),
        ({"day": "2030-01-01", "level": "2", "reason": "x"}, "day"),
        ({"day": "hôm qua", "level": "2", "reason": "x"}, "day"),
    ]:
        refused = client.post(path, data=data)
        assert refused.status_code == 422, data
        assert field_error(refused.text, f"{field}-{PHUC_XA}") is not None, data
    assert session.scalars(select(ZoneLevel)).all() == []
    assert client.post(f"/zones/{TRUC_BACH}/override", data={"level": "2"}).status_code == 404
    assert client.get(f"/zones/{TRUC_BACH}").status_code == 404
    assert client.get("/zones?day=2021-13-01").status_code == 422


# Treatment facilities


def test_facilities_are_added_and_listed(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    form = {"code": "BV-DC2", "name": "Bệnh viện dã chiến số 2", "tier": "2", "unit_code": PHUC_XA}
    saved = client.post(
        "/treatment/facilities", data={**form, "beds": "120"}, follow_redirects=False
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/treatment?notice=saved")
    listed = client.get("/treatment").text
    found = re.search(r'<tr data-code="BV-DC2">(.*?)</tr>', listed, re.S)
    assert found is not None
    row = _text(found.group(1))
    assert "Tầng 2" in row
    assert "120" in row
    for data, field in [
        ({**form, "beds": "120"}, "code"),
        ({**form, "code": "BV-3", "beds": "nhiều"}, "beds"),
        ({**form, "code": "BV-3", "beds": ""}, "beds"),
        ({**form, "code": "BV-3", "tier": "7", "beds": "1"}, "tier"),
        ({**form, "code": "BV-3", "unit_code": TRUC_BACH, "beds": "1"}, "unit_code"),
        ({**form, "code": "", "beds": "1"}, "code"),
    ]:
        refused = client.post("/treatment/facilities", data=data)
        assert refused.status_code in (409, 422), data
        assert field_error(refused.text, field) is not None, data
    assert len(session.scalars(select(TreatmentFacility)).all()) == 1

    sign_in(client, session, Role.COMMUNE_OFFICER, TRUC_BACH)
    assert "BV-DC2" not in client.get("/treatment").text
