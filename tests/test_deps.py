"""The request-wide NUL check must work with every kind of body a route reads."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from tests.factories import bearer, make_user


def test_form_post_is_read_once_and_nul_is_refused(client: TestClient) -> None:
    wrong = client.post("/login", data={"username": "nobody", "password": "x"})
    assert wrong.status_code == 401
    nul = client.post("/login", data={"username": "no\x00body", "password": "x"})
    assert nul.status_code == 422


def test_multipart_upload_still_reaches_the_route(client: TestClient, session: Session) -> None:
    admin, _ = make_user(session, Role.NATIONAL_ADMIN)
    csv = "code,name,level,parent_code,population\nZ1,Tỉnh Thử,1,,\n"
    response = client.post(
        "/api/adminunits/import",
        headers=bearer(session, admin),
        files={"file": ("tree.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
