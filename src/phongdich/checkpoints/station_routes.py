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
from phongdich.deps import SessionDep, _bearer
from phongdich.errors import NotFound, Unauthorized

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
    origin_zone_level: int | None = Field(None, ge=1, le=4)
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
    unknown: list[uuid.UUID]  # skipped: not a passage of this checkpoint, or a time out of range


@router.post("/rapid-tests", response_model=RapidTestsPublic)
def post_rapid_tests(
    body: RapidTestsInput, session: SessionDep, station: StationDep
) -> RapidTestsPublic:
    """Results of the lane's rapid tests for passages already sent: the driver's status and
    the destination learn them while the driver drives on; a positive reaches the origin too."""
    notices, unknown = sync.receive_rapid_tests(
        session=session,
        context=station,
        tests=[sync.RapidTest(t.passage_id, t.result, t.at) for t in body.tests],
    )
    return RapidTestsPublic(notices=notices, unknown=unknown)


@router.post("/lookup", response_model=LookupPublic)
def lookup(body: LookupInput, session: SessionDep, station: StationDep) -> LookupPublic:
    """While online, a CCCD card's QR is looked up for the colour and evidence a pass would
    carry (a card carries none). Only a card's QR, held up at the gate, is accepted: a typed
    number would let a station read anyone's status. Nobody is registered here: 404 when the
    card's holder is unknown, and the station decides without."""
    from phongdich.credentials.passes import initials_of
    from phongdich.credentials.status import current_person, status_for
    from phongdich.db import utcnow
    from phongdich.persons.documents import parse_cccd_qr, parse_document
    from phongdich.persons.service import document_owner

    card = parse_cccd_qr(body.text)
    owner = document_owner(session, parse_document(card.number))
    if owner is None:
        raise NotFound("person", "card")
    person = current_person(session, owner.id)
    now = utcnow()
    status = status_for(session=session, person_id=person.id, at=now)
    audit.record(
        session,
        station.actor,
        "read",
        "health_status",
        person.id,
        unit_code=person.unit_code,
        detail=f"looked up at checkpoint {station.checkpoint.code}",
    )
    return LookupPublic(
        colour=status.colour,
        reasons=list(status.reasons),
        unit_code=person.unit_code,
        initials=initials_of(person.full_name),
        birth_year=person.birth_year,
        evidence=dict(status.evidence),
    )
