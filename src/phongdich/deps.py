"""FastAPI dependencies: one transaction per request, and the calling Actor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.service import actor_for_token
from phongdich.db import Database
from phongdich.errors import Invalid, Unauthorized

SESSION_COOKIE = "pd_session"

_bearer = HTTPBearer(
    auto_error=False, description="A token from `phongdich users token` or POST /api/auth/token"
)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


NUL_REASON = "contains a NUL character"


def _nul_field(value: Any, where: str) -> str | None:
    """The dotted path of the first string holding a NUL in parsed JSON, if any."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        items: list[tuple[object, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return where or "body"
        found = _nul_field(item, f"{where}.{key}".lstrip("."))
        if found is not None:
            return found
    return None


async def reject_nul_characters(request: Request) -> None:
    """No text with NUL characters: PostgreSQL cannot store them, and no real input has them.

    Checked once for every request, before any route sees its input, so the answer is a 422
    naming the field (as for any other invalid input) on both databases alike.
    """
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise Invalid(f"path.{name}", NUL_REASON)
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise Invalid(f"query.{name}", NUL_REASON)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # FastAPI reads a body without a content type, or with any JSON one, as JSON.
    if content_type in ("", "application/json") or content_type.endswith("+json"):
        body = await request.body()
        if b"\\u0000" not in body.lower():  # the only way JSON text can carry a NUL
            return
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return  # malformed or absurdly nested JSON: the route's own parsing answers that
        field = _nul_field(parsed, "")
        if field is not None:
            raise Invalid(field or "body", NUL_REASON)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            body = await request.body()
        except RuntimeError:
            # The route's Form()/File() parameters already read the stream; Starlette keeps
            # the parsed form, so look at that instead.
            form = await request.form()
            for name, value in form.multi_items():
                if "\x00" in name or (isinstance(value, str) and "\x00" in value):
                    raise Invalid(name, NUL_REASON) from None
            return
        if content_type == "application/x-www-form-urlencoded" and (
            b"%00" in body or b"\x00" in body
        ):
            for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                if "\x00" in name or "\x00" in value:
                    raise Invalid(name, NUL_REASON)


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
