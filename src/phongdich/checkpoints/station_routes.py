"""The API a station speaks, authenticated by its device token (never a user's password)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from phongdich.auth import audit
from phongdich.checkpoints import sync
from phongdich.checkpoints.registry import StationContext, station_for_token
from phongdich.credentials.routes import request_keys
from phongdich.credentials.scanned import identify
from phongdich.credentials.verify import TrustStore
from phongdich.deps import SessionDep, _bearer
from phongdich.errors import Invalid, Unauthorized

router = APIRouter(prefix="/api/station", tags=["checkpoint station"])


def get_station(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StationContext:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a station token is required")
    return station_for_token(session, credentials.credentials)


StationDep = Annotated[StationContext, Depends(get_station)]


class StationPassageInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    at: datetime
    direction: Literal["in", "out"] = "in"
    lane: str = Field("general", max_length=16)
    group_id: uuid.UUID | None = None
    vehicle_plate: str = Field("", max_length=16)
    vehicle_type: str = Field("", max_length=16)
    origin_unit_code: str | None = Field(None, max_length=16)
    destination_unit_code: str | None = Field(None, max_length=16)
    reason: str = Field("", max_length=200)
    verdict: Literal["pass", "conditional", "turn_back"] = "pass"
    reasons: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=10
    )
    conditions: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=10
    )
    rules_scope: str = Field("", max_length=48)
    rules_version: int | None = Field(None, ge=0, le=1_000_000)
    officer: str = Field("", max_length=64)
    flagged: str = Field("", max_length=200)
    credential: Literal["pass", "cccd", "eu-dcc", "invitation", "transfer", "document", "none"] = (
        "none"
    )
    pass_id: uuid.UUID | None = None
    card: str | None = Field(None, max_length=1000)
    document_number: str | None = Field(None, max_length=20)
    traveller: str = Field("", max_length=64)
    transfer_id: uuid.UUID | None = None
    rapid_test: Literal["", "negative", "positive"] = ""


class PassagesInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passages: list[StationPassageInput] = Field(max_length=sync.MAX_BATCH)


class ReceivedPublic(BaseModel):
    stored: int
    already: int
    notices: int
    unresolved: list[str]


class LookupInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)


class LookupPublic(BaseModel):
    colour: str
    reasons: list[str]
    unit_code: str | None
    initials: str
    birth_year: int | None
    evidence: dict[str, datetime]


@router.get("/bundle")
def get_bundle(request: Request, session: SessionDep, station: StationDep) -> dict[str, Any]:
    """The station's offline copy: checkpoint, trust list, revocations, rules, units,
    manifests. Fetched at start and refreshed while online."""
    settings = request.app.state.settings
    today = datetime.now(settings.tz).date()
    return sync.bundle(session, station, request_keys(request), today)


@router.post("/passages", response_model=ReceivedPublic)
def post_passages(body: PassagesInput, session: SessionDep, station: StationDep) -> ReceivedPublic:
    """A batch from the station's queue; a passage already stored (same id) is not stored again."""
    received = sync.receive(
        session=session,
        context=station,
        passages=[sync.StationPassage(**item.model_dump()) for item in body.passages],
    )
    return ReceivedPublic(
        stored=received.stored,
        already=received.already,
        notices=received.notices,
        unresolved=received.unresolved,
    )


class RapidTestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passage_id: uuid.UUID
    result: Literal["negative", "positive"]
    at: datetime


class RapidTestsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tests: list[RapidTestInput] = Field(max_length=sync.MAX_BATCH)


class RapidTestsPublic(BaseModel):
    notices: int


@router.post("/rapid-tests", response_model=RapidTestsPublic)
def post_rapid_tests(
    body: RapidTestsInput, session: SessionDep, station: StationDep
) -> RapidTestsPublic:
    """Results of the lane's rapid tests for passages already sent: the driver's status and
    the destination learn them while the driver drives on; a positive reaches the origin too."""
    notices = sync.receive_rapid_tests(
        session=session,
        context=station,
        tests=[sync.RapidTest(t.passage_id, t.result, t.at) for t in body.tests],
    )
    return RapidTestsPublic(notices=notices)


@router.post("/lookup", response_model=LookupPublic)
def lookup(body: LookupInput, session: SessionDep, station: StationDep) -> LookupPublic:
    """While online, a CCCD card or a typed document number is looked up for the colour and
    evidence a pass would carry (a card's QR carries none). Registers an unknown card holder."""
    from phongdich.credentials.passes import initials_of
    from phongdich.db import utcnow

    if body.text.strip().startswith(("PD1:", "HC1:")):
        raise Invalid("text", "a CCCD card's QR or a document number")
    now = utcnow()
    scanned = identify(
        session,
        body.text,
        TrustStore(),
        now,
        register_unit_code=station.checkpoint.unit_code,
        where=f"checkpoint {station.checkpoint.code}",
    )
    from phongdich.credentials.status import status_for

    status = status_for(session=session, person_id=scanned.person.id, at=now)
    audit.record(
        session,
        station.actor,
        "read",
        "health_status",
        scanned.person.id,
        unit_code=scanned.person.unit_code,
        detail=f"looked up at checkpoint {station.checkpoint.code}",
    )
    return LookupPublic(
        colour=status.colour,
        reasons=list(status.reasons),
        unit_code=scanned.person.unit_code,
        initials=initials_of(scanned.person.full_name),
        birth_year=scanned.person.birth_year,
        evidence=dict(status.evidence),
    )
