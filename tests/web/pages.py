"""Helpers for page tests: signing in through the session cookie, reading forms back."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Role
from phongdich.auth.service import issue_token
from phongdich.deps import SESSION_COOKIE
from tests.factories import make_user


def sign_in(client: TestClient, session: Session, role: Role, unit: str | None = None) -> Actor:
    """What a browser holds after logging in: the session cookie, and Vietnamese pages."""
    user, actor = make_user(session, role, unit)
    client.cookies.set(SESSION_COOKIE, issue_token(session=session, user=user, kind="session"))
    return actor


def field_error(html: str, field: str) -> str | None:
    """The error shown next to a form field, or None when the field is fine."""
    match = re.search(rf'<p class="error" id="e-{re.escape(field)}"[^>]*>(.*?)</p>', html, re.S)
    return match.group(1).strip() if match else None


def field_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input id="f-{re.escape(field)}" [^>]*value="([^"]*)"', html)
    return match.group(1) if match else None
