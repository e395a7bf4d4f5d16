"""Pydantic shapes of the check-in API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

MAX_BATCH = 10_000

Direction = Literal["in", "out"]


class CheckinEventIn(BaseModel):
    """One scan made by a venue's device, possibly days ago while it was offline."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    id: uuid.UUID = Field(description="made on the device; a re-sent event keeps its id")
    venue_code: str = Field(max_length=32)
    person_id: uuid.UUID | None = Field(default=None, description="from a scanned personal pass")
    document_number: str | None = Field(
        default=None, max_length=40, description="from a CCCD card QR, or typed"
    )
    nationality: str | None = Field(default=None, max_length=3)
    at: AwareDatetime = Field(description="when the scan happened, with its UTC offset")
    direction: Direction = "in"

    @model_validator(mode="after")
    def _one_person_reference(self) -> CheckinEventIn:
        if (self.person_id is None) == (not self.document_number):
            raise ValueError("give exactly one of person_id and document_number")
        return self


class CheckinBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[CheckinEventIn] = Field(max_length=MAX_BATCH)


Outcome = Literal["accepted", "duplicate", "rejected"]


class EventOutcome(BaseModel):
    id: uuid.UUID
    status: Outcome
    field: str | None = None
    reason: str | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    events: list[EventOutcome]


class ScanInput(BaseModel):
    """What a venue's scanning page read: a personal pass, a CCCD card QR or a typed number."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    text: str = Field(min_length=1, max_length=4096)
    direction: Literal["auto", "in", "out"] = "auto"
    id: uuid.UUID | None = Field(default=None, description="the page's id for this scan")


class ScanResult(BaseModel):
    """What the venue's staff see: the colour and the initials, never a name or number."""

    recorded: bool
    direction: Direction | None
    colour: str | None
    initials: str
    birth_year: int | None
    at: datetime | None
    refused: bool
    reasons: list[str]


class Presence(BaseModel):
    person_id: uuid.UUID
    full_name: str
    phone: str | None
    arrived_at: datetime
    left_at: datetime
    left_recorded: bool


class PresenceResult(BaseModel):
    venue_code: str
    start: datetime
    end: datetime
    people: list[Presence]


class DayCount(BaseModel):
    day: date
    checkins: int
    checkouts: int


class VenueCounts(BaseModel):
    venue_code: str
    days: list[DayCount]


class UnitDayCount(BaseModel):
    day: date
    scans: int
    checkins: int
    checkouts: int
    venues_active: int


class UnitCounts(BaseModel):
    unit_code: str
    venues_registered: int
    venues_approved: int
    venues_pending: int
    days: list[UnitDayCount]


class PaperRowError(BaseModel):
    line: int
    field: str
    reason: str


class PaperResult(BaseModel):
    """Rows: `created` added something, `unchanged` were all stored before."""

    created: int
    updated: int
    unchanged: int
    rejected: int
    people_registered: int
    errors: list[PaperRowError]
