"""Pydantic shapes of the auth API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    label: str = Field(default="", max_length=100)


class TokenPublic(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_at: datetime | None


class ActorPublic(BaseModel):
    username: str
    role: str
    unit_code: str | None
    person_id: uuid.UUID | None


class UserCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    username: str = Field(max_length=64)
    password: str = Field(min_length=1, max_length=200)
    role: str = Field(max_length=32)
    unit_code: str | None = Field(default=None, max_length=16)
    full_name: str = Field(default="", max_length=200)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    role: str
    unit_code: str | None
    active: bool


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    username: str
    role: str
    origin: str
    action: str
    object_type: str
    object_id: str | None
    unit_code: str | None
    detail: str
