"""API for health facts entered by officials, persons' colour status and the colour rules.

Kept apart from the health-pass routes: these are the officials' side of the status, the pass
routes are the citizen's and the verifier's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from phongdich.credentials import status as service
from phongdich.deps import ActorDep, SessionDep

router = APIRouter(prefix="/api", tags=["health status"])


class FactInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32, description="vaccination_dose, test_result, case_confirmed…")
    occurred_at: datetime = Field(description="With its zone, e.g. 2021-09-01T08:00:00+07:00")
    value: dict[str, Any] = Field(
        default_factory=dict,
        description="vaccination_dose: dose_number, full_course; test_result: method, result",
    )
    source_id: str | None = Field(
        default=None, max_length=64, description="Send the same id again and nothing is doubled"
    )


class FactPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    occurred_at: datetime
    value: dict[str, Any]
    source_domain: str
    source_id: str
    recorded_by: str
    created_at: datetime


class StatusPublic(BaseModel):
    colour: str
    reasons: list[str]
    rules_version: int
    evaluated_at: datetime


class RuleSetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    province: str | None = Field(
        default=None, max_length=16, description="Province code; empty for the default rules"
    )
    rules: list[Any] = Field(max_length=100, description="Ordered rules; first match wins")


class RuleSetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    province_code: str | None
    version: int
    rules: list[dict[str, Any]]
    created_by: str
    created_at: datetime


@router.post(
    "/persons/{person_id}/facts",
    response_model=FactPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "A fact with this source_id was already recorded"}},
)
def add_fact(
    person_id: uuid.UUID, body: FactInput, actor: ActorDep, session: SessionDep, response: Response
) -> FactPublic:
    fact, created = service.record_manual_fact(
        session=session,
        actor=actor,
        person_id=person_id,
        kind=body.kind,
        occurred_at=body.occurred_at,
        value=body.value,
        source_id=body.source_id,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return FactPublic.model_validate(fact)


@router.get("/persons/{person_id}/status", response_model=StatusPublic)
def read_status(person_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> StatusPublic:
    found = service.person_status(session=session, actor=actor, person_id=person_id)
    return StatusPublic(
        colour=found.colour,
        reasons=list(found.reasons),
        rules_version=found.rules_version,
        evaluated_at=found.evaluated_at,
    )


@router.post("/colour-rules", response_model=RuleSetPublic, status_code=status.HTTP_201_CREATED)
def publish(body: RuleSetInput, actor: ActorDep, session: SessionDep) -> RuleSetPublic:
    rule_set = service.publish_rules(
        session=session, actor=actor, province_code=body.province, rules=body.rules
    )
    return RuleSetPublic.model_validate(rule_set)


@router.get("/colour-rules", response_model=list[RuleSetPublic])
def versions(
    actor: ActorDep,
    session: SessionDep,
    province: Annotated[str | None, Query(max_length=16)] = None,
) -> list[RuleSetPublic]:
    """Every version, newest first; without a province, the default rules."""
    return [
        RuleSetPublic.model_validate(r)
        for r in service.list_rules(session=session, province_code=province)
    ]
