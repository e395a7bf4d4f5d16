"""Pydantic shapes of the checkpoint registry, entry rules and invitations API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_IN = ConfigDict(str_strip_whitespace=True, extra="forbid")


class CheckpointCreate(BaseModel):
    model_config = _IN

    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    unit_code: str = Field(max_length=16, description="the province, district or commune")
    road: str = Field(default="", max_length=200)
    lanes: list[str] | None = Field(
        default=None, max_length=8, description="e.g. general, driver (default: general)"
    )


class CheckpointUpdate(BaseModel):
    model_config = _IN

    name: str | None = Field(default=None, max_length=200)
    road: str | None = Field(default=None, max_length=200)
    lanes: list[str] | None = Field(default=None, max_length=8)
    active: bool | None = None


class CheckpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    unit_code: str
    road: str
    lanes: list[str]
    active: bool
    created_at: datetime


class OfficerInput(BaseModel):
    model_config = _IN

    username: str = Field(max_length=64)


class OfficerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: str
    unit_code: str | None


class StationCreate(BaseModel):
    model_config = _IN

    label: str = Field(default="", max_length=100)


class StationPublic(BaseModel):
    """A station as listed: never its token."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    label: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_sync_at: datetime | None


class StationIssued(BaseModel):
    station: StationPublic
    token: str = Field(description="shown once: only its hash is kept")
    command: str = Field(description="the command that starts the station")


class RuleSetPublic(BaseModel):
    scope: str
    version: int = Field(description="0: the built-in default, never published")
    rules: list[dict[str, Any]]
    note: str = ""
    published_by: str = ""
    published_at: datetime | None = None


class RulesInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = Field(max_length=48, description="default, checkpoint:<code> or unit:<code>")
    rules: Any = Field(description="the ordered rules; see docs/checkpoints.md")
    note: str = Field(default="", max_length=300)


class SampleTraveller(BaseModel):
    """A traveller to try the rules on; `evidence` maps vaccinated, pcr_negative,
    rapid_negative or recovered to when."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=100)
    credential: str = Field(default="valid", max_length=16)
    colour: str | None = Field(default=None, max_length=8)
    reasons: list[str] = Field(default_factory=list, max_length=10)
    resident_of_destination: bool = False
    invited: bool = False
    transfer: str = Field(default="none", max_length=16)
    origin_zone_level: int | None = Field(default=None, ge=1, le=4)
    evidence: dict[str, datetime] = Field(default_factory=dict, max_length=8)
    rapid_test: str = Field(default="", max_length=8)
    lane: str = Field(default="general", max_length=16)


class PreviewInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: Any
    sample: list[SampleTraveller] | None = Field(
        default=None, max_length=50, description="default: the built-in sample travellers"
    )
    at: datetime | None = Field(default=None, description="when the crossing happens (now)")


class PreviewRow(BaseModel):
    label: str
    verdict: str
    reason: str
    condition: str
    rule_index: int


class InvitationInput(BaseModel):
    model_config = _IN

    document_number: str = Field(max_length=20)
    unit_code: str = Field(max_length=16, description="the inviting unit: one of yours")
    valid_from: date
    valid_until: date
    reason: str = Field(max_length=200)


class InvitationPublic(BaseModel):
    invitation_id: uuid.UUID
    code: str = Field(description="the signed PDI1: text the QR carries")
    initials: str
    unit_code: str
    valid_from: date
    valid_until: date
    reason: str
    qr_svg: str
