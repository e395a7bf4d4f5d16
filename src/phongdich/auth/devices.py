"""Remembering a citizen on their own phone: a long-lived cookie naming a person, hashed here.

Set when the citizen proves who they are (a health declaration, their pass, a check-in with
document number and phone); read by the check-in page, so a venue's poster needs one tap.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth.models import RememberedDevice
from phongdich.auth.passwords import hash_token, new_token
from phongdich.db import utcnow

COOKIE = "pd_citizen"
LIFETIME = timedelta(days=365)


def remember(session: Session, request: Request, response: Response, person_id: uuid.UUID) -> None:
    token = new_token()
    session.add(RememberedDevice(token_hash=hash_token(token), person_id=person_id))
    session.flush()
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def remembered(session: Session, request: Request) -> uuid.UUID | None:
    """The person this phone identified as, if the cookie is known and not older than a year."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 200:
        return None
    row = session.scalar(
        select(RememberedDevice).where(RememberedDevice.token_hash == hash_token(token))
    )
    now = utcnow()
    if row is None or now - row.created_at > LIFETIME:
        return None
    if now - row.last_used_at > timedelta(hours=1):
        row.last_used_at = now
    return row.person_id


def forget(session: Session, request: Request, response: Response) -> None:
    """ "Not me": the phone forgets its citizen (a shared phone, a borrowed one)."""
    token = request.cookies.get(COOKIE)
    if token:
        row = session.scalar(
            select(RememberedDevice).where(RememberedDevice.token_hash == hash_token(token))
        )
        if row is not None:
            session.delete(row)
            session.flush()
    response.delete_cookie(COOKIE)
