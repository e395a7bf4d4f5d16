"""Shared pieces of the credentials tests: a key ring in a temporary folder, statuses, stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from phongdich.credentials import passes
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.status import Status
from phongdich.credentials.verify import PassKey, TrustStore

NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)


def status(colour: str = "green", *reasons: str) -> Status:
    return Status(
        colour=colour, reasons=reasons or ("vaccinated",), rules_version=1, evaluated_at=NOW
    )


def claims(
    *,
    issued: datetime = NOW,
    hours: int = 72,
    colour: str = "green",
    pass_id: uuid.UUID | None = None,
) -> passes.PassClaims:
    from datetime import timedelta

    return passes.PassClaims(
        pass_id=pass_id or uuid.uuid4(),
        subject=b"s" * 16,
        initials="NVA",
        birth_year=1985,
        colour=colour,
        reasons=("vaccinated",),
        issued_at=issued,
        expires_at=issued + timedelta(hours=hours),
        issuer="VN",
    )


def store_of(keys: KeyRing) -> TrustStore:
    """What a verifier holding this key ring's trust list (and no revocations) trusts."""
    store = TrustStore()
    for key in keys.signing_keys():
        store.pass_keys[key.kid] = PassKey(key.kid, key.public_key, key.created_at, key.valid_until)
    if keys.has_dsc():
        store.add_certificate(keys.dsc()[0])
    return store


def use_status(monkeypatch: pytest.MonkeyPatch, colour: str = "green", *reasons: str) -> None:
    """Make the colour rules answer `colour` for everyone."""

    def fake(**_: object) -> Status:
        return status(colour, *reasons)

    monkeypatch.setattr("phongdich.credentials.status.status_for", fake)


def key_ring(folder: Path) -> KeyRing:
    return KeyRing(folder / "keys")
