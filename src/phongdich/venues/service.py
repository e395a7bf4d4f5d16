"""Registering, approving and finding venues.

A venue manager sees and changes only the venues they registered; officials see every venue
of their units. Nobody here sees who visited: that is `checkins.presence`, for officials only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor, covers, in_jurisdiction, system_actor
from phongdich.auth.models import User
from phongdich.auth.roles import Permission, Role
from phongdich.auth.service import actor_for_user, create_user
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.text import clean_name, fold, new_code, parse_code
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.web.reasons import N_


@dataclass(frozen=True)
class Category:
    key: str
    label: str  # Vietnamese on pages through the catalogue
    visit_minutes: int  # a typical visit, when nobody checks out


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category("restaurant", N_("Restaurant"), 90),
        Category("cafe", N_("Café"), 60),
        Category("supermarket", N_("Supermarket"), 45),
        Category("market", N_("Market"), 60),
        Category("shop", N_("Shop"), 30),
        Category("office", N_("Office"), 480),
        Category("factory", N_("Factory"), 480),
        Category("school", N_("School"), 360),
        Category("hospital", N_("Hospital or clinic"), 120),
        Category("pharmacy", N_("Pharmacy"), 15),
        Category("residential_gate", N_("Residential gate"), 15),
        Category("commune_checkpoint", N_("Commune checkpoint"), 10),
        Category("transport", N_("Transport (station, bus, ferry)"), 120),
        Category("worship", N_("Place of worship"), 90),
        Category("other", N_("Other"), 60),
    )
}

PENDING, APPROVED, SUSPENDED = "pending", "approved", "suspended"
STATUSES = (PENDING, APPROVED, SUSPENDED)


def category(value: str | None, field: str = "category") -> Category:
    key = (value or "").strip().lower().replace(" ", "_").replace("-", "_")
    found = CATEGORIES.get(key)
    if found is None:
        raise Invalid(field, f"one of {', '.join(CATEGORIES)}")
    return found


def _unit(session: Session, actor: Actor, code: str) -> AdminUnit:
    """Officials register venues inside their jurisdiction; a manager's venue may be anywhere
    (a chain's shops), and the officials of that unit approve it."""
    code = code.strip()
    unit = session.get(AdminUnit, code) if code else None
    if unit is None:
        raise Invalid("unit_code", f"no admin unit with code {code}" if code else "required")
    if actor.role is not Role.VENUE_MANAGER and not covers(actor, unit.path):
        raise Invalid("unit_code", N_("outside your jurisdiction"))
    return unit


@dataclass(frozen=True)
class CheckedVenue:
    """A registration's fields after every check, ready for a new or an existing venue."""

    code: str | None
    name: str
    category: str
    unit_code: str
    address: str
    capacity: int | None
    default_visit_minutes: int


def check(session: Session, actor: Actor, data: VenueInput) -> CheckedVenue:
    name = clean_name(data.name)
    if len(name) < 2:
        raise Invalid("name", "required")
    if len(fold(name)) > 200:  # Hangul folds into more letters than it has: the column is 200
        raise Invalid("name", "too long")
    kind = category(data.category)
    unit = _unit(session, actor, data.unit_code)
    code = None
    if data.code:
        if not actor.can(Permission.VENUES_MANAGE):
            raise Invalid("code", N_("only officials choose a venue's code"))
        code = parse_code(data.code)
    return CheckedVenue(
        code=code,
        name=name,
        category=kind.key,
        unit_code=unit.code,
        address=clean_name(data.address),
        capacity=data.capacity,
        default_visit_minutes=data.default_visit_minutes or kind.visit_minutes,
    )


def _unique_code(session: Session) -> str:
    for _ in range(20):
        code = new_code()
        if session.scalar(select(Venue.id).where(Venue.code == code)) is None:
            return code
    raise Conflict("could not find a free venue code; try again")  # 32^8: practically never


def register_venue(*, session: Session, actor: Actor, data: VenueInput) -> Venue:
    """A manager's venue waits for the unit's approval; an official's is approved at once.

    Check-ins are recorded from the first day either way: an outbreak does not wait for paperwork.
    """
    actor.require(Permission.VENUES_REGISTER)
    checked = check(session, actor, data)
    if checked.code is not None and session.scalar(
        select(Venue.id).where(Venue.code == checked.code)
    ):
        raise Invalid("code", N_("already taken by another venue"))
    official = actor.can(Permission.VENUES_MANAGE)
    now = utcnow()
    venue = Venue(
        code=checked.code or _unique_code(session),
        name=checked.name,
        name_folded=fold(checked.name),
        category=checked.category,
        unit_code=checked.unit_code,
        address=checked.address,
        capacity=checked.capacity,
        default_visit_minutes=checked.default_visit_minutes,
        status=APPROVED if official else PENDING,
        manager_id=actor.user_id if actor.role is Role.VENUE_MANAGER else None,
        created_at=now,
        decided_at=now if official else None,
        decided_by=actor.username if official else "",
    )
    session.add(venue)
    session.flush()
    audit.record(session, actor, "create", "venue", venue.id, unit_code=venue.unit_code)
    return venue


def may_manage(actor: Actor, venue: Venue, unit_path: str | None) -> bool:
    """The venue's own manager, or an official whose jurisdiction holds the venue."""
    if actor.role is Role.VENUE_MANAGER:
        return actor.user_id is not None and venue.manager_id == actor.user_id
    if not actor.can(Permission.VENUES_MANAGE):
        return False
    return actor.nationwide or (unit_path is not None and covers(actor, unit_path))


def _path(session: Session, unit_code: str) -> str | None:
    return session.scalar(select(AdminUnit.path).where(AdminUnit.code == unit_code))


def get_venue(*, session: Session, actor: Actor, code: str) -> Venue:
    """Someone else's venue looks exactly like no venue."""
    venue = find_venue(session=session, code=code)
    if venue is None or not may_manage(actor, venue, _path(session, venue.unit_code)):
        raise NotFound("venue", code.strip().upper())
    return venue


def find_venue(*, session: Session, code: str) -> Venue | None:
    """For the public check-in page: a venue's name and address are on its door anyway."""
    return session.scalar(select(Venue).where(Venue.code == code.strip().upper()))


def decide(*, session: Session, actor: Actor, code: str, status: str, reason: str = "") -> Venue:
    """Approve or suspend (a suspended venue takes no new check-ins); officials only."""
    actor.require(Permission.VENUES_MANAGE)
    if status not in STATUSES or status == PENDING:
        raise Invalid("status", f"one of {APPROVED}, {SUSPENDED}")
    venue = get_venue(session=session, actor=actor, code=code)
    if venue.status != status:
        venue.status = status
        venue.decided_at = utcnow()
        venue.decided_by = actor.username
        session.flush()
        audit.record(
            session,
            actor,
            status,
            "venue",
            venue.id,
            unit_code=venue.unit_code,
            detail=clean_name(reason)[:200],
        )
    return venue


def update_venue(*, session: Session, actor: Actor, code: str, data: VenueInput) -> Venue:
    """A manager who moves the venue to another unit sends it back for approval there."""
    venue = get_venue(session=session, actor=actor, code=code)
    checked = check(session, actor, data.model_copy(update={"code": None}))
    changes = {
        name: value
        for name, value in (
            ("name", checked.name),
            ("category", checked.category),
            ("unit_code", checked.unit_code),
            ("address", checked.address),
            ("capacity", checked.capacity),
            ("default_visit_minutes", checked.default_visit_minutes),
        )
        if getattr(venue, name) != value
    }
    if changes:
        for name, value in changes.items():
            setattr(venue, name, value)
        venue.name_folded = fold(venue.name)
        if "unit_code" in changes and not actor.can(Permission.VENUES_MANAGE):
            # Moved by its manager into another unit: that unit's officials have not seen it.
            venue.status, venue.decided_at, venue.decided_by = PENDING, None, ""
        session.flush()
        audit.record(
            session,
            actor,
            "update",
            "venue",
            venue.id,
            unit_code=venue.unit_code,
            detail="changed: " + ", ".join(sorted(changes)),
        )
    return venue


def list_venues(
    *,
    session: Session,
    actor: Actor,
    query: str = "",
    unit_code: str | None = None,
    status: str | None = None,
    category_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Venue], int]:
    """A manager's own venues, or an official's venues by unit, status, category or name."""
    if actor.role is Role.VENUE_MANAGER:
        stmt = select(Venue).where(Venue.manager_id == actor.user_id)
    else:
        actor.require(Permission.VENUES_MANAGE)
        stmt = select(Venue).where(in_jurisdiction(actor, Venue.unit_code))
    if unit_code:
        unit = session.get(AdminUnit, unit_code.strip())
        if unit is None:
            raise Invalid("unit", f"no admin unit with code {unit_code.strip()}")
        subtree = select(AdminUnit.code).where(
            or_(AdminUnit.path == unit.path, AdminUnit.path.startswith(unit.path + "/"))
        )
        stmt = stmt.where(Venue.unit_code.in_(subtree.scalar_subquery()))
    if status:
        if status not in STATUSES:
            raise Invalid("status", f"one of {', '.join(STATUSES)}")
        stmt = stmt.where(Venue.status == status)
    if category_key:
        stmt = stmt.where(Venue.category == category(category_key).key)
    words = fold(query).split()
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            or_(
                Venue.name_folded.like(f"%{escaped}%", escape="\\"),
                Venue.code == word.upper(),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(Venue.name_folded, Venue.code).limit(limit).offset(offset)
    ).all()
    return items, total


def venue_ids(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Venue]:
    return {v.id: v for v in session.scalars(select(Venue).where(Venue.id.in_(ids)))}


def sign_up(
    *, session: Session, username: str, password: str, full_name: str, venue: VenueInput
) -> tuple[User, Venue]:
    """A shop owner with no account yet: a manager account and a pending venue in one step."""
    system = system_actor("venue sign-up")
    check(session, system, venue.model_copy(update={"code": None}))  # venue errors come first
    user = create_user(
        session=session,
        actor=system,
        username=username,
        password=password,
        role=Role.VENUE_MANAGER,
        unit_code=venue.unit_code.strip(),
        full_name=clean_name(full_name),
    )
    manager = actor_for_user(session, user, origin="venue sign-up")
    return user, register_venue(
        session=session, actor=manager, data=venue.model_copy(update={"code": None})
    )
