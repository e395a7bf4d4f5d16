"""Pydantic shapes of the declarations API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

SYMPTOMS = (
    "fever",
    "cough",
    "breathlessness",
    "sore_throat",
    "loss_of_taste_or_smell",
    "tiredness",
)


class DeclarationInput(BaseModel):
    """What a citizen sends. Identity fields are needed only the first time (unknown document)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    document_number: str = Field(max_length=40, description="CCCD, CMND or passport number")
    nationality: str | None = Field(default=None, max_length=3, description="For a passport")
    phone: str = Field(max_length=20, description="Must match the registered phone, if any")
    full_name: str | None = Field(default=None, max_length=200)
    birth_date: str | None = Field(
        default=None, max_length=20, description="YYYY-MM-DD, DD/MM/YYYY or the year alone"
    )
    sex: str | None = Field(default=None, max_length=10)
    address_unit_code: str = Field(max_length=16, description="Commune of the current address")
    address: str = Field(default="", max_length=300)
    symptoms: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="In the last 14 days: " + ", ".join(SYMPTOMS) + "; empty (or 'none') for none",
    )
    contact_with_case: bool = False
    travelled_from_unit_code: str | None = Field(
        default=None, max_length=16, description="A unit of zone level 3-4 visited in 14 days"
    )
    destination_unit_code: str | None = Field(default=None, max_length=16)
    destination: str = Field(default="", max_length=300)
    travel_reason: str = Field(default="", max_length=300)


class DeclarationReceipt(BaseModel):
    version: int
    submitted_at: datetime


class DeclarationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    version: int
    unit_code: str | None
    phone: str
    address_unit_code: str
    address: str
    symptoms: list[str]
    contact_with_case: bool
    travelled_from_unit_code: str | None
    travelled_from_zone_level: int | None
    destination_unit_code: str | None
    destination: str
    travel_reason: str
    submitted_at: datetime
