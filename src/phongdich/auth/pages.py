"""The audit-log page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from phongdich.auth import audit
from phongdich.deps import ActorDep, SessionDep
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    entries = audit.list_entries(
        session=session,
        actor=actor,
        object_id=object_id or None,
        username=username or None,
        limit=500,
    )
    return render(
        request,
        "auth/audit.html",
        {"entries": entries, "object_id": object_id or "", "username": username or ""},
    )
