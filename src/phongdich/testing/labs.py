"""Labs, shipments of closed tubes to them, receiving by scanning, and each lab's load.

A lab sees barcodes and counts only: who is in a tube stays with the sampling side.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers
from phongdich.auth.roles import Permission
from phongdich.config import Settings
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.testing import campaigns
from phongdich.testing.models import Lab, SamplingSite, Shipment, Tube
from phongdich.testing.sampling import CLOSED, RECEIVED, RESULTED, SHIPPED, barcode, find_tube
from phongdich.testing.schemas import LabInput, ShipmentPublic
from phongdich.text import clean_name, new_code, parse_code
from phongdich.web.reasons import N_

# Warn when the tubes waiting at a lab reach this share of a day's capacity.
NEAR_CAPACITY = 0.8
TURNAROUND_DAYS = 14


def create_lab(*, session: Session, actor: Actor, data: LabInput) -> Lab:
    actor.require(Permission.TESTING_MANAGE)
    code = parse_code(data.code)
    place = campaigns.managed_unit(session, actor, data.unit_code, "unit_code")
    name = clean_name(data.name)
    if len(name) < 2:
        raise Invalid("name", "required")
    methods = sorted({campaigns.method(m, f"methods.{i}") for i, m in enumerate(data.methods)})
    if session.scalar(select(Lab.id).where(Lab.code == code)) is not None:
        raise Conflict(f"a lab with code {code} exists")
    lab = Lab(
        code=code,
        name=name,
        unit_code=place.code,
        daily_capacity=data.daily_capacity,
        methods=methods,
    )
    session.add(lab)
    session.flush()
    audit.record(session, actor, "create", "lab", lab.id, unit_code=place.code)
    return lab


def list_labs(*, session: Session) -> Sequence[Lab]:
    """Every lab: sampling teams anywhere may ship to any of them."""
    return session.scalars(select(Lab).order_by(Lab.code)).all()


def find_lab(session: Session, code: str, field: str = "lab_code") -> Lab:
    lab = session.scalar(select(Lab).where(Lab.code == (code or "").strip().upper()))
    if lab is None:
        raise Invalid(field, f"no lab with code {code}")
    return lab


def works_at(session: Session, actor: Actor, lab_id: uuid.UUID) -> bool:
    """Lab staff act for the labs inside their unit."""
    lab = session.get(Lab, lab_id)
    if lab is None or not actor.can(Permission.TESTING_LAB):
        return False
    path = session.scalar(select(AdminUnit.path).where(AdminUnit.code == lab.unit_code))
    return covers(actor, path)


def lab_for_staff(*, session: Session, actor: Actor, code: str) -> Lab:
    actor.require(Permission.TESTING_LAB)
    lab = session.scalar(select(Lab).where(Lab.code == code.strip().upper()))
    if lab is None or not works_at(session, actor, lab.id):
        raise NotFound("lab", code)
    return lab


# Shipments


def _unique_code(session: Session) -> str:
    for _ in range(20):
        code = "VC-" + new_code(6)
        if session.scalar(select(Shipment.id).where(Shipment.code == code)) is None:
            return code
    raise Conflict("could not find a free shipment code; try again")


def _barcodes(values: Sequence[str], field: str) -> list[str]:
    return list(dict.fromkeys(barcode(v, f"{field}.{i}") for i, v in enumerate(values)))


def create_shipment(
    *, session: Session, actor: Actor, lab_code: str, barcodes: Sequence[str]
) -> tuple[Shipment, list[str]]:
    """Send closed tubes to a lab; (shipment, warnings about the lab's load)."""
    actor.require(Permission.TESTING_SAMPLE)
    lab = find_lab(session, lab_code)
    codes = _barcodes(barcodes, "barcodes")
    if not codes:
        raise Invalid("barcodes", "required")
    tubes: list[Tube] = []
    for index, code in enumerate(codes):
        tube = find_tube(session, code)
        site = session.get(SamplingSite, tube.site_id) if tube is not None else None
        if tube is None or site is None or not campaigns.may_sample_at(session, actor, site):
            raise Invalid(f"barcodes.{index}", f"no tube {code} at your sites")
        if tube.status != CLOSED:
            raise Invalid(
                f"barcodes.{index}",
                f"tube {code} is {tube.status}: only closed tubes not yet sent are shipped",
            )
        tubes.append(tube)
    first_site = session.get_one(SamplingSite, tubes[0].site_id)
    shipment = Shipment(
        code=_unique_code(session),
        lab_id=lab.id,
        unit_code=first_site.unit_code,
        sent_by=actor.username[:64],
        extra_barcodes=[],
    )
    session.add(shipment)
    session.flush()
    for tube in tubes:
        tube.status = SHIPPED
        tube.shipment_id = shipment.id
        tube.lab_id = lab.id
    session.flush()
    audit.record(
        session,
        actor,
        "ship",
        "shipment",
        shipment.id,
        unit_code=shipment.unit_code,
        detail=f"lab={lab.code} tubes={len(tubes)}",
    )
    return shipment, capacity_warnings(session, lab)


def get_shipment(*, session: Session, actor: Actor, code: str) -> Shipment:
    shipment = session.scalar(select(Shipment).where(Shipment.code == code.strip().upper()))
    if shipment is None:
        raise NotFound("shipment", code)
    if works_at(session, actor, shipment.lab_id):
        return shipment
    path = session.scalar(select(AdminUnit.path).where(AdminUnit.code == shipment.unit_code))
    if (actor.can(Permission.TESTING_SAMPLE) or actor.can(Permission.TESTING_READ)) and covers(
        actor, path
    ):
        return shipment
    raise NotFound("shipment", code)


def receive(*, session: Session, actor: Actor, code: str, barcodes: Sequence[str]) -> Shipment:
    """The lab scans what arrived; scanning again later adds what turned up (idempotent)."""
    actor.require(Permission.TESTING_LAB)
    shipment = get_shipment(session=session, actor=actor, code=code)
    if not works_at(session, actor, shipment.lab_id):
        raise NotFound("shipment", code)
    now = utcnow()
    extra = list(shipment.extra_barcodes or [])
    for scanned_code in _barcodes(barcodes, "barcodes"):
        tube = find_tube(session, scanned_code)
        if tube is None or tube.shipment_id != shipment.id:
            if scanned_code not in extra:
                extra.append(scanned_code)
            continue
        if tube.status == SHIPPED:
            tube.status = RECEIVED
            tube.received_at = now
    shipment.extra_barcodes = extra
    shipment.received_at = shipment.received_at or now
    shipment.received_by = actor.username[:64]
    session.flush()
    missing = len(view(session, shipment).missing)
    audit.record(
        session,
        actor,
        "receive",
        "shipment",
        shipment.id,
        unit_code=shipment.unit_code,
        detail=f"missing={missing} extra={len(extra)}",
    )
    return shipment


def view(session: Session, shipment: Shipment, warnings: Sequence[str] = ()) -> ShipmentPublic:
    lab = session.get_one(Lab, shipment.lab_id)
    tubes = session.execute(
        select(Tube.barcode, Tube.received_at, Tube.status)
        .where(Tube.shipment_id == shipment.id)
        .order_by(Tube.barcode)
    ).all()
    received = [b for b, at, status in tubes if at is not None or status == RESULTED]
    missing = (
        [b for b, at, status in tubes if at is None and status == SHIPPED]
        if shipment.received_at is not None
        else []
    )
    return ShipmentPublic(
        code=shipment.code,
        lab_code=lab.code,
        sent_at=shipment.sent_at,
        sent_by=shipment.sent_by,
        received_at=shipment.received_at,
        tubes=len(tubes),
        received=len(received),
        missing=missing,
        extra=list(shipment.extra_barcodes or []),
        warnings=list(warnings),
    )


def shipments_of(session: Session, lab: Lab, limit: int = 100) -> Sequence[Shipment]:
    return session.scalars(
        select(Shipment)
        .where(Shipment.lab_id == lab.id)
        .order_by(Shipment.sent_at.desc())
        .limit(limit)
    ).all()


# Load


@dataclass(frozen=True)
class Load:
    lab: Lab
    in_transit: int
    waiting: int  # received, no result yet
    resulted_today: int
    turnaround_p50_h: float | None
    turnaround_p90_h: float | None

    @property
    def pending(self) -> int:
        return self.in_transit + self.waiting

    @property
    def share(self) -> float:
        return self.pending / self.lab.daily_capacity

    @property
    def warning(self) -> str | None:
        if self.share > 1:
            return N_("over capacity: send new tubes to another lab")
        if self.share >= NEAR_CAPACITY:
            return N_("near capacity")
        return None


def _local_midnight(now: datetime, settings: Settings) -> datetime:
    local = now.astimezone(settings.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _quantiles(hours: list[float]) -> tuple[float, float]:
    if len(hours) == 1:
        return hours[0], hours[0]
    cuts = statistics.quantiles(hours, n=10, method="inclusive")
    return statistics.median(hours), cuts[8]


def loads(session: Session, labs: Sequence[Lab], now: datetime | None = None) -> list[Load]:
    settings = Settings()
    now = now or utcnow()
    midnight = _local_midnight(now, settings)
    ids = [lab.id for lab in labs]
    status_counts: dict[tuple[uuid.UUID, str], int] = {}
    if ids:
        counted: list[Any] = list(
            session.execute(
                select(Tube.lab_id, Tube.status, func.count())
                .where(Tube.lab_id.in_(ids), Tube.status.in_((SHIPPED, RECEIVED)))
                .group_by(Tube.lab_id, Tube.status)
            )
        )
        for lab_id, status, n in counted:
            status_counts[(lab_id, status)] = n
    today: dict[uuid.UUID, int] = {}
    durations: dict[uuid.UUID, list[float]] = defaultdict(list)
    if ids:
        recent: list[Any] = list(
            session.execute(
                select(Tube.lab_id, Tube.closed_at, Tube.resulted_at).where(
                    Tube.lab_id.in_(ids), Tube.resulted_at >= now - timedelta(days=1)
                )
            )
        )
        for lab_id, closed_at, resulted_at in recent:
            if resulted_at >= midnight:
                today[lab_id] = today.get(lab_id, 0) + 1
            if closed_at is not None:
                durations[lab_id].append((resulted_at - closed_at).total_seconds() / 3600)
    out = []
    for lab in labs:
        p50 = p90 = None
        if durations[lab.id]:
            p50, p90 = _quantiles(durations[lab.id])
        out.append(
            Load(
                lab=lab,
                in_transit=status_counts.get((lab.id, SHIPPED), 0),
                waiting=status_counts.get((lab.id, RECEIVED), 0),
                resulted_today=today.get(lab.id, 0),
                turnaround_p50_h=None if p50 is None else round(p50, 2),
                turnaround_p90_h=None if p90 is None else round(p90, 2),
            )
        )
    return out


def capacity_warnings(session: Session, lab: Lab) -> list[str]:
    """What to tell a team shipping to this lab: its load and the labs with room."""
    every = list_labs(session=session)
    figures = {load.lab.id: load for load in loads(session, every)}
    mine = figures[lab.id]
    if mine.warning is None:
        return []
    room = sorted(
        (load for load in figures.values() if load.lab.id != lab.id and load.share < NEAR_CAPACITY),
        key=lambda load: load.share,
    )
    message = f"lab {lab.code}: {mine.pending} tubes waiting for {lab.daily_capacity} a day"
    if room:
        message += "; room at " + ", ".join(load.lab.code for load in room[:3])
    return [message]


@dataclass(frozen=True)
class DayTurnaround:
    lab_code: str
    day: date
    tubes: int
    p50_h: float
    p90_h: float


def turnaround_by_day(
    session: Session, labs: Sequence[Lab], now: datetime | None = None, days: int = TURNAROUND_DAYS
) -> list[DayTurnaround]:
    """Sampling (tube closed) to result, per lab and local day of the result."""
    settings = Settings()
    now = now or utcnow()
    codes = {lab.id: lab.code for lab in labs}
    grouped: dict[tuple[str, date], list[float]] = defaultdict(list)
    if codes:
        resulted: list[Any] = list(
            session.execute(
                select(Tube.lab_id, Tube.closed_at, Tube.resulted_at).where(
                    Tube.lab_id.in_(list(codes)),
                    Tube.resulted_at >= now - timedelta(days=days),
                    Tube.closed_at.is_not(None),
                )
            )
        )
        for lab_id, closed_at, resulted_at in resulted:
            day = resulted_at.astimezone(settings.tz).date()
            grouped[(codes[lab_id], day)].append((resulted_at - closed_at).total_seconds() / 3600)
    out = []
    for (code, day), hours in sorted(grouped.items()):
        p50, p90 = _quantiles(hours)
        out.append(DayTurnaround(code, day, len(hours), round(p50, 2), round(p90, 2)))
    return out
