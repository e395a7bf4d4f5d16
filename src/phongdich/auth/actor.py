"""The Actor: who is calling, in which role, over which admin units."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from phongdich.adminunits.models import AdminUnit
from phongdich.auth.roles import ROLE_PERMISSIONS, Permission, Role
from phongdich.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    username: str
    role: Role
    unit_code: str | None = None
    unit_path: str | None = None
    person_id: uuid.UUID | None = None
    origin: str = ""

    @property
    def nationwide(self) -> bool:
        return self.role is Role.NATIONAL_ADMIN

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"role {self.role.value} may not {permission.value}")

    def with_origin(self, origin: str) -> Actor:
        return Actor(
            self.user_id,
            self.username,
            self.role,
            self.unit_code,
            self.unit_path,
            self.person_id,
            origin,
        )


def covers(actor: Actor, path: str | None) -> bool:
    """Does the actor's jurisdiction hold the unit with this path?"""
    if actor.nationwide:
        return True
    if path is None or actor.unit_path is None:
        return False
    return path == actor.unit_path or path.startswith(actor.unit_path + "/")


def system_actor(origin: str = "cli") -> Actor:
    """The operator at the server's console: nationwide, and audited as such."""
    return Actor(user_id=None, username="system", role=Role.NATIONAL_ADMIN, origin=origin)


def units_within(actor: Actor) -> ColumnElement[bool] | None:
    """A condition on AdminUnit selecting the actor's subtree; None for nationwide actors."""
    if actor.nationwide:
        return None
    if actor.unit_path is None:
        return AdminUnit.code.is_(None)  # matches nothing: a staff user without a unit sees nobody
    return or_(AdminUnit.path == actor.unit_path, AdminUnit.path.startswith(actor.unit_path + "/"))


def in_jurisdiction(
    actor: Actor, *unit_columns: InstrumentedAttribute[str | None] | InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """True where any of the record's unit columns lies inside the actor's subtree."""
    within = units_within(actor)
    if within is None:
        return true()
    subtree = select(AdminUnit.code).where(within).scalar_subquery()
    return or_(*(column.in_(subtree) for column in unit_columns))
