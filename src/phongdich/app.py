"""The FastAPI application: settings, database, every domain's API and pages, error rendering."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError, OperationalError

from phongdich import __version__, events, worker
from phongdich.config import Settings, get_settings
from phongdich.db import Database, upgrade
from phongdich.deps import reject_nul_characters
from phongdich.errors import PhongdichError, Unauthorized
from phongdich.web import i18n
from phongdich.web.templating import render

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "web" / "static"
LOCALE_COOKIE = "lang"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path in ("/healthz", "/openapi.json")


def _error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if _wants_json(request):
        return JSONResponse(body, status_code=status)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render(request, "error.html", {"status": status, "error": body}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PhongdichError)
    async def domain_error(request: Request, exc: PhongdichError) -> Response:
        response = _error_response(request, exc.status_code, exc.as_dict())
        if isinstance(exc, Unauthorized) and _wants_json(request):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                "reason": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"field": "body", "reason": "invalid"}
        return _error_response(request, 422, {"error": "invalid", **first, "errors": problems})

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # Two requests raced to create the same record; the loser may simply retry.
        log.info("integrity conflict on %s", request.url.path)
        return _error_response(
            request, 409, {"error": "conflict", "message": "conflicting change; retry the request"}
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        log.warning("database error on %s: %s", request.url.path, type(exc.orig).__name__)
        return _error_response(
            request, 503, {"error": "unavailable", "message": "database busy or unreachable; retry"}
        )


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    migrate: bool = True,
    run_worker: bool | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(settings.resolved_database_url)
    in_process = settings.worker_in_process if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            upgrade(database)
        events.load_handlers()
        stop = None
        if in_process:
            _, stop = worker.start_in_thread(database, settings.worker_poll_seconds)
        try:
            yield
        finally:
            if stop is not None:
                stop.set()

    app = FastAPI(
        title="phongdich",
        version=__version__,
        description="Epidemic-response platform. Authenticate with a bearer token "
        "(`phongdich users token USER` or `POST /api/auth/token`).",
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_characters)],
    )
    app.state.db = database
    app.state.settings = settings

    @app.middleware("http")
    async def choose_locale(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        wanted = request.query_params.get("lang")
        locale = wanted or request.cookies.get(LOCALE_COOKIE) or settings.default_locale
        i18n.set_locale(locale)
        response = await call_next(request)
        if wanted in i18n.LOCALES:
            response.set_cookie(LOCALE_COOKIE, wanted, max_age=365 * 86400, samesite="lax")
        return response

    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from phongdich.adminunits import pages as adminunit_pages
    from phongdich.adminunits import routes as adminunit_routes
    from phongdich.auth import pages as auth_pages
    from phongdich.auth import routes as auth_routes
    from phongdich.cases import area_pages as case_area_pages
    from phongdich.cases import area_routes as case_area_routes
    from phongdich.cases import case_pages as case_one_pages
    from phongdich.cases import lockdown_pages as case_lockdown_pages
    from phongdich.cases import pages as case_pages
    from phongdich.cases import routes as case_routes
    from phongdich.cases import zone_pages as case_zone_pages
    from phongdich.checkins import pages as checkin_pages
    from phongdich.checkins import routes as checkin_routes
    from phongdich.checkpoints import pages as checkpoint_pages
    from phongdich.checkpoints import report_pages as checkpoint_report_pages
    from phongdich.checkpoints import report_routes as checkpoint_report_routes
    from phongdich.checkpoints import routes as checkpoint_routes
    from phongdich.checkpoints import rule_pages as checkpoint_rule_pages
    from phongdich.checkpoints import station_routes as checkpoint_station_routes
    from phongdich.checkpoints import transfer_pages as checkpoint_transfer_pages
    from phongdich.checkpoints import transfer_routes as checkpoint_transfer_routes
    from phongdich.credentials import pages as credential_pages
    from phongdich.credentials import routes as credential_routes
    from phongdich.credentials import status_routes as health_status_routes
    from phongdich.declarations import pages as declaration_pages
    from phongdich.declarations import routes as declaration_routes
    from phongdich.persons import pages as person_pages
    from phongdich.persons import routes as person_routes
    from phongdich.testing import lab_pages as testing_lab_pages
    from phongdich.testing import pages as testing_pages
    from phongdich.testing import result_pages as testing_result_pages
    from phongdich.testing import routes as testing_routes
    from phongdich.testing import sampling_pages as testing_sampling_pages
    from phongdich.venues import pages as venue_pages
    from phongdich.venues import routes as venue_routes
    from phongdich.web import pages as web_pages
    from phongdich.web import system

    for module in (
        system,
        auth_routes,
        adminunit_routes,
        person_routes,
        credential_routes,
        declaration_routes,
        health_status_routes,
        venue_routes,
        checkin_routes,
        testing_routes,
        case_routes,
        checkpoint_station_routes,
        checkpoint_routes,
        checkpoint_report_routes,
        checkpoint_transfer_routes,
        web_pages,
        auth_pages,
        adminunit_pages,
        person_pages,
        declaration_pages,
        credential_pages,
        venue_pages,
        checkin_pages,
        testing_pages,
        testing_sampling_pages,
        testing_lab_pages,
        testing_result_pages,
        case_pages,
        case_one_pages,
        case_area_pages,
        case_lockdown_pages,
        case_zone_pages,
        checkpoint_report_pages,
        checkpoint_pages,
        checkpoint_rule_pages,
        checkpoint_transfer_pages,
    ):
        app.include_router(module.router)
    app.include_router(case_routes.cluster_router)
    for router in (
        case_area_routes.quarantine_router,
        case_area_routes.treatment_router,
        case_area_routes.lockdown_router,
        case_area_routes.zone_router,
    ):
        app.include_router(router)
    return app
