"""Users and tokens: creation, login, and turning a token into an Actor."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.models import ApiToken, User
from phongdich.auth.passwords import hash_password, hash_token, new_token, verify_password
from phongdich.auth.roles import UNIT_BOUND_ROLES, Permission, Role
from phongdich.db import utcnow
from phongdich.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 8
TOKEN_KINDS = ("session", "api", "device")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise Invalid("role", f"unknown role {value!r}; one of: {allowed}") from None


def create_user(
    *,
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: Role,
    unit_code: str | None,
    full_name: str = "",
    person_id: uuid.UUID | None = None,
) -> User:
    """Staff users need a unit; an actor may only create users inside their own jurisdiction."""
    actor.require(Permission.USERS_MANAGE)
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Invalid("username", "3-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    unit: AdminUnit | None = None
    if unit_code:
        unit = session.get(AdminUnit, unit_code)
        if unit is None:
            raise Invalid("unit", f"no admin unit with code {unit_code!r}")
    if role in UNIT_BOUND_ROLES and unit is None:
        raise Invalid("unit", f"a {role.value} must belong to an admin unit")
    if role is Role.NATIONAL_ADMIN and not actor.nationwide:
        raise Forbidden("only a national admin may create another")
    # An officer whose own unit was removed has no jurisdiction left to create users in.
    if not actor.nationwide and (
        unit is None
        or actor.unit_path is None
        or not (unit.path + "/").startswith(actor.unit_path + "/")
    ):
        raise Invalid("unit", "outside your jurisdiction")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role.value,
        unit_code=unit.code if unit else None,
        person_id=person_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "user",
        user.id,
        unit_code=user.unit_code,
        detail=f"username={username} role={role.value}",
    )
    return user


def set_password(*, session: Session, actor: Actor, username: str, password: str) -> User:
    """A new password ends every web session and API token the user had (devices keep theirs)."""
    actor.require(Permission.USERS_MANAGE)
    user = get_user_by_username(session=session, username=username)
    if not actor.nationwide:
        unit = session.get(AdminUnit, user.unit_code) if user.unit_code else None
        if (
            unit is None
            or actor.unit_path is None
            or not (unit.path + "/").startswith(actor.unit_path + "/")
        ):
            raise NotFound("user", username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    now = utcnow()
    for token in session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id,
            ApiToken.kind.in_(("session", "api")),
            ApiToken.revoked_at.is_(None),
        )
    ):
        token.revoked_at = now
    session.flush()
    audit.record(session, actor, "set-password", "user", user.id, unit_code=user.unit_code)
    return user


def get_user_by_username(*, session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound("user", username)
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    """The same error for an unknown user and a wrong password: no username probing."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise Unauthorized("wrong username or password")
    return user


def issue_token(
    *, session: Session, user: User, kind: str, label: str = "", lifetime: timedelta | None = None
) -> str:
    """Returns the token once; only its hash is kept."""
    if kind not in TOKEN_KINDS:
        raise Invalid("kind", f"one of {', '.join(TOKEN_KINDS)}")
    token = new_token()
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(token),
            kind=kind,
            label=label[:100],
            expires_at=utcnow() + lifetime if lifetime else None,
        )
    )
    session.flush()
    return token


def revoke_token(*, session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def actor_for_user(session: Session, user: User, *, origin: str = "") -> Actor:
    unit_path = None
    if user.unit_code:
        unit = session.get(AdminUnit, user.unit_code)
        unit_path = unit.path if unit else None
    return Actor(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        unit_code=user.unit_code,
        unit_path=unit_path,
        person_id=user.person_id,
        origin=origin,
    )


def actor_for_token(*, session: Session, token: str, origin: str = "") -> Actor:
    now = utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Unauthorized("invalid or expired token")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("invalid or expired token")
    # Writing on every request would serialise readers on SQLite; a coarse mark is enough.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return actor_for_user(session, user, origin=origin)
