"""The citizen's pass page and the printable card."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.credentials.models import HealthPass
from tests.credentials.helpers import use_status
from tests.factories import PHUC_XA, TAN_DINH, audit_entries, make_person
from tests.web.pages import sign_in

NOT_FOUND = "Không tìm thấy mã QR cá nhân khớp với thông tin này."


@pytest.fixture(autouse=True)
def _yellow(monkeypatch: pytest.MonkeyPatch) -> None:
    use_status(monkeypatch, "yellow", "F1")


def test_form_is_in_vietnamese(client: TestClient) -> None:
    page = client.get("/pass")
    assert page.status_code == 200
    assert "Mã QR cá nhân của tôi" in page.text
    assert 'name="document_number"' in page.text


def test_right_pair_shows_the_pass_and_is_audited(client: TestClient, session: Session) -> None:
    person = make_person(session, phone="0912 345 001")
    number = person.documents[0].number
    page = client.post("/pass", data={"document_number": number, "phone": "+84912345001"})
    assert page.status_code == 200, page.text
    assert "<svg" in page.text
    assert "Vàng" in page.text
    row = session.scalars(select(HealthPass).where(HealthPass.person_id == person.id)).one()
    assert row.colour == "yellow"
    entry = audit_entries(session, action="issue", object_id=row.id)[0]
    assert entry.role == "citizen"
    assert number not in entry.detail


@pytest.mark.parametrize(
    "form",
    [
        {"document_number": "{number}", "phone": "0999999999"},
        {"document_number": "001099000000", "phone": "{phone}"},
        {"document_number": "not a number", "phone": "{phone}"},
        {"document_number": "{number}", "phone": ""},
        {},
    ],
)
def test_any_wrong_pair_gets_the_same_answer(
    client: TestClient, session: Session, form: dict[str, str]
) -> None:
    person = make_person(session)
    values = {
        k: v.format(number=person.documents[0].number, phone=person.phone) for k, v in form.items()
    }
    page = client.post("/pass", data=values)
    assert page.status_code == 404
    assert NOT_FOUND in page.text
    assert "<svg" not in page.text
    assert session.scalars(select(HealthPass).where(HealthPass.person_id == person.id)).all() == []


def test_printable_card_for_officials(client: TestClient, session: Session) -> None:
    person = make_person(session, full_name="Phạm Văn Đồng")
    anonymous = client.get(f"/persons/{person.id}/pass-card", follow_redirects=False)
    assert anonymous.status_code == 303
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    card = client.get(f"/persons/{person.id}/pass-card")
    assert card.status_code == 200
    assert "Phạm Văn Đồng" in card.text
    # The QR has only a viewBox, so the stylesheet sizes it: 5 cm wide when printed.
    assert "viewBox=" in card.text
    assert "<svg width=" not in card.text
    css = client.get("/static/style.css").text
    assert "@media print" in css
    assert ".health-pass .qr { width: 5cm; }" in css
    other = make_person(session, permanent_unit_code=TAN_DINH)
    assert client.get(f"/persons/{other.id}/pass-card").status_code == 404
