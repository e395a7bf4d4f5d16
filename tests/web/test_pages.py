"""Login, home, navigation by role, and the dead-letters page."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.events import EventDelivery, OutboxEvent
from tests.factories import HA_NOI, PHUC_XA, make_user
from tests.web.pages import sign_in


def test_log_in_from_the_login_page_and_out_again(client: TestClient, session: Session) -> None:
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    wrong = client.post("/login", data={"username": user.username, "password": "nope"})
    assert wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in wrong.text
    response = client.post(
        "/login",
        data={"username": user.username, "password": "correct horse", "next": "/persons"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/persons"
    home = client.get("/")
    assert user.username in home.text
    out = client.post("/logout", follow_redirects=False)
    assert out.headers["location"] == "/login"
    assert client.get("/persons", follow_redirects=False).status_code == 303


def test_login_never_redirects_to_another_site(client: TestClient, session: Session) -> None:
    user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.post(
        "/login",
        data={"username": user.username, "password": "correct horse", "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_the_menu_shows_only_what_the_role_may_do(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.CHECKPOINT_OFFICER, PHUC_XA)
    menu = client.get("/").text
    assert 'href="/persons"' in menu
    for link in ("/persons/new", "/persons/import", "/persons/duplicates", "/audit", "/admin/"):
        assert f'href="{link}' not in menu, link

    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    menu = client.get("/").text
    for link in ("/persons/new", "/persons/import", "/persons/duplicates"):
        assert f'href="{link}"' in menu, link
    assert 'href="/audit"' not in menu

    sign_in(client, session, Role.PROVINCE_OFFICER, HA_NOI)
    assert 'href="/audit"' in client.get("/").text

    sign_in(client, session, Role.NATIONAL_ADMIN)
    assert 'href="/admin/events"' in client.get("/").text


def _dead_letter(session: Session) -> EventDelivery:
    event = OutboxEvent(topic="test.page", payload={}, dispatched=True)
    session.add(event)
    session.flush()
    delivery = EventDelivery(
        event_id=event.id,
        handler=f"tests.page.{uuid.uuid4().hex[:8]}",
        status="dead",
        attempts=8,
        last_error="RuntimeError: the lab system did not answer",
    )
    session.add(delivery)
    session.flush()
    return delivery


def test_dead_letters_listed_and_retried(client: TestClient, session: Session) -> None:
    delivery = _dead_letter(session)
    sign_in(client, session, Role.NATIONAL_ADMIN)
    page = client.get("/admin/events")
    assert page.status_code == 200
    assert "Sự kiện lỗi" in page.text
    assert delivery.handler in page.text
    assert "the lab system did not answer" in page.text
    response = client.post(f"/admin/events/{delivery.id}/retry", follow_redirects=False)
    assert response.status_code == 303
    after = client.get(response.headers["location"])
    assert "Sự kiện sẽ được xử lý lại." in after.text
    assert delivery.handler not in after.text
    session.refresh(delivery)
    assert delivery.status == "pending"
    assert delivery.attempts == 0
    # Retrying it again: it is no longer dead.
    again = client.post(f"/admin/events/{delivery.id}/retry")
    assert again.status_code == 404
    assert "Không tìm thấy" in again.text


def test_dead_letters_are_for_national_admins_only(client: TestClient, session: Session) -> None:
    delivery = _dead_letter(session)
    sign_in(client, session, Role.PROVINCE_OFFICER, HA_NOI)
    assert client.get("/admin/events").status_code == 403
    assert client.post(f"/admin/events/{delivery.id}/retry").status_code == 403
    session.refresh(delivery)
    assert delivery.status == "dead"


def test_an_unknown_page_is_the_404_page(client: TestClient, session: Session) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    response = client.get("/persons/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.text
