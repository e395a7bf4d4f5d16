"""Pydantic shapes of the persons API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class PersonInput(BaseModel):
    """What an official, a form or an import row gives; validated by the service, field by field."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    document_number: str = Field(
        max_length=40, description="CCCD (12 digits), CMND (9/12), passport"
    )
    document_kind: str | None = Field(
        default=None, max_length=16, description="cccd | cmnd | passport; guessed when empty"
    )
    nationality: str | None = Field(
        default=None, max_length=3, description="ISO 3166 alpha-3, required for passports"
    )
    full_name: str = Field(max_length=200)
    birth_date: str | None = Field(
        default=None, max_length=20, description="YYYY-MM-DD, DD/MM/YYYY or the year alone"
    )
    sex: str | None = Field(default=None, max_length=10, description="male | female | Nam | Nữ")
    phone: str | None = Field(default=None, max_length=20)
    permanent_unit_code: str | None = Field(default=None, max_length=16)
    permanent_address: str = Field(default="", max_length=300)
    temporary_unit_code: str | None = Field(default=None, max_length=16)
    temporary_address: str = Field(default="", max_length=300)
    household_code: str | None = Field(default=None, max_length=40)


class PersonUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    full_name: str | None = Field(default=None, max_length=200)
    birth_date: str | None = Field(default=None, max_length=20)
    sex: str | None = Field(default=None, max_length=10)
    phone: str | None = Field(default=None, max_length=20)
    permanent_unit_code: str | None = Field(default=None, max_length=16)
    permanent_address: str | None = Field(default=None, max_length=300)
    temporary_unit_code: str | None = Field(default=None, max_length=16)
    temporary_address: str | None = Field(default=None, max_length=300)
    household_code: str | None = Field(default=None, max_length=40)


class DocumentInput(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    number: str = Field(max_length=40)
    kind: str | None = Field(default=None, max_length=16)
    nationality: str | None = Field(default=None, max_length=3)


class DocumentLookup(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    number: str = Field(max_length=40)
    nationality: str | None = Field(default=None, max_length=3)


class DocumentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    number: str
    nationality: str
    issued_on: date | None


class PersonPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    full_name: str
    birth_date: date | None
    birth_year: int | None
    sex: str | None
    phone: str | None
    nationality: str
    permanent_unit_code: str | None
    permanent_address: str
    temporary_unit_code: str | None
    temporary_address: str
    household_code: str | None
    documents: list[DocumentPublic]
    created_at: datetime
    updated_at: datetime


class PersonSummary(BaseModel):
    id: uuid.UUID
    full_name: str
    birth_year: int | None
    sex: str | None
    unit_code: str | None
    document_hint: str = Field(description="Last 4 characters of the main document")


class PersonPage(BaseModel):
    total: int
    items: list[PersonSummary]


class CccdQrInput(BaseModel):
    qr: str = Field(max_length=600, description="Text read from the QR on a CCCD chip card")


class CccdCardPublic(BaseModel):
    number: str
    old_number: str | None
    full_name: str
    birth_date: date
    sex: str
    address: str
    issued_on: date | None


class MergeInput(BaseModel):
    survivor_id: uuid.UUID
    duplicate_id: uuid.UUID


class DuplicatePair(BaseModel):
    a: PersonSummary
    b: PersonSummary
    reason: str
