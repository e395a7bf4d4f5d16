"""The officer's page at the lane: the verdict big and coloured, the forms the officer fills in.

It is served on 127.0.0.1 by the station process and reads only the station's memory and local
queue, so it answers the same with or without network. A USB scanner is a keyboard: it types
the code into the scanner box and presses Enter, which posts `/scan`. Without JavaScript every
form still works (each POST answers with the page); with it, the scanner box posts in the
background and `/state` is polled so the camera's verdicts appear on their own.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware.trustedhost import TrustedHostMiddleware

from phongdich.station.assess import LOCAL
from phongdich.station.runtime import Shown, Station
from phongdich.web import i18n, reasons
from phongdich.web.reasons import N_

TEMPLATES = Path(__file__).resolve().parent / "templates"
RAPID_TEST_WINDOW = 200  # a lane's result is for one of its latest passages
MAX_CODE = 4000  # an EU DCC is about 600 characters; a scanner never types more

VERDICTS = {
    "pass": N_("PASS"),
    "conditional": N_("PASS WITH CONDITIONS"),
    "turn_back": N_("TURN BACK"),
    "unreadable": N_("CODE NOT RECOGNISED"),
    "note": N_("NOTE"),
}
# What runtime.py and assess.py say besides the entry rules' reasons.
STATION_MESSAGES = (
    N_("The transfer code is not valid"),
    N_("The invitation is not valid"),
    N_("Invitation read: now scan the invited person's pass"),
    N_("unrecognised code"),
)
TRANSFER = re.compile(r"Transfer (?P<code>\S+): (?P<status>\w+)")
TRANSFER_STATES = {
    "accepted": N_("Transfer %(code)s: accepted by the receiving unit"),
    "pending": N_("Transfer %(code)s: not yet accepted"),
    "refused": N_("Transfer %(code)s: refused by the receiving unit"),
    "cancelled": N_("Transfer %(code)s: cancelled"),
    "unknown": N_("Transfer %(code)s: unknown to this station"),
}
NO_BUNDLE = N_("No trust list yet")
AGE_MINUTES = N_("Trust list %(minutes)s min old")
AGE_HOURS = N_("Trust list %(hours)s h old")
REPEAT = N_("Already scanned a moment ago")
NOT_FOUND = N_("not among this station's latest passages")


def tr(message: str) -> str:
    """An English message id from the rules or the station, in the page's language."""
    match = TRANSFER.fullmatch(message)
    if match and match["status"] in TRANSFER_STATES:
        return i18n.gettext_(TRANSFER_STATES[match["status"]]) % {"code": match["code"]}
    return reasons.translate(message) if message else message


def local_time(value: str | datetime | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL).strftime("%H:%M:%S %d/%m")


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return i18n.gettext_(NO_BUNDLE)
    minutes = max(0, round(seconds / 60))
    if minutes < 120:
        return i18n.gettext_(AGE_MINUTES) % {"minutes": minutes}
    return i18n.gettext_(AGE_HOURS) % {"hours": round(minutes / 60)}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        i18n.gettext_, i18n.ngettext_, newstyle=True
    )
    env.filters["tr"] = tr
    env.filters["localtime"] = local_time
    return env


def shown_json(shown: Shown) -> dict[str, Any]:
    return {
        "passage_id": shown.passage_id,
        "at": shown.at.isoformat(),
        "time": local_time(shown.at),
        "verdict": shown.verdict,
        "label": i18n.gettext_(VERDICTS.get(shown.verdict, shown.verdict)),
        "reason": tr(shown.reason),
        "condition": tr(shown.condition),
        "flagged": "; ".join(tr(part) for part in shown.flagged.split("; ") if part),
        "traveller": shown.traveller,
        "credential": shown.credential,
        "problem": shown.problem,
        "origin": str(shown.details.get("origin") or ""),
        "destination": str(shown.details.get("destination") or ""),
    }


def passage_json(body: dict[str, Any]) -> dict[str, Any]:
    """A queued passage for the page: never the card text."""
    return {
        "id": body.get("id"),
        "time": local_time(body.get("at")),
        "verdict": body.get("verdict", ""),
        "label": i18n.gettext_(VERDICTS.get(str(body.get("verdict")), str(body.get("verdict")))),
        "reasons": [tr(str(r)) for r in body.get("reasons") or ()],
        "traveller": body.get("traveller", ""),
        "plate": body.get("vehicle_plate", ""),
        "lane": body.get("lane", ""),
        "direction": body.get("direction", ""),
        "flagged": body.get("flagged", ""),
        "rapid_test": body.get("rapid_test", ""),
        "sent": bool(body.get("sent")),
    }


def state(station: Station) -> dict[str, Any]:
    """Everything the page shows, from local data only."""
    status = station.status()
    latest = station.shown[0] if station.shown else None
    return {
        "status": {
            **status,
            "age": age_text(status["bundle_age_seconds"]),
            "stale": (status["bundle_age_seconds"] or 0) > 86400,
            "last_sync_local": local_time(status["last_sync"]),
        },
        "latest": shown_json(latest) if latest else None,
        "shown": [shown_json(s) for s in station.shown[:10]],
        "recent": [passage_json(p) for p in station.queue.recent(20)],
        "rejected": [
            {**passage_json(body), "why": why[:200]} for body, why in station.queue.rejected()[:20]
        ],
    }


def _locale(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    i18n.set_locale(lang)
    return i18n.current_locale()


def _same_origin(request: Request) -> bool:
    """Refuse posts from other sites' pages (the officer's browser visits them too)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def create_page(station: Station) -> FastAPI:
    """The page app for one running station."""
    app = FastAPI(title="phongdich station", docs_url=None, redoc_url=None, openapi_url=None)
    # Only this computer's own names: a page elsewhere that rebinds its DNS name to 127.0.0.1
    # must not read the lane's travellers or post scans.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "::1"])

    def render(request: Request, status_code: int = 200, message: str = "") -> HTMLResponse:
        locale = _locale(request)
        current = state(station)
        context = station.status()["context"]
        lanes = list((station.offline.checkpoint.get("lanes") if station.offline else None) or [])
        html = (
            environment()
            .get_template("station/page.html")
            .render(
                locale=locale,
                state=current,
                context=context,
                lanes=lanes or ["general"],
                checkpoint=current["status"]["checkpoint"] or {},
                message=message,
            )
        )
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang"):
            response.set_cookie("lang", locale, samesite="strict")
        return response

    def back() -> Response:
        return RedirectResponse("/", status_code=303)

    def refused() -> Response:
        return JSONResponse({"field": "origin", "reason": "cross-site post"}, status_code=403)

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        return render(request)

    @app.get("/state")
    def current_state(request: Request) -> dict[str, Any]:
        _locale(request)
        return state(station)

    @app.post("/scan")
    async def scan(request: Request) -> Response:
        if not _same_origin(request):
            return refused()
        form = await request.form()
        code = str(form.get("code") or "").strip()
        if not code or len(code) > MAX_CODE:
            _locale(request)
            reason = i18n.gettext_("required") if not code else i18n.gettext_("too long")
            if _wants_json(request):
                return JSONResponse({"field": "code", "reason": reason}, status_code=422)
            return render(request, 422, message=reason)
        shown = station.scan(code)
        if _wants_json(request):
            _locale(request)
            return JSONResponse({**state(station), "repeat": shown is None})
        message = i18n.gettext_(REPEAT) if shown is None else ""
        return render(request, message=message)

    @app.post("/lane")
    async def lane(request: Request) -> Response:
        if not _same_origin(request):
            return refused()
        form = await request.form()
        station.set_lane(
            direction=str(form.get("direction") or "") or None,
            lane=str(form.get("lane") or "").strip() or None,
        )
        return back()

    @app.post("/vehicle")
    async def vehicle(request: Request) -> Response:
        if not _same_origin(request):
            return refused()
        form = await request.form()
        offline = station.offline
        units = offline.units if offline else {}
        origin = str(form.get("origin_unit_code") or "").strip()
        destination = str(form.get("destination_unit_code") or "").strip()
        for name, code in (("origin_unit_code", origin), ("destination_unit_code", destination)):
            if code and code not in units:
                _locale(request)
                message = i18n.gettext_("no admin unit with code %(code)s") % {"code": code}
                return render(request, 422, message=f"{name}: {message}")
        station.start_vehicle(
            plate=str(form.get("plate") or ""),
            vehicle_type=str(form.get("vehicle_type") or ""),
            origin_unit_code=origin or None,
            destination_unit_code=destination or None,
            reason=str(form.get("reason") or ""),
            transfer_group=bool(form.get("transfer_group")),
        )
        return back()

    @app.post("/vehicle/end")
    async def end_vehicle(request: Request) -> Response:
        if not _same_origin(request):
            return refused()
        station.end_vehicle()
        return back()

    @app.post("/rapid-test")
    async def rapid_test(request: Request) -> Response:
        if not _same_origin(request):
            return refused()
        form = await request.form()
        passage_id = str(form.get("passage_id") or "")
        result = str(form.get("result") or "")
        if passage_id == "next" and result in ("negative", "positive", ""):
            station.rapid_test_next(result)  # taken before the scan: the rules see it
            return back()
        try:
            uuid.UUID(passage_id)
        except ValueError:
            _locale(request)
            return render(request, 422, message="passage_id: " + i18n.gettext_("not a record id"))
        if result not in ("negative", "positive"):
            _locale(request)
            return render(request, 422, message="result: " + tr("one of negative, positive"))
        if passage_id not in {str(p["id"]) for p in station.queue.recent(RAPID_TEST_WINDOW)}:
            _locale(request)
            return render(request, 422, message="passage_id: " + i18n.gettext_(NOT_FOUND))
        station.rapid_test(passage_id, result)
        return back()

    return app
