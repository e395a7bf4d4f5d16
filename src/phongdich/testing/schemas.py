"""Pydantic shapes of the testing API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_IN = ConfigDict(str_strip_whitespace=True, extra="forbid")


class LabInput(BaseModel):
    model_config = _IN

    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    unit_code: str = Field(max_length=16)
    daily_capacity: int = Field(ge=1, le=1_000_000, description="tubes a day")
    methods: list[str] = Field(
        default=["pcr"], min_length=1, max_length=2, description="pcr, rapid_antigen"
    )


class LabPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    unit_code: str
    daily_capacity: int
    methods: list[str]


class CampaignInput(BaseModel):
    model_config = _IN

    name: str = Field(max_length=200)
    unit_code: str = Field(max_length=16, description="the unit running it")
    target_unit_codes: list[str] = Field(
        default=[], max_length=500, description="units screened; empty: the running unit"
    )
    method: str = Field(default="pcr", max_length=16, description="pcr | rapid_antigen")
    max_pool_size: int = Field(default=1, ge=1, le=30, description="1: single tubes only")
    starts_on: date
    ends_on: date
    address_contains: str = Field(
        default="", max_length=200, description="only residents whose address holds this (a street)"
    )
    code: str | None = Field(default=None, max_length=32)


class CampaignPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    unit_code: str
    method: str
    max_pool_size: int
    starts_on: date
    ends_on: date
    address_contains: str
    population: str
    current_round: int
    status: str
    target_unit_codes: list[str] = []


class SiteInput(BaseModel):
    model_config = _IN

    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    unit_code: str = Field(max_length=16)
    address: str = Field(default="", max_length=300)


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    unit_code: str
    address: str
    staff: list[str] = []


class StaffInput(BaseModel):
    model_config = _IN

    username: str = Field(max_length=64)


class ProgressRow(BaseModel):
    """One unit's or site's figures: the seed's "1,200 of 9,200 have results"."""

    code: str
    name: str
    to_sample: int | None
    sampled: int
    results_back: int
    positive: int
    waiting_retest: int


class PoolAdvicePublic(BaseModel):
    prevalence: float
    max_pool_size: int
    pool_size: int
    tests_per_person: float
    capacity_gain: float
    pool_positive_probability: float


class CampaignProgress(BaseModel):
    campaign: CampaignPublic
    round: int
    total: ProgressRow
    units: list[ProgressRow]
    sites: list[ProgressRow]
    tubes: dict[str, int]
    positivity_7d: float | None
    positivity_7d_tested: int
    suggested: PoolAdvicePublic | None


class SamplingOp(BaseModel):
    """One step at the sampling table, queued on the device and sent when the network allows.

    `id` is made by the device: a re-sent step is recognised. For `add` it becomes the
    sample's id; `remove` names that id.
    """

    model_config = _IN

    id: uuid.UUID
    op: Literal["open", "add", "remove", "close"]
    barcode: str = Field(max_length=40)
    campaign_code: str | None = Field(default=None, max_length=32)
    site_code: str | None = Field(default=None, max_length=32, description="for open")
    kind: Literal["single", "pool"] = "pool"
    text: str | None = Field(
        default=None, max_length=4000, description="for add: pass, CCCD QR or document number"
    )
    sample_id: uuid.UUID | None = Field(default=None, description="for remove")
    at: datetime | None = Field(default=None, description="when it was done on the device")


class SamplingBatch(BaseModel):
    model_config = _IN

    ops: list[SamplingOp] = Field(min_length=1, max_length=1000)


class MemberPublic(BaseModel):
    sample_id: uuid.UUID
    initials: str
    birth_year: int | None
    colour: str | None = None
    retest: bool = False


class TubePublic(BaseModel):
    barcode: str
    kind: str
    status: str
    campaign_code: str
    site_code: str
    round: int
    capacity: int
    members: list[MemberPublic]
    result: str | None
    result_revision: int
    shipment_code: str | None = None
    lab_code: str | None = None


class OpOutcome(BaseModel):
    id: uuid.UUID
    status: Literal["applied", "duplicate", "rejected"]
    field: str | None = None
    reason: str | None = None
    tube: TubePublic | None = None


class BatchOutcome(BaseModel):
    applied: int
    duplicate: int
    rejected: int
    results: list[OpOutcome]


class ShipmentInput(BaseModel):
    model_config = _IN

    lab_code: str = Field(max_length=32)
    barcodes: list[str] = Field(min_length=1, max_length=5000)


class ReceiveInput(BaseModel):
    model_config = _IN

    barcodes: list[str] = Field(min_length=1, max_length=5000)


class ShipmentPublic(BaseModel):
    code: str
    lab_code: str
    sent_at: datetime
    sent_by: str
    received_at: datetime | None
    tubes: int
    received: int
    missing: list[str]
    extra: list[str]
    warnings: list[str] = []


class ResultInput(BaseModel):
    model_config = _IN

    barcode: str = Field(max_length=40)
    result: str = Field(max_length=20, description="negative | positive | invalid")
    ct_value: float | None = Field(default=None, description="cycle threshold, 0-50")
    method: str = Field(default="pcr", max_length=20, description="pcr | rapid_antigen")
    tested_at: datetime


class CorrectionInput(BaseModel):
    model_config = _IN

    result: str = Field(max_length=20)
    ct_value: float | None = None
    method: str = Field(default="pcr", max_length=20)
    tested_at: datetime
    reason: str = Field(min_length=3, max_length=300, description="why the result changes")


class ResultRevision(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    result: str
    ct_value: float | None
    method: str
    tested_at: datetime
    entered_by: str
    entered_at: datetime
    source: str
    reason: str


class ResultOutcome(BaseModel):
    barcode: str
    created: bool
    revision: int
    result: str
    history: list[ResultRevision]


class RetestOrderPublic(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    full_name: str
    document_number: str | None
    unit_code: str | None
    campaign_code: str
    reason: str
    source_barcode: str
    status: str
    created_at: datetime


class PersonResult(BaseModel):
    """One sample of a person and what it showed."""

    sampled_at: datetime
    campaign_name: str
    barcode: str
    pooled: bool
    method: str
    outcome: str | None
    outcome_at: datetime | None
    retest: bool


class PositivePublic(BaseModel):
    person_id: uuid.UUID
    full_name: str
    unit_code: str | None
    barcode: str
    method: str
    sampled_at: datetime
    outcome_at: datetime | None
    campaign_code: str


class LabLoad(BaseModel):
    code: str
    name: str
    daily_capacity: int
    in_transit: int
    waiting: int
    resulted_today: int
    load: float
    warning: str | None
    turnaround_p50_h: float | None
    turnaround_p90_h: float | None


class TurnaroundDay(BaseModel):
    lab_code: str
    day: date
    tubes: int
    p50_h: float
    p90_h: float


class PositiveDay(BaseModel):
    unit_code: str
    day: date
    tested: int
    positive: int
    rate: float
