"""API of what follows a case: quarantine lists, treatment facilities, lockdowns, zone levels."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.cases import lockdowns, quarantine, treatment, zones
from phongdich.cases.models import Lockdown, ZoneLevel
from phongdich.cases.schemas import (
    AreaInputModel,
    AreaPublic,
    DueItem,
    FacilityInput,
    FacilityPublic,
    HealthCheckInput,
    LiftInput,
    LockdownChangePublic,
    LockdownInput,
    LockdownPublic,
    NarrowInput,
    OrderPublic,
    ResidentPublic,
    ResidentsPublic,
    ZoneLevelPublic,
    ZoneOverrideInput,
)
from phongdich.deps import ActorDep, SessionDep

quarantine_router = APIRouter(prefix="/api/quarantine", tags=["cases"])
treatment_router = APIRouter(prefix="/api/treatment", tags=["cases"])
lockdown_router = APIRouter(prefix="/api/lockdowns", tags=["cases"])
zone_router = APIRouter(prefix="/api/zones", tags=["cases"])

Code = Annotated[str, Path(max_length=40)]
UnitCode = Annotated[str, Path(max_length=16)]


@quarantine_router.get("/due", response_model=list[DueItem])
def due(actor: ActorDep, session: SessionDep, day: date | None = None) -> list[DueItem]:
    """Who in the caller's units is due what today: tests, the daily check, release."""
    day = day or zones.today()
    return [
        DueItem(
            order_id=d.order.id,
            person_id=d.person.id,
            full_name=d.person.full_name,
            unit_code=d.order.unit_code,
            kind=d.order.kind,
            place=d.order.place,
            starts_at=d.order.starts_at,
            ends_on=d.order.ends_on,
            tests_due=[t.due_on for t in d.tests],
            checked_today=d.checked_today,
            release_due=d.release_due,
            last_result=d.last_result,
        )
        for d in quarantine.due_today(session=session, actor=actor, day=day)
    ]


@quarantine_router.post("/{order_id}/checks", status_code=status.HTTP_201_CREATED)
def health_check(
    order_id: uuid.UUID, body: HealthCheckInput, actor: ActorDep, session: SessionDep
) -> dict[str, object]:
    check, created = quarantine.record_check(
        session=session,
        actor=actor,
        order_id=order_id,
        day=body.day,
        temperature=body.temperature,
        symptoms=body.symptoms,
        note=body.note,
    )
    return {"day": check.day.isoformat(), "created": created}


@quarantine_router.post("/{order_id}/release", response_model=OrderPublic)
def release(order_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> OrderPublic:
    """End the order: its end date has come and its last test is negative (409 otherwise)."""
    order = quarantine.release(session=session, actor=actor, order_id=order_id)
    return OrderPublic.model_validate(order)


def _facility_public(o: treatment.Occupancy) -> FacilityPublic:
    f = o.facility
    return FacilityPublic(
        code=f.code,
        name=f.name,
        tier=f.tier,
        unit_code=f.unit_code,
        beds=f.beds,
        occupied=o.occupied,
        free=o.free,
    )


@treatment_router.get("/facilities", response_model=list[FacilityPublic])
def facilities(actor: ActorDep, session: SessionDep) -> list[FacilityPublic]:
    """Facilities in the caller's units with their occupancy."""
    return [_facility_public(o) for o in treatment.occupancy(session=session, actor=actor)]


@treatment_router.post(
    "/facilities", response_model=FacilityPublic, status_code=status.HTTP_201_CREATED
)
def create_facility(body: FacilityInput, actor: ActorDep, session: SessionDep) -> FacilityPublic:
    facility = treatment.create_facility(session=session, actor=actor, **body.model_dump())
    return _facility_public(treatment.Occupancy(facility, 0))


def _areas(items: list[AreaInputModel]) -> list[lockdowns.AreaInput]:
    return [lockdowns.AreaInput(a.kind, a.unit_code, a.text) for a in items]


def lockdown_public(session: Session, lockdown: Lockdown) -> LockdownPublic:
    return LockdownPublic(
        code=lockdown.code,
        unit_code=lockdown.unit_code,
        reason=lockdown.reason,
        starts_at=lockdown.starts_at,
        ends_at=lockdown.ends_at,
        areas=[AreaPublic.model_validate(a) for a in lockdowns.active_areas(session, lockdown)],
        changes=[
            LockdownChangePublic.model_validate(c) for c in lockdowns.changes(session, lockdown)
        ],
    )


@lockdown_router.get("", response_model=list[LockdownPublic])
def list_lockdowns(
    actor: ActorDep, session: SessionDep, active_only: bool = True
) -> list[LockdownPublic]:
    found = lockdowns.list_lockdowns(session=session, actor=actor, active_only=active_only)
    return [lockdown_public(session, lockdown) for lockdown in found]


@lockdown_router.post("", response_model=LockdownPublic, status_code=status.HTTP_201_CREATED)
def declare(body: LockdownInput, actor: ActorDep, session: SessionDep) -> LockdownPublic:
    lockdown = lockdowns.declare(
        session=session,
        actor=actor,
        unit_code=body.unit_code,
        reason=body.reason,
        areas=_areas(body.areas),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        case_code=body.case_code,
    )
    return lockdown_public(session, lockdown)


@lockdown_router.get("/points")
def points(actor: ActorDep, session: SessionDep) -> dict[str, int]:
    """Active lockdown points per unit code, each counted in every unit above it too."""
    return lockdowns.points_per_unit(session=session, actor=actor)


@lockdown_router.get("/{code}", response_model=LockdownPublic)
def get_lockdown(code: Code, actor: ActorDep, session: SessionDep) -> LockdownPublic:
    return lockdown_public(session, lockdowns.get_lockdown(session=session, actor=actor, code=code))


@lockdown_router.post("/{code}/narrow", response_model=LockdownPublic)
def narrow(code: Code, body: NarrowInput, actor: ActorDep, session: SessionDep) -> LockdownPublic:
    lockdown = lockdowns.narrow(
        session=session,
        actor=actor,
        code=code,
        remove=body.remove,
        add=_areas(body.add),
        reason=body.reason,
    )
    return lockdown_public(session, lockdown)


@lockdown_router.post("/{code}/lift", response_model=LockdownPublic)
def lift(code: Code, body: LiftInput, actor: ActorDep, session: SessionDep) -> LockdownPublic:
    lockdown = lockdowns.lift(session=session, actor=actor, code=code, reason=body.reason)
    return lockdown_public(session, lockdown)


@lockdown_router.get("/{code}/residents", response_model=ResidentsPublic)
def residents(
    code: Code,
    actor: ActorDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ResidentsPublic:
    lockdown, total, people = lockdowns.residents(
        session=session, actor=actor, code=code, limit=limit, offset=offset
    )
    return ResidentsPublic(
        lockdown=lockdown.code,
        total=total,
        residents=[
            ResidentPublic(
                person_id=p.id,
                full_name=p.full_name,
                unit_code=p.unit_code,
                address=p.temporary_address or p.permanent_address,
            )
            for p in people
        ],
    )


def _level_public(unit: AdminUnit, day: date, level: ZoneLevel | None) -> ZoneLevelPublic:
    return ZoneLevelPublic(
        unit_code=unit.code,
        unit_name=unit.name,
        day=day,
        level=level.level if level else None,
        colour=zones.COLOURS[level.level] if level else None,
        computed_level=level.computed_level if level else None,
        new_cases_7d=level.new_cases_7d if level else None,
        rate_per_100k=level.rate_per_100k if level else None,
        coverage=level.coverage if level else None,
        override_reason=level.override_reason if level else "",
        set_by=level.set_by if level else "",
    )


@zone_router.get("", response_model=list[ZoneLevelPublic])
def levels(actor: ActorDep, session: SessionDep, day: date | None = None) -> list[ZoneLevelPublic]:
    """Every unit of the caller with its level for the day (today by default)."""
    day = day or zones.today()
    return [
        _level_public(u.unit, day, u.row)
        for u in zones.levels(session=session, actor=actor, day=day)
    ]


@zone_router.post(
    "/{unit_code}/override", response_model=ZoneLevelPublic, status_code=status.HTTP_201_CREATED
)
def override(
    unit_code: UnitCode, body: ZoneOverrideInput, actor: ActorDep, session: SessionDep
) -> ZoneLevelPublic:
    row = zones.override(
        session=session,
        actor=actor,
        unit_code=unit_code,
        day=body.day,
        level=body.level,
        reason=body.reason,
    )
    return _level_public(session.get_one(AdminUnit, row.unit_code), row.day, row)


@zone_router.get("/{unit_code}/history", response_model=list[ZoneLevelPublic])
def history(
    unit_code: UnitCode,
    actor: ActorDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[ZoneLevelPublic]:
    """Every computed and overridden level of the unit's last days, newest first."""
    rows = zones.history(session=session, actor=actor, unit_code=unit_code, days=days)
    unit = session.get_one(AdminUnit, unit_code)
    return [_level_public(unit, r.day, r) for r in rows]
