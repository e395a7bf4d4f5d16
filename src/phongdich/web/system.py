"""Health check and the outbox's dead letters."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from phongdich import __version__, events
from phongdich.auth.roles import Permission
from phongdich.db import Database, current_revision
from phongdich.deps import ActorDep, SessionDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 when the database answers, 503 when it does not."""
    database: Database = request.app.state.db
    try:
        database.ping()
        revision = current_revision(database)
    except SQLAlchemyError as exc:
        return JSONResponse(
            {
                "status": "error",
                "database": f"unreachable: {type(exc).__name__}",
                "version": __version__,
            },
            status_code=503,
        )
    return JSONResponse(
        {
            "status": "ok",
            "database": "ok",
            "dialect": database.dialect,
            "schema": revision,
            "version": __version__,
        }
    )


class DeadLetter(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    topic: str
    handler: str
    attempts: int
    last_error: str
    created_at: datetime


@router.get("/api/admin/dead-letters", response_model=list[DeadLetter], tags=["admin"])
def dead_letters(actor: ActorDep, session: SessionDep) -> list[DeadLetter]:
    """Event deliveries that failed every retry."""
    actor.require(Permission.EVENTS_ADMIN)
    return [
        DeadLetter(
            delivery_id=d.id,
            event_id=e.id,
            topic=e.topic,
            handler=d.handler,
            attempts=d.attempts,
            last_error=d.last_error,
            created_at=e.created_at,
        )
        for d, e in events.dead_letters(session)
    ]


@router.post(
    "/api/admin/dead-letters/{delivery_id}/retry",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["admin"],
)
def retry(delivery_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> None:
    actor.require(Permission.EVENTS_ADMIN)
    events.retry_dead(session, delivery_id)
