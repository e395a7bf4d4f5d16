"""FastAPI dependencies: one transaction per request, and the calling Actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.service import actor_for_token
from phongdich.db import Database
from phongdich.errors import Unauthorized

SESSION_COOKIE = "pd_session"

_bearer = HTTPBearer(
    auto_error=False, description="A token from `phongdich users token` or POST /api/auth/token"
)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back if it raises."""
    with get_database(request).transaction() as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is never reported
# to the client as a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def origin(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    return f"{host} {request.method} {request.url.path}"[:100]


def request_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(SESSION_COOKIE)


def get_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    token = request_token(request, credentials)
    if not token:
        raise Unauthorized()
    actor = actor_for_token(session=session, token=token, origin=origin(request))
    request.state.actor = actor
    return actor


def get_optional_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    try:
        return get_actor(request, session, credentials)
    except Unauthorized:
        return None


ActorDep = Annotated[Actor, Depends(get_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]
