"""Pydantic shapes of the credentials API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator


class TrustKeyPublic(BaseModel):
    kid: str = Field(description="Base64 of the 8-byte key id")
    algorithm: str
    public_key: str = Field(description="Base64 DER SubjectPublicKeyInfo")
    valid_from: datetime
    valid_until: datetime | None
    current: bool


class TrustCertificatePublic(BaseModel):
    kid: str
    country: str
    source: str = Field(description="phongdich (our DSC) or imported (a foreign anchor)")
    certificate: str = Field(description="Base64 DER X.509 certificate")
    valid_from: datetime
    valid_until: datetime


class TrustListPublic(BaseModel):
    generated_at: datetime
    keys: list[TrustKeyPublic]
    certificates: list[TrustCertificatePublic]


class RevocationPublic(BaseModel):
    pass_id: uuid.UUID
    revoked_at: datetime


class RevocationListPublic(BaseModel):
    generated_at: datetime
    revoked: list[RevocationPublic]


class RevokeInput(BaseModel):
    reason: str = Field(default="revoked by an official", max_length=200)


class RevokedPublic(BaseModel):
    pass_id: uuid.UUID
    revoked_at: datetime
    reason: str


class VerifyInput(BaseModel):
    text: str | None = Field(default=None, max_length=8192, description="The QR text")
    image_base64: str | None = Field(
        default=None, max_length=14_000_000, description="A PNG or JPEG photo, base64"
    )
    at: datetime | None = Field(default=None, description="Check validity at this time")

    @model_validator(mode="after")
    def _one_input(self) -> VerifyInput:
        if (self.text is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of text and image_base64")
        return self


class VerdictPublic(BaseModel):
    format: str | None
    decoded: bool
    valid: bool
    signature_valid: bool | None
    expired: bool | None
    revoked: bool | None
    payload: Any
    issuer: str | None
    issued_at: str | None
    expires_at: str | None
    colour: str | None
    reasons: list[str]
    kid: str | None
    errors: list[str]
