"""Pydantic shapes of the venues API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class VenueInput(BaseModel):
    """Registration by a manager or an official; the service checks every field."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(max_length=200)
    category: str = Field(max_length=32, description="restaurant, cafe, market, office, …")
    unit_code: str = Field(max_length=16, description="the commune (or ward) of the address")
    address: str = Field(default="", max_length=300)
    capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    default_visit_minutes: int | None = Field(
        default=None, ge=5, le=720, description="when nobody checks out; default per category"
    )
    code: str | None = Field(
        default=None, max_length=32, description="officials may choose it; otherwise generated"
    )


class VenuePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    category: str
    unit_code: str
    address: str
    capacity: int | None
    default_visit_minutes: int
    status: str
    created_at: datetime
    decided_at: datetime | None


class VenuePage(BaseModel):
    total: int
    items: list[VenuePublic]


class DecisionInput(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(default="", max_length=200)
