"""Auth API: tokens, the caller, users, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from phongdich.auth import audit
from phongdich.auth.schemas import (
    ActorPublic,
    AuditEntryPublic,
    TokenPublic,
    TokenRequest,
    UserCreate,
    UserPublic,
)
from phongdich.auth.service import authenticate, create_user, issue_token, parse_role, revoke_token
from phongdich.config import get_settings
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep, request_token

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", response_model=TokenPublic)
def login_for_token(body: TokenRequest, session: SessionDep) -> TokenPublic:
    """Exchange a username and password for a bearer token (valid for the session length)."""
    user = authenticate(session=session, username=body.username, password=body.password)
    lifetime = timedelta(hours=get_settings().session_hours)
    token = issue_token(
        session=session, user=user, kind="api", label=body.label or "api login", lifetime=lifetime
    )
    return TokenPublic(token=token, expires_at=utcnow() + lifetime)


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, actor: ActorDep, session: SessionDep) -> None:
    """Revoke the token this request was made with."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request_token(request, None)
    if token:
        revoke_token(session=session, token=token)


@router.get("/me", response_model=ActorPublic)
def me(actor: ActorDep) -> ActorPublic:
    return ActorPublic(
        username=actor.username,
        role=actor.role.value,
        unit_code=actor.unit_code,
        person_id=actor.person_id,
    )


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def add_user(body: UserCreate, actor: ActorDep, session: SessionDep) -> UserPublic:
    user = create_user(
        session=session,
        actor=actor,
        username=body.username,
        password=body.password,
        role=parse_role(body.role),
        unit_code=body.unit_code,
        full_name=body.full_name,
    )
    return UserPublic.model_validate(user)


@router.get("/audit", response_model=list[AuditEntryPublic])
def audit_log(
    actor: ActorDep,
    session: SessionDep,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AuditEntryPublic]:
    """Who read or changed personal data: newest first, inside the caller's jurisdiction."""
    entries = audit.list_entries(
        session=session,
        actor=actor,
        object_id=object_id,
        username=username,
        since=since,
        limit=limit,
        offset=offset,
    )
    return [AuditEntryPublic.model_validate(e) for e in entries]
