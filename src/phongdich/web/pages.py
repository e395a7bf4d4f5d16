"""Pages that belong to no single domain: home, login, logout, the outbox's dead letters."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phongdich import events
from phongdich.auth.roles import Permission
from phongdich.auth.service import authenticate, issue_token, revoke_token
from phongdich.config import get_settings
from phongdich.deps import SESSION_COOKIE, ActorDep, OptionalActorDep, SessionDep
from phongdich.errors import Unauthorized
from phongdich.web.forms import FormValues
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not bounce people to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: OptionalActorDep) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, values: FormValues) -> Response:
    username = values.get("username", "")[:64]
    next_page = _safe_next(values.get("next", "/")[:500])
    try:
        user = authenticate(
            session=session, username=username, password=values.get("password", "")[:200]
        )
    except Unauthorized:
        return render(
            request,
            "login.html",
            {"next": next_page, "username": username, "failed": True},
            status_code=401,
        )
    hours = get_settings().session_hours
    token = issue_token(
        session=session,
        user=user,
        kind="session",
        label="web login",
        lifetime=timedelta(hours=hours),
    )
    response = RedirectResponse(next_page, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke_token(session=session, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/admin/events", response_class=HTMLResponse)
def dead_letters_page(request: Request, actor: ActorDep, session: SessionDep) -> Response:
    actor.require(Permission.EVENTS_ADMIN)
    return render(request, "dead_letters.html", {"letters": events.dead_letters(session)})


@router.post("/admin/events/{delivery_id}/retry")
def retry_dead_letter(delivery_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> Response:
    actor.require(Permission.EVENTS_ADMIN)
    events.retry_dead(session, delivery_id)
    return RedirectResponse("/admin/events?notice=retried", status_code=303)
