"""The registry's pages: the list, a new checkpoint, officers, stations and their tokens,
invitations."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.checkpoints import registry
from tests.checkpoints.helpers import Gate, gate, officer
from tests.factories import BA_DINH, HOAN_KIEM, PHUC_XA, TAN_DINH, make_person, make_user
from tests.web.pages import field_error, sign_in

__all__ = ["gate", "officer"]


def text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def found(pattern: str, page: str) -> str:
    match = re.search(pattern, page, re.S)
    assert match, pattern
    return match.group(1)


def test_the_list_shows_the_jurisdictions_checkpoints_and_links_to_reports(
    client: TestClient, session: Session, gate: Gate
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    page = client.get("/checkpoints")
    assert page.status_code == 200
    assert gate.checkpoint.code in page.text
    assert 'href="/checkpoints/reports"' in page.text
    assert 'href="/checkpoints/new"' in page.text
    assert "Chốt kiểm soát" in page.text  # Vietnamese first
    sign_in(client, session, Role.DISTRICT_OFFICER, HOAN_KIEM)
    other = client.get("/checkpoints")
    assert gate.checkpoint.code not in other.text
    assert client.get(f"/checkpoints/{gate.checkpoint.code}").status_code == 404


def test_a_checkpoint_is_added_through_the_form(
    client: TestClient, session: Session, unique: str
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    assert client.get("/checkpoints/new").status_code == 200
    form = {"code": f"ck-{unique}", "name": "Chốt Cầu Thăng Long", "unit_code": BA_DINH}
    bad = client.post("/checkpoints/new", data={**form, "lanes": "general, làn xe tải"})
    assert bad.status_code == 422
    assert field_error(bad.text, "lanes")
    assert "Chốt Cầu Thăng Long" in bad.text  # what was typed is kept
    far = client.post("/checkpoints/new", data={**form, "unit_code": TAN_DINH})
    assert far.status_code == 422
    assert field_error(far.text, "unit_code")
    made = client.post("/checkpoints/new", data={**form, "lanes": "general, driver"})
    assert made.status_code == 200
    assert str(made.url).endswith(f"/checkpoints/CK-{unique.upper()}?notice=created")
    assert "general, driver" in made.text
    again = client.post("/checkpoints/new", data={**form, "lanes": "general"})
    assert again.status_code == 409
    assert field_error(again.text, "code")


def test_details_officers_and_stations_are_managed_on_the_page(
    client: TestClient, session: Session, gate: Gate
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    code = gate.checkpoint.code
    base = f"/checkpoints/{code}"
    page = client.get(base)
    assert page.status_code == 200
    assert "Chốt cửa ngõ Ba Đình" in page.text
    edited = client.post(
        f"{base}/edit", data={"name": "Chốt mới", "road": "QL32", "lanes": "general"}
    )
    assert edited.status_code == 200
    assert gate.checkpoint.active is False  # the box was not ticked
    assert "Chốt mới" in edited.text
    bad = client.post(f"{base}/edit", data={"name": "", "lanes": "general", "active": "on"})
    assert bad.status_code == 422
    assert field_error(bad.text, "name")

    staff, _ = make_user(session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    unknown = client.post(f"{base}/officers", data={"username": "nobody-here"})
    assert unknown.status_code == 422
    assert field_error(unknown.text, "username")
    added = client.post(f"{base}/officers", data={"username": staff.username})
    assert added.status_code == 200
    assert staff.username in found(r'<ul id="officers">(.*?)</ul>', added.text)
    removed = client.post(f"{base}/officers/remove", data={"username": staff.username})
    assert removed.status_code == 200
    assert 'id="no-officers"' in removed.text
    assert (
        client.post(f"{base}/officers/remove", data={"username": staff.username}).status_code == 200
    )

    issued = client.post(f"{base}/stations", data={"label": "Làn 2"})
    assert issued.status_code == 201
    token = found(r'<code id="station-token">([^<]+)</code>', issued.text)
    command = html.unescape(found(r'<pre id="station-command">([^<]+)</pre>', issued.text))
    assert command == f"phongdich station --server http://testserver --token {token}"
    later = client.get(base)
    assert token not in later.text
    station = next(s for s in registry.stations_of(session, gate.checkpoint) if s.label == "Làn 2")
    registry.update_checkpoint(session=session, actor=gate.officer, code=code, active=True)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/station/bundle", headers=auth).status_code == 200
    revoked = client.post(f"{base}/stations/{station.id}/revoke")
    assert revoked.status_code == 200
    assert "station-revoked" in str(revoked.url)
    assert client.get("/api/station/bundle", headers=auth).status_code == 401
    assert client.post(f"{base}/stations/not-a-station/revoke").status_code == 404


def test_a_checkpoint_officer_sees_but_may_not_manage(
    client: TestClient, session: Session, gate: Gate
) -> None:
    sign_in(client, session, Role.CHECKPOINT_OFFICER, BA_DINH)
    page = client.get(f"/checkpoints/{gate.checkpoint.code}")
    assert page.status_code == 200
    assert "/stations" not in page.text
    assert 'href="/checkpoints/new"' not in client.get("/checkpoints").text
    assert client.get("/checkpoints/new").status_code == 403
    assert client.post(f"/checkpoints/{gate.checkpoint.code}/stations").status_code == 403
    assert client.get("/checkpoints/invitations").status_code == 403


def test_other_pages_under_checkpoints_are_not_taken_for_a_code(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    assert 'id="f-rules"' in client.get("/checkpoints/rules").text
    assert "checkpoint reports not found" not in client.get("/checkpoints/reports").text.lower()


def test_an_invitation_is_issued_on_the_page_with_its_qr(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    guest = make_person(session, full_name="Lê Văn Cường", permanent_unit_code=TAN_DINH)
    assert client.get("/checkpoints/invitations").status_code == 200
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    form = {
        "document_number": guest.documents[0].number,
        "unit_code": PHUC_XA,
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=2)).isoformat(),
        "reason": "Hỗ trợ xét nghiệm",
    }
    issued = client.post("/checkpoints/invitations", data=form)
    assert issued.status_code == 201
    assert "<svg" in issued.text
    assert "LVC" in issued.text
    assert re.search(r'id="invitation-code"[^>]*>PDI1:', issued.text)
    late = client.post("/checkpoints/invitations", data={**form, "valid_until": "2020-01-01"})
    assert late.status_code == 422
    assert field_error(late.text, "valid_until")
    garbled = client.post("/checkpoints/invitations", data={**form, "valid_from": "hôm nay"})
    assert garbled.status_code == 422
    assert field_error(garbled.text, "valid_from")
    nobody = client.post(
        "/checkpoints/invitations", data={**form, "document_number": "079099123456"}
    )
    assert nobody.status_code == 422
    assert field_error(nobody.text, "document_number")
    elsewhere = client.post("/checkpoints/invitations", data={**form, "unit_code": TAN_DINH})
    assert field_error(elsewhere.text, "unit_code")
