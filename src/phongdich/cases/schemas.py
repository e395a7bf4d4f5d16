"""Pydantic shapes of the cases API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_IN = ConfigDict(str_strip_whitespace=True, extra="forbid")


class CaseOpenInput(BaseModel):
    model_config = _IN

    person_id: uuid.UUID | None = None
    document_number: str | None = Field(default=None, max_length=20)
    reference_time: datetime = Field(description="symptom onset, else the first positive sample")
    reference_kind: str = Field(
        default="first_positive", description="symptom_onset | first_positive"
    )
    source: str | None = Field(default=None, description="community | quarantine | imported")
    severity: str = Field(
        default="mild", description="asymptomatic | mild | moderate | severe | critical"
    )
    classification: str = Field(default="confirmed", description="suspect | probable | confirmed")
    isolation_place: str = Field(default="home", description="home | facility | hospital")


class CaseUpdateInput(BaseModel):
    model_config = _IN

    severity: str | None = None
    classification: str | None = None
    isolation_place: str | None = None
    symptom_onset: datetime | None = None
    outcome: str | None = Field(default=None, description="recovered | deceased")
    outcome_at: datetime | None = None


class CasePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    person_id: uuid.UUID
    full_name: str = ""
    unit_code: str | None
    reference_time: datetime
    reference_kind: str
    source: str
    classification: str
    severity: str
    isolation_place: str
    isolated_at: datetime
    opened_at: datetime
    opened_by: str
    facility_code: str | None = None
    outcome: str | None
    outcome_at: datetime | None
    traced_at: datetime | None
    policy_version: int | None
    cluster_code: str | None = None


class CaseEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    detail: str
    by: str


class ExposurePublic(BaseModel):
    via: str
    venue_code: str | None
    vehicle_plate: str | None = None
    start: datetime
    end: datetime
    overlap_minutes: int | None


class ContactPublic(BaseModel):
    document_number: str | None = Field(description="null for someone outside your units")
    full_name: str | None = Field(description="null for someone outside your units")
    degree: int
    status: str
    unit_code: str | None
    exposures: list[ExposurePublic]


class TracePublic(BaseModel):
    case: dict[str, Any]
    policy: dict[str, Any]
    new_contacts: int
    new_exposures: int
    contacts: list[ContactPublic]


class ContactInput(BaseModel):
    model_config = _IN

    person_id: uuid.UUID | None = None
    document_number: str | None = Field(default=None, max_length=20)
    start: datetime
    end: datetime
    note: str = Field(default="", max_length=300)


class PolicyInput(BaseModel):
    model_config = _IN

    rules: dict[str, Any] = Field(description="settings to change from the current version")


class DueItem(BaseModel):
    order_id: uuid.UUID
    person_id: uuid.UUID
    full_name: str
    unit_code: str | None
    kind: str
    place: str
    starts_at: datetime
    ends_on: date
    tests_due: list[date]
    checked_today: bool
    release_due: bool
    last_result: str | None


class HealthCheckInput(BaseModel):
    model_config = _IN

    day: date
    temperature: float | None = Field(default=None, ge=30, le=45)
    symptoms: list[str] = Field(default=[], max_length=20)
    note: str = Field(default="", max_length=300)


class OrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    place: str
    unit_code: str | None
    starts_at: datetime
    ends_on: date
    status: str
    issued_at: datetime
    closed_at: datetime | None


class FacilityInput(BaseModel):
    model_config = _IN

    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    tier: int = Field(ge=0, le=3, description="0 home care, 1 mild, 2 moderate, 3 severe/ICU")
    unit_code: str = Field(max_length=16)
    beds: int | None = Field(default=None, ge=0, le=100_000)


class FacilityPublic(BaseModel):
    code: str
    name: str
    tier: int
    unit_code: str
    beds: int | None
    occupied: int
    free: int | None


class AreaInputModel(BaseModel):
    model_config = _IN

    kind: str = Field(description="unit | street | address")
    unit_code: str = Field(max_length=16)
    text: str = Field(default="", max_length=200, description="the street or the address")


class LockdownInput(BaseModel):
    model_config = _IN

    unit_code: str = Field(max_length=16)
    reason: str = Field(max_length=300)
    areas: list[AreaInputModel] = Field(min_length=1, max_length=200)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    case_code: str | None = Field(default=None, max_length=32)


class NarrowInput(BaseModel):
    model_config = _IN

    remove: list[uuid.UUID] = Field(default=[], max_length=200)
    add: list[AreaInputModel] = Field(default=[], max_length=200)
    reason: str = Field(max_length=300)


class LiftInput(BaseModel):
    model_config = _IN

    reason: str = Field(max_length=300)


class AreaPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    unit_code: str
    text: str
    added_at: datetime
    removed_at: datetime | None


class LockdownChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    action: str
    detail: str
    reason: str
    by: str


class LockdownPublic(BaseModel):
    code: str
    unit_code: str
    reason: str
    starts_at: datetime
    ends_at: datetime | None
    areas: list[AreaPublic]
    changes: list[LockdownChangePublic]


class ResidentPublic(BaseModel):
    person_id: uuid.UUID
    full_name: str
    unit_code: str | None
    address: str


class ResidentsPublic(BaseModel):
    lockdown: str
    total: int
    residents: list[ResidentPublic]


class ZoneLevelPublic(BaseModel):
    unit_code: str
    unit_name: str
    day: date
    level: int | None
    colour: str | None
    computed_level: int | None
    new_cases_7d: int | None
    rate_per_100k: float | None
    coverage: float | None
    override_reason: str
    set_by: str


class ZoneOverrideInput(BaseModel):
    model_config = _IN

    day: date
    level: int = Field(ge=1, le=4)
    reason: str = Field(max_length=300)


class ClusterPublic(BaseModel):
    code: str
    place: str
    unit_code: str | None
    cases: int
    created_at: datetime
