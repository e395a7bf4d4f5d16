"""Every registry, rules and invitation form fed empty, huge, NUL-laden and garbage input:
the answer is a page or a refusal, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from tests.checkpoints.helpers import Gate, gate, officer
from tests.factories import BA_DINH
from tests.web.pages import sign_in

__all__ = ["gate", "officer"]

FIELDS = (
    "code", "name", "unit_code", "road", "lanes", "active", "username", "label", "scope",
    "rules", "note", "action", "document_number", "valid_from", "valid_until", "reason",
)  # fmt: skip
VALUES = (
    "",
    " ",
    "x" * 200_000,
    "a\x00b",
    "\x00",
    "💥" * 500,
    "<script>alert(1)</script>",
    "[" * 5000,
    '{"verdict": "pass"}',
    "[" + '{"verdict":"pass","reason":"x"},' * 60 + '{"verdict":"pass","reason":"y"}]',
    "9999-99-99",
    "-1",
    "checkpoint:../../etc",
    "unit:" + "9" * 40,
    "publish",
    "\ud7ff\ufffe",
    "%00",
)


MULTIPART_FILE = b'--x\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nzz\r\n--x--'


def forms(code: str) -> list[str]:
    base = f"/checkpoints/{code}"
    return [
        "/checkpoints/new",
        f"{base}/edit",
        f"{base}/officers",
        f"{base}/officers/remove",
        f"{base}/stations",
        f"{base}/stations/00000000-0000-0000-0000-000000000000/revoke",
        f"{base}/stations/{'z' * 300}/revoke",
        "/checkpoints/rules",
        "/checkpoints/invitations",
    ]


@pytest.mark.parametrize("role", [Role.DISTRICT_OFFICER, Role.CHECKPOINT_OFFICER])
def test_no_form_answers_500(client: TestClient, session: Session, gate: Gate, role: Role) -> None:
    sign_in(client, session, role, BA_DINH)
    for url in forms(gate.checkpoint.code):
        assert client.post(url).status_code < 500, url
        assert client.post(url, content=b"\xff\xfe\x00garbage").status_code < 500, url
        assert (
            client.post(
                url,
                content=MULTIPART_FILE,
                headers={"Content-Type": "multipart/form-data; boundary=x"},
            ).status_code
            < 500
        ), url
        many = {f"k{i}": "v" for i in range(200)}
        assert client.post(url, data=many).status_code < 500, url
        for value in VALUES:
            data = dict.fromkeys(FIELDS, value)
            response = client.post(url, data=data)
            assert response.status_code < 500, (url, value[:40], response.text[:300])
            for action in ("preview", "publish"):
                response = client.post(url, data={**data, "action": action, "scope": "default"})
                assert response.status_code < 500, (url, value[:40], action)


def test_no_page_answers_500_to_garbage_queries(
    client: TestClient, session: Session, gate: Gate
) -> None:
    sign_in(client, session, Role.DISTRICT_OFFICER, BA_DINH)
    for value in (v[:3000] for v in VALUES[:3] + VALUES[5:]):  # URLs are at most 64 kB
        for url in (
            "/checkpoints/rules",
            "/checkpoints",
            "/checkpoints/invitations",
            f"/checkpoints/{gate.checkpoint.code}",
        ):
            response = client.get(url, params={"scope": value, "version": value, "notice": value})
            assert response.status_code < 500, (url, value[:40])
        assert client.get(f"/checkpoints/{value[:300] or 'x'}").status_code < 500
    assert client.get("/checkpoints/rules", params={"scope": "a\x00"}).status_code == 422
