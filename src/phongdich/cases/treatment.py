"""Treatment routing (phân luồng): a case goes by severity to a facility with a free bed,
in its own unit if possible, else the nearest unit up the tree (district, then province)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.cases.models import Case, TreatmentFacility
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.text import clean_name, parse_code

SEVERITIES = ("asymptomatic", "mild", "moderate", "severe", "critical")
# Tier 0 is home care; the Ministry's three-tier model for the rest.
TIER_FOR = {"asymptomatic": 0, "mild": 1, "moderate": 2, "severe": 3, "critical": 3}
TIERS = (0, 1, 2, 3)


def create_facility(
    *,
    session: Session,
    actor: Actor,
    code: str,
    name: str,
    tier: int,
    unit_code: str,
    beds: int | None,
) -> TreatmentFacility:
    actor.require(Permission.CASES_MANAGE)
    code = parse_code(code)
    if tier not in TIERS:
        raise Invalid("tier", "0 (home care), 1, 2 or 3")
    if tier == 0:
        beds = None
    elif beds is None or not 0 <= beds <= 100_000:
        raise Invalid("beds", "a number of beds from 0 to 100000")
    unit = session.get(AdminUnit, unit_code)
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", unit_code)
    name = clean_name(name)
    if not name:
        raise Invalid("name", "required")
    if session.scalar(select(TreatmentFacility.id).where(TreatmentFacility.code == code)):
        raise Conflict(f"facility {code} already exists")
    facility = TreatmentFacility(
        code=code, name=name[:200], tier=tier, unit_code=unit.code, beds=beds
    )
    session.add(facility)
    session.flush()
    audit.record(session, actor, "create", "treatment_facility", facility.id, unit_code=unit.code)
    return facility


def _occupied(session: Session, facility_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    return dict(
        session.execute(
            select(Case.facility_id, func.count())
            .where(Case.facility_id.in_(list(facility_ids)), Case.outcome.is_(None))
            .group_by(Case.facility_id)
        ).all()  # type: ignore[arg-type]
    )


def route(session: Session, case: Case) -> TreatmentFacility | None:
    """The facility of the case's tier with a free bed nearest its unit (None: none free)."""
    tier = TIER_FOR.get(case.severity, 1)
    unit = session.get(AdminUnit, case.unit_code) if case.unit_code else None
    path = unit.path.split("/") if unit else []
    facilities = list(
        session.scalars(
            select(TreatmentFacility)
            .where(TreatmentFacility.tier == tier)
            .order_by(TreatmentFacility.code)
        )
    )
    if not facilities:
        return None
    occupied = _occupied(session, [f.id for f in facilities])
    paths = dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.path).where(
                AdminUnit.code.in_({f.unit_code for f in facilities})
            )
        ).all()
    )

    def nearness(facility: TreatmentFacility) -> int | None:
        """How many levels up from the case's unit the facility's subtree starts (None: in
        another province, where the case's province does not send its patients)."""
        theirs = paths.get(facility.unit_code, "").split("/")
        shared = 0
        for a, b in zip(path, theirs, strict=False):
            if a != b:
                break
            shared += 1
        if not path:
            return 0
        return len(path) - shared if shared else None

    free = [
        (near, f.code, f)
        for f in facilities
        if (near := nearness(f)) is not None
        and (f.beds is None or occupied.get(f.id, 0) < f.beds or f.id == case.facility_id)
    ]
    return min(free, key=lambda item: item[:2])[2] if free else None


@dataclass(frozen=True)
class Occupancy:
    facility: TreatmentFacility
    occupied: int

    @property
    def free(self) -> int | None:
        return None if self.facility.beds is None else max(0, self.facility.beds - self.occupied)


def occupancy(*, session: Session, actor: Actor) -> list[Occupancy]:
    actor.require(Permission.CASES_READ)
    facilities = list(
        session.scalars(
            select(TreatmentFacility)
            .where(in_jurisdiction(actor, TreatmentFacility.unit_code))
            .order_by(TreatmentFacility.tier, TreatmentFacility.code)
        )
    )
    occupied = _occupied(session, [f.id for f in facilities])
    return [Occupancy(f, occupied.get(f.id, 0)) for f in facilities]
