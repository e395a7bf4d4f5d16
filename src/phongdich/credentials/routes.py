"""Credentials API: the public trust and revocation lists, revoking passes, verifying QR codes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request

from phongdich.config import Settings
from phongdich.credentials import passes, trust
from phongdich.credentials.keys import KeyRing, keyring
from phongdich.credentials.schemas import (
    RevocationListPublic,
    RevocationPublic,
    RevokedPublic,
    RevokeInput,
    TrustListPublic,
    VerdictPublic,
    VerifyInput,
)
from phongdich.credentials.verify import TrustStore, decode_base64, verify_bytes, verify_text
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid

router = APIRouter(prefix="/api", tags=["credentials"])


def request_keys(request: Request) -> KeyRing:
    settings: Settings = request.app.state.settings
    return keyring(settings)


def as_utc(value: datetime, settings: Settings) -> datetime:
    """A time typed without a zone is local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=settings.tz)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Invalid("at", "a time between the years 1 and 9999 in UTC") from None


@router.get("/trust-list", response_model=TrustListPublic)
def get_trust_list(request: Request, session: SessionDep) -> TrustListPublic:
    """Public: what a verifier needs to check signatures offline."""
    return TrustListPublic.model_validate(trust.trust_list(session, request_keys(request)))


@router.get("/revocations", response_model=RevocationListPublic)
def get_revocations(
    request: Request, session: SessionDep, since: datetime | None = None
) -> RevocationListPublic:
    """Public: pass ids revoked since a time (all when no time is given)."""
    settings: Settings = request.app.state.settings
    rows = passes.revocations_since(session, as_utc(since, settings) if since else None)
    return RevocationListPublic(
        generated_at=datetime.now(UTC),
        revoked=[
            RevocationPublic(pass_id=row.id, revoked_at=row.revoked_at)
            for row in rows
            if row.revoked_at is not None
        ],
    )


@router.post("/passes/{pass_id}/revoke", response_model=RevokedPublic)
def revoke(
    pass_id: uuid.UUID, body: RevokeInput, actor: ActorDep, session: SessionDep
) -> RevokedPublic:
    row = passes.revoke_pass(session=session, actor=actor, pass_id=pass_id, reason=body.reason)
    assert row.revoked_at is not None
    return RevokedPublic(pass_id=row.id, revoked_at=row.revoked_at, reason=row.revoked_reason)


@router.post("/verify", response_model=VerdictPublic)
def verify(
    body: VerifyInput, request: Request, actor: ActorDep, session: SessionDep
) -> VerdictPublic:
    """Check a QR text or a photo of one against this server's trust and revocation lists."""
    settings: Settings = request.app.state.settings
    store = TrustStore.from_database(session, request_keys(request))
    at = as_utc(body.at, settings) if body.at else None
    if body.text is not None:
        verdict = verify_text(body.text, store, at)
    else:
        data = decode_base64(body.image_base64 or "")
        if data is None:
            raise Invalid("image_base64", "not base64")
        verdict = verify_bytes(data, store, at)
    return VerdictPublic.model_validate(verdict.as_json())
