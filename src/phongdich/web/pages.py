"""Pages that belong to no single domain: home, login, logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phongdich.auth.service import authenticate, issue_token, revoke_token
from phongdich.config import get_settings
from phongdich.deps import SESSION_COOKIE, OptionalActorDep, SessionDep
from phongdich.errors import Unauthorized
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
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    try:
        user = authenticate(session=session, username=username, password=password)
    except Unauthorized:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "username": username, "failed": True},
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
    response = RedirectResponse(_safe_next(next), status_code=303)
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
