"""Lockdowns (phong tỏa) and their areas: whole units, streets or single addresses.

An area names its unit and, for a street or an address, the text residents' addresses hold.
Narrowing (khoanh vùng) ends some areas and may add smaller ones; nothing is deleted, and each
change is a row with who, when and why. A lockdown point is one active area.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, in_jurisdiction
from phongdich.auth.roles import Permission
from phongdich.cases.models import Case, Lockdown, LockdownArea, LockdownChange
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.text import fold, new_code

KINDS = ("unit", "street", "address")


@dataclass(frozen=True)
class AreaInput:
    kind: str
    unit_code: str
    text: str = ""


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise Invalid(field, "a time with its UTC offset")
    return value.astimezone(UTC)


def _areas(
    session: Session, actor: Actor, lockdown_unit: AdminUnit, areas: Sequence[AreaInput]
) -> list[LockdownArea]:
    made = []
    for index, area in enumerate(areas):
        field = f"areas.{index}"
        if area.kind not in KINDS:
            raise Invalid(f"{field}.kind", "unit, street or address")
        unit = session.get(AdminUnit, area.unit_code)
        if unit is None or not covers(actor, unit.path):
            raise NotFound("admin unit", area.unit_code)
        if not (unit.path == lockdown_unit.path or unit.path.startswith(lockdown_unit.path + "/")):
            raise Invalid(f"{field}.unit_code", "a unit inside the lockdown's unit")
        text = " ".join(area.text.split())[:200]
        if area.kind != "unit" and len(fold(text)) < 3:
            raise Invalid(f"{field}.text", "the street or address, as residents' addresses hold it")
        made.append(
            LockdownArea(
                kind=area.kind,
                unit_code=unit.code,
                text=text if area.kind != "unit" else "",
                text_folded=fold(text) if area.kind != "unit" else "",
            )
        )
    return made


def _describe(areas: Sequence[LockdownArea]) -> str:
    return "; ".join(f"{a.kind} {a.unit_code}" + (f" {a.text}" if a.text else "") for a in areas)


def declare(
    *,
    session: Session,
    actor: Actor,
    unit_code: str,
    reason: str,
    areas: Sequence[AreaInput],
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    case_code: str | None = None,
) -> Lockdown:
    actor.require(Permission.CASES_MANAGE)
    unit = session.get(AdminUnit, unit_code)
    if unit is None or not covers(actor, unit.path):
        raise NotFound("admin unit", unit_code)
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("reason", "required")
    if not areas:
        raise Invalid("areas", "at least one area")
    starts = _aware(starts_at, "starts_at") if starts_at else utcnow()
    ends = _aware(ends_at, "ends_at") if ends_at else None
    if ends is not None and ends <= starts:
        raise Invalid("ends_at", "after starts_at")
    case_id = None
    if case_code:
        case = session.scalar(
            select(Case).where(
                Case.code == case_code.strip().upper(), in_jurisdiction(actor, Case.unit_code)
            )
        )
        if case is None:
            raise NotFound("case", case_code)
        case_id = case.id
    made = _areas(session, actor, unit, areas)
    _refuse_same_areas(session, unit.code, made, starts)
    lockdown = Lockdown(
        code=f"PT-{new_code(6)}",
        unit_code=unit.code,
        reason=reason[:300],
        starts_at=starts,
        ends_at=ends,
        case_id=case_id,
        created_by=actor.username[:64],
    )
    session.add(lockdown)
    session.flush()
    for area in made:
        area.lockdown_id = lockdown.id
        session.add(area)
    session.add(
        LockdownChange(
            lockdown_id=lockdown.id,
            action="declare",
            detail=_describe(made),
            reason=reason[:300],
            by=actor.username[:64],
        )
    )
    session.flush()
    audit.record(session, actor, "create", "lockdown", lockdown.id, unit_code=unit.code)
    return lockdown


def _refuse_same_areas(
    session: Session, unit_code: str, made: Sequence[LockdownArea], starts: datetime
) -> None:
    """The same areas declared again while a lockdown of the unit holds them (a form sent
    twice, two officials at once) would count every point twice: refused, naming it."""
    wanted = {(a.kind, a.unit_code, a.text_folded) for a in made}
    for lockdown in session.scalars(
        select(Lockdown).where(
            Lockdown.unit_code == unit_code,
            or_(Lockdown.ends_at.is_(None), Lockdown.ends_at > starts),
        )
    ):
        held = {(a.kind, a.unit_code, a.text_folded) for a in active_areas(session, lockdown)}
        if held == wanted:
            raise Conflict(f"these areas are already under lockdown {lockdown.code}")


def get_lockdown(*, session: Session, actor: Actor, code: str) -> Lockdown:
    actor.require(Permission.CASES_READ)
    lockdown = session.scalar(
        select(Lockdown).where(
            Lockdown.code == code.strip().upper(), in_jurisdiction(actor, Lockdown.unit_code)
        )
    )
    if lockdown is None:
        raise NotFound("lockdown", code)
    return lockdown


def active_areas(session: Session, lockdown: Lockdown) -> list[LockdownArea]:
    return list(
        session.scalars(
            select(LockdownArea)
            .where(LockdownArea.lockdown_id == lockdown.id, LockdownArea.removed_at.is_(None))
            .order_by(LockdownArea.added_at, LockdownArea.unit_code)
        )
    )


def narrow(
    *,
    session: Session,
    actor: Actor,
    code: str,
    remove: Sequence[uuid.UUID],
    add: Sequence[AreaInput] = (),
    reason: str,
) -> Lockdown:
    """End some areas (and add smaller ones): the lockdown shrinks as results come back."""
    actor.require(Permission.CASES_MANAGE)
    lockdown = get_lockdown(session=session, actor=actor, code=code)
    if lockdown.ends_at is not None and lockdown.ends_at <= utcnow():
        raise Conflict("the lockdown is lifted")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("reason", "required")
    areas = {a.id: a for a in active_areas(session, lockdown)}
    for index, area_id in enumerate(remove):
        if area_id not in areas:
            raise Invalid(f"remove.{index}", "an active area of this lockdown")
    unit = session.get_one(AdminUnit, lockdown.unit_code)
    made = _areas(session, actor, unit, add)
    if not remove and not made:
        raise Invalid("remove", "at least one area to end or add")
    if len(remove) == len(areas) and not made:
        raise Invalid("remove", "would end every area: lift the lockdown instead")
    now = utcnow()
    for area_id in remove:
        areas[area_id].removed_at = now
    for area in made:
        area.lockdown_id = lockdown.id
        session.add(area)
    session.add(
        LockdownChange(
            lockdown_id=lockdown.id,
            action="narrow" if remove else "widen",
            detail=(
                "ended: "
                + _describe([areas[a] for a in remove])
                + ("; added: " + _describe(made) if made else "")
            ),
            reason=reason[:300],
            by=actor.username[:64],
        )
    )
    session.flush()
    audit.record(session, actor, "update", "lockdown", lockdown.id, unit_code=lockdown.unit_code)
    return lockdown


def lift(*, session: Session, actor: Actor, code: str, reason: str) -> Lockdown:
    actor.require(Permission.CASES_MANAGE)
    lockdown = get_lockdown(session=session, actor=actor, code=code)
    now = utcnow()
    if lockdown.ends_at is not None and lockdown.ends_at <= now:
        raise Conflict("the lockdown is already lifted")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("reason", "required")
    lockdown.ends_at = now
    session.add(
        LockdownChange(
            lockdown_id=lockdown.id, action="lift", reason=reason[:300], by=actor.username[:64]
        )
    )
    session.flush()
    audit.record(session, actor, "lift", "lockdown", lockdown.id, unit_code=lockdown.unit_code)
    return lockdown


def changes(session: Session, lockdown: Lockdown) -> list[LockdownChange]:
    return list(
        session.scalars(
            select(LockdownChange)
            .where(LockdownChange.lockdown_id == lockdown.id)
            .order_by(LockdownChange.at, LockdownChange.id)
        )
    )


def _inside(session: Session, areas: Sequence[LockdownArea]) -> ColumnElement[bool]:
    """People living in any of the areas (by their current unit and folded address)."""
    unit = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)
    conditions: list[ColumnElement[bool]] = []
    for area in areas:
        path = session.get_one(AdminUnit, area.unit_code).path
        subtree = select(AdminUnit.code).where(
            or_(AdminUnit.path == path, AdminUnit.path.startswith(path + "/"))
        )
        if area.kind == "unit":
            conditions.append(unit.in_(subtree))
        else:
            conditions.append(
                and_(
                    unit.in_(subtree),
                    Person.address_folded.contains(area.text_folded, autoescape=True),
                )
            )
    return or_(*conditions)


def residents(
    *, session: Session, actor: Actor, code: str, limit: int = 1000, offset: int = 0
) -> tuple[Lockdown, int, Sequence[Person]]:
    """The people living inside the active areas: the count and one page of them."""
    lockdown = get_lockdown(session=session, actor=actor, code=code)
    actor.require(Permission.PERSONS_READ)
    areas = active_areas(session, lockdown)
    if not areas:
        return lockdown, 0, []
    where = and_(_inside(session, areas), Person.merged_into_id.is_(None))
    total = session.scalar(select(func.count()).select_from(Person).where(where)) or 0
    people = session.scalars(
        select(Person)
        .where(where)
        .order_by(Person.name_folded, Person.id)
        .limit(limit)
        .offset(offset)
    ).all()
    audit.record(
        session,
        actor,
        "read",
        "lockdown_residents",
        lockdown.id,
        unit_code=lockdown.unit_code,
        detail=f"{total} residents",
    )
    return lockdown, total, people


def list_lockdowns(
    *, session: Session, actor: Actor, active_only: bool = True
) -> Sequence[Lockdown]:
    actor.require(Permission.CASES_READ)
    now = utcnow()
    query = (
        select(Lockdown)
        .where(in_jurisdiction(actor, Lockdown.unit_code))
        .order_by(Lockdown.starts_at.desc())
    )
    if active_only:
        query = query.where(
            Lockdown.starts_at <= now, or_(Lockdown.ends_at.is_(None), Lockdown.ends_at > now)
        )
    return session.scalars(query).all()


def points_per_unit(*, session: Session, actor: Actor) -> dict[str, int]:
    """Active lockdown points in each unit, counted in every unit above it as well."""
    actor.require(Permission.CASES_READ)
    now = utcnow()
    rows = session.execute(
        select(LockdownArea.unit_code, func.count())
        .join(Lockdown, Lockdown.id == LockdownArea.lockdown_id)
        .where(
            LockdownArea.removed_at.is_(None),
            Lockdown.starts_at <= now,
            or_(Lockdown.ends_at.is_(None), Lockdown.ends_at > now),
            in_jurisdiction(actor, LockdownArea.unit_code),
        )
        .group_by(LockdownArea.unit_code)
    )
    paths = dict(session.execute(select(AdminUnit.code, AdminUnit.path)).all())
    total: Counter[str] = Counter()
    for code, count in rows:
        for ancestor in paths.get(code, code).split("/"):
            total[ancestor] += count
    return dict(total)
