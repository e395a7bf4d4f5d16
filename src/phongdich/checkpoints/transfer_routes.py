"""API of transfers between provinces (manifests, decisions, the vehicle's code) and of the
notices checkpoints send to units (rapid tests at the driver lane, flagged groups)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkpoints import notices, transfer_views, transfers
from phongdich.checkpoints.models import Transfer
from phongdich.credentials import passes
from phongdich.credentials.routes import request_keys
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Conflict

router = APIRouter(tags=["transfers"])

Code = Annotated[str, Path(max_length=40)]


class TransferInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_unit_code: str = Field(max_length=16)
    to_unit_code: str = Field(max_length=16)
    reason: str = Field(max_length=200)
    travel_date: date
    document_numbers: list[Annotated[str, Field(max_length=20)]] = Field(
        max_length=transfers.MAX_PEOPLE
    )
    route: str = Field("", max_length=300)
    vehicle_plate: str = Field("", max_length=16)
    vehicle_type: str = Field("", max_length=16)


class DecisionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=300)


class RefusalInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(max_length=300)


class MemberPublic(BaseModel):
    person_id: uuid.UUID | None
    full_name: str | None
    initials: str
    birth_year: int | None
    arrived_at: datetime | None


class TransferPublic(BaseModel):
    code: str
    status: str
    from_unit_code: str
    to_unit_code: str
    reason: str
    route: str
    vehicle_plate: str
    vehicle_type: str
    travel_date: date
    filed_by: str
    filed_at: datetime
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    incoming: bool
    outgoing: bool
    people: int
    arrived: int


class TransferDetail(TransferPublic):
    named: bool
    members: list[MemberPublic]


class TransferCodePublic(BaseModel):
    code: str
    text: str


class NoticePublic(BaseModel):
    id: uuid.UUID
    unit_code: str
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None
    read_by: str
    checkpoint_code: str
    passage_at: datetime
    vehicle_plate: str
    group_id: uuid.UUID | None
    traveller: str
    flagged: str
    person_id: uuid.UUID | None
    full_name: str | None
    phone: str | None


def _public(
    transfer: Transfer, sides: transfer_views.Sides, people: int, arrived: int
) -> TransferPublic:
    return TransferPublic(
        code=transfer.code,
        status=transfer.status,
        from_unit_code=transfer.from_unit_code,
        to_unit_code=transfer.to_unit_code,
        reason=transfer.reason,
        route=transfer.route,
        vehicle_plate=transfer.vehicle_plate,
        vehicle_type=transfer.vehicle_type,
        travel_date=transfer.travel_date,
        filed_by=transfer.filed_by,
        filed_at=transfer.filed_at,
        decided_by=transfer.decided_by,
        decided_at=transfer.decided_at,
        decision_note=transfer.decision_note,
        incoming=sides.receiver,
        outgoing=sides.sender,
        people=people,
        arrived=arrived,
    )


def _detail(session: SessionDep, actor: Actor, code: str) -> TransferDetail:
    found = transfer_views.view(session, actor, code)
    base = _public(found.transfer, found.sides, len(found.members), found.arrived)
    return TransferDetail(
        **base.model_dump(),
        named=found.named,
        members=[MemberPublic.model_validate(m, from_attributes=True) for m in found.members],
    )


@router.post("/api/transfers", response_model=TransferDetail, status_code=status.HTTP_201_CREATED)
def file_transfer(body: TransferInput, actor: ActorDep, session: SessionDep) -> TransferDetail:
    """The sending unit files a manifest; it waits for the receiving unit's decision."""
    transfer = transfers.file_transfer(session=session, actor=actor, **body.model_dump())
    return _detail(session, actor, transfer.code)


@router.get("/api/transfers", response_model=list[TransferPublic])
def list_transfers(
    actor: ActorDep,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    direction: Literal["incoming", "outgoing"] | None = None,
) -> list[TransferPublic]:
    """Manifests the caller's units sent or receive, with head counts and arrivals (no names)."""
    return [
        _public(row.transfer, row.sides, row.people, row.arrived)
        for row in transfer_views.rows(session, actor, status=status, direction=direction)
    ]


@router.get("/api/transfers/{code}", response_model=TransferDetail)
def get_transfer(code: Code, actor: ActorDep, session: SessionDep) -> TransferDetail:
    """One manifest. Names are shown to the sending side, and to the receiving side once it
    has accepted; the receiving side decides on initials and birth years. Audited."""
    return _detail(session, actor, code)


@router.post("/api/transfers/{code}/accept", response_model=TransferDetail)
def accept(
    code: Code, actor: ActorDep, session: SessionDep, body: DecisionInput | None = None
) -> TransferDetail:
    transfer = transfers.decide(
        session=session, actor=actor, code=code, accept=True, note=body.note if body else ""
    )
    return _detail(session, actor, transfer.code)


@router.post("/api/transfers/{code}/refuse", response_model=TransferDetail)
def refuse(code: Code, body: RefusalInput, actor: ActorDep, session: SessionDep) -> TransferDetail:
    transfer = transfers.decide(
        session=session, actor=actor, code=code, accept=False, note=body.note
    )
    return _detail(session, actor, transfer.code)


@router.post("/api/transfers/{code}/cancel", response_model=TransferDetail)
def cancel(code: Code, actor: ActorDep, session: SessionDep) -> TransferDetail:
    transfer = transfers.cancel(session=session, actor=actor, code=code)
    return _detail(session, actor, transfer.code)


def signed_code(request: Request, session: SessionDep, actor: Actor, code: str) -> str:
    """The PDT1: text the vehicle carries; none for a refused or cancelled manifest."""
    actor.require(Permission.CHECKPOINTS_RECORD)
    transfer = transfers.get_transfer(session, actor, code)
    if transfer.status in ("refused", "cancelled"):
        raise Conflict(f"transfer {transfer.code} is {transfer.status}")
    return transfers.code_text(session, transfer, request_keys(request))


@router.get("/api/transfers/{code}/code", response_model=None)
def transfer_code(
    request: Request,
    code: Code,
    actor: ActorDep,
    session: SessionDep,
    shape: Annotated[Literal["json", "png", "svg"], Query(alias="format")] = "json",
) -> TransferCodePublic | Response:
    """The signed code for the vehicle: as text, or as a QR image (`format=png|svg`)."""
    text = signed_code(request, session, actor, code)
    if shape == "png":
        return Response(passes.qr_png(text), media_type="image/png")
    if shape == "svg":
        return Response(passes.qr_svg(text), media_type="image/svg+xml")
    return TransferCodePublic(code=code.strip().upper(), text=text)


def _notice_public(view: notices.NoticeView) -> NoticePublic:
    n = view.notice
    return NoticePublic(
        id=n.id,
        unit_code=n.unit_code,
        kind=n.kind,
        message=n.message,
        created_at=n.created_at,
        read_at=n.read_at,
        read_by=n.read_by,
        checkpoint_code=view.checkpoint_code,
        passage_at=view.passage_at,
        vehicle_plate=view.vehicle_plate,
        group_id=view.group_id,
        traveller=view.traveller,
        flagged=view.flagged,
        person_id=n.person_id if view.full_name is not None else None,
        full_name=view.full_name,
        phone=view.phone,
    )


@router.get("/api/checkpoint-notices", response_model=list[NoticePublic])
def list_notices(
    actor: ActorDep,
    session: SessionDep,
    unread: bool = False,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=notices.MAX_LIMIT)] = 200,
) -> list[NoticePublic]:
    """Rapid test results and flagged groups sent to the caller's units, unread first."""
    return [
        _notice_public(v)
        for v in notices.notices_of(
            session=session, actor=actor, unread_only=unread, kind=kind, limit=limit
        )
    ]


@router.post("/api/checkpoint-notices/{notice_id}/read")
def read_notice(
    notice_id: uuid.UUID, actor: ActorDep, session: SessionDep, group: bool = False
) -> dict[str, object]:
    """Mark a notice read; `group=true` marks the rest of its vehicle's notices of that kind."""
    notice = notices.mark_read(session=session, actor=actor, notice_id=notice_id, whole_group=group)
    return {
        "id": str(notice.id),
        "read_at": notice.read_at.isoformat() if notice.read_at else None,
        "read_by": notice.read_by,
    }
