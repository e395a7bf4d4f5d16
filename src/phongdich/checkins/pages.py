"""Check-in pages: the citizen's page behind a venue's poster, staff scanning, paper logs.

The citizen's page needs no login: a phone identifies once with document number and phone and
is remembered (`auth.devices`), so every later poster takes one tap. Staff pages work on the
same services as the JSON API; they only translate what those services say in English.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from phongdich.adminunits.models import AdminUnit
from phongdich.adminunits.pages import UnitSection, unit_page_section
from phongdich.auth import devices
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.checkins import counts, paper, scanning
from phongdich.checkins.presence import last_event
from phongdich.checkins.schemas import ScanInput, ScanResult
from phongdich.checkins.service import current_ids
from phongdich.config import get_settings
from phongdich.credentials.passes import initials_of
from phongdich.credentials.routes import request_keys
from phongdich.credentials.verify import MAX_IMAGE_BYTES, TrustStore, decode_image
from phongdich.declarations.service import PHONE_MISMATCH
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid, NotFound, PhongdichError
from phongdich.persons.documents import parse_document, parse_phone
from phongdich.persons.models import Person
from phongdich.persons.service import document_owner
from phongdich.venues.models import Venue
from phongdich.venues.pages import VenueSection, venue_page_section
from phongdich.venues.service import SUSPENDED, find_venue, get_venue
from phongdich.web import i18n, reasons
from phongdich.web.forms import FormValues
from phongdich.web.reasons import N_
from phongdich.web.templating import render
from phongdich.web.uploads import handle_upload, upload_page

router = APIRouter(include_in_schema=False)

MAX_CODE = 32
SECTION_DAYS = 14
# What a pass verdict may say when it is not accepted; shown translated to the venue's staff.
PASS_ERRORS = (
    N_("expired"),
    N_("revoked"),
    N_("unknown key"),
    N_("invalid pass"),
    N_("signed after its key stopped being trusted"),
    N_("not a signed credential"),
)
COLOUR_LABELS = {"green": N_("Green"), "yellow": N_("Yellow"), "red": N_("Red")}
DIRECTION_LABELS = {"in": N_("Checked in"), "out": N_("Checked out")}
PAPER_EXAMPLE = (
    ",".join(paper.COLUMNS),
    "CHOHOENHAI,001085012345,Trần Thị Bình,0912345678,2021-08-01 08:30,2021-08-01 09:10",
    "CHOHOENHAI,001090054321,Lê Văn Cường,,01/08/2021 08:45,",
)

PAPER_TEMPLATE = "checkins/paper.html"
PAPER_CONTEXT = {"columns": paper.COLUMNS, "example": "\n".join(PAPER_EXAMPLE)}

Code = Annotated[str, Path()]


def _public_venue(session: Session, code: str) -> Venue:
    """The venue behind a poster; any code that is not one looks like a missing page."""
    venue = find_venue(session=session, code=code) if 0 < len(code) <= MAX_CODE else None
    if venue is None:
        raise NotFound("venue", code.strip().upper()[:MAX_CODE])
    return venue


def _citizen_url(venue: Venue, query: str = "") -> str:
    return f"/c/{venue.code}" + (f"?{query}" if query else "")


def _remembered_person(session: Session, request: Request) -> Person | None:
    """The person this phone identified as, following merges to the record that is current."""
    person_id = devices.remembered(session, request)
    if person_id is None:
        return None
    current = current_ids(session, [person_id]).get(person_id)
    return session.get(Person, current) if current is not None else None


def _event_id(values: Mapping[str, str]) -> uuid.UUID:
    """The id the page made when it was shown; a tampered one is simply replaced."""
    try:
        return uuid.UUID(values.get("id", ""))
    except ValueError:
        return uuid.uuid4()


def _citizen_page(
    request: Request,
    session: Session,
    venue: Venue,
    *,
    values: Mapping[str, str] | None = None,
    errors: dict[str, str] | None = None,
    unknown_document: bool = False,
    status_code: int = 200,
) -> Response:
    now = datetime.now(get_settings().tz)
    person = _remembered_person(session, request)
    open_since = scanning.visit_open(session, venue, person.id, now) if person else None
    done = request.query_params.get("done", "")
    done_at = None
    if person is not None and done in ("in", "out"):
        last = last_event(session, venue.id, person.id, now)
        done_at = last[0] if last is not None and last[1] == done else None
    response = render(
        request,
        "checkins/citizen.html",
        {
            "venue": venue,
            "suspended": venue.status == SUSPENDED,
            "initials": initials_of(person.full_name) if person else "",
            "remembered": person is not None,
            "open_since": open_since,
            "done": done if done_at is not None else "",
            "done_at": done_at,
            "declared": request.query_params.get("declared") == "1",
            "event_id": uuid.uuid4(),
            "values": values or {},
            "errors": errors or {},
            "unknown_document": unknown_document,
        },
        status_code=status_code,
    )
    # Personal (initials, an open visit) and holding a one-time id: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/c/{code}", response_class=HTMLResponse)
def citizen_page(request: Request, code: Code, session: SessionDep) -> Response:
    """What the poster's QR opens: one tap to check in or out on a remembered phone."""
    return _citizen_page(request, session, _public_venue(session, code))


def _tap(
    request: Request, session: Session, code: str, direction: str, event: uuid.UUID
) -> Response:
    venue = _public_venue(session, code)
    person = _remembered_person(session, request)
    if person is None:
        return RedirectResponse(_citizen_url(venue), status_code=303)
    try:
        with session.begin_nested():
            scanning.phone_checkin(
                session=session,
                venue_code=venue.code,
                person_id=person.id,
                direction=direction,
                event_id=event,
            )
    except Invalid:
        # A venue suspended since the page was shown: the page now says so.
        return RedirectResponse(_citizen_url(venue), status_code=303)
    return RedirectResponse(_citizen_url(venue, f"done={direction}"), status_code=303)


@router.post("/c/{code}/in")
def citizen_check_in(
    request: Request, code: Code, session: SessionDep, values: FormValues
) -> Response:
    return _tap(request, session, code, "in", _event_id(values))


@router.post("/c/{code}/out")
def citizen_check_out(
    request: Request, code: Code, session: SessionDep, values: FormValues
) -> Response:
    return _tap(request, session, code, "out", _event_id(values))


@router.post("/c/{code}/identify")
def citizen_identify(
    request: Request, code: Code, session: SessionDep, values: FormValues
) -> Response:
    """Document number and the phone registered with it; the same answer for any other phone."""
    venue = _public_venue(session, code)
    shown = {"document_number": values.get("document_number", "")[:40]}
    shown["phone"] = values.get("phone", "")[:20]
    errors: dict[str, str] = {}
    document = phone = None
    try:
        document = parse_document(shown["document_number"])
    except Invalid as exc:
        errors["document_number"] = exc.reason
    try:
        phone = parse_phone(shown["phone"] or None)
        if phone is None:
            errors["phone"] = "required"
    except Invalid as exc:
        errors["phone"] = exc.reason
    if errors or document is None:
        return _citizen_page(request, session, venue, values=shown, errors=errors, status_code=422)
    person = document_owner(session, document)
    if person is not None and person.merged_into_id is not None:
        current = current_ids(session, [person.id]).get(person.id)
        person = session.get(Person, current) if current is not None else None
    if person is None:
        return _citizen_page(
            request, session, venue, values=shown, unknown_document=True, status_code=404
        )
    if person.phone != phone:
        return _citizen_page(
            request,
            session,
            venue,
            values=shown,
            errors={"phone": PHONE_MISMATCH},
            status_code=422,
        )
    response = RedirectResponse(_citizen_url(venue), status_code=303)
    devices.remember(session, request, response, person.id)
    return response


@router.post("/c/{code}/forget")
def citizen_forget(request: Request, code: Code, session: SessionDep) -> Response:
    """ "Not you?": a shared or borrowed phone stops greeting its last user."""
    venue = _public_venue(session, code)
    response = RedirectResponse(_citizen_url(venue), status_code=303)
    devices.forget(session, request, response)
    return response


# Staff scanning


def _staff_venue(session: Session, actor: Actor, code: str) -> Venue:
    actor.require(Permission.CHECKINS_RECORD)
    if len(code) > MAX_CODE:
        raise NotFound("venue", code[:MAX_CODE])
    return get_venue(session=session, actor=actor, code=code)


@router.get("/venues/{code}/scan", response_class=HTMLResponse)
def scan_page(request: Request, code: Code, actor: ActorDep, session: SessionDep) -> Response:
    """The venue's door: a USB scanner's input, a direction, and the phone's camera."""
    venue = _staff_venue(session, actor, code)
    return render(
        request,
        "checkins/scan.html",
        {"venue": venue, "suspended": venue.status == SUSPENDED},
    )


def translated_reason(reason: str) -> str:
    """A service's reason in the page's language; a pass's joined errors one by one."""
    whole = reasons.translate(reason)
    if whole != reason or "; " not in reason:
        return whole
    return "; ".join(reasons.translate(part) for part in reason.split("; "))


def scan_view(result: ScanResult) -> dict[str, Any]:
    """What the scanning page shows, in the page's language."""
    return {
        "recorded": result.recorded,
        "direction": result.direction,
        "direction_label": (
            i18n.gettext_(DIRECTION_LABELS[result.direction]) if result.direction else ""
        ),
        "colour": result.colour,
        "colour_label": i18n.gettext_(COLOUR_LABELS.get(result.colour or "", result.colour or "")),
        "initials": result.initials,
        "birth_year": result.birth_year,
        "time": (result.at.astimezone(get_settings().tz).strftime("%H:%M") if result.at else ""),
        "refused": result.refused,
        "reasons": [translated_reason(r) for r in result.reasons],
    }


@router.post("/venues/{code}/scan")
def scan_submit(
    code: Code, body: ScanInput, request: Request, actor: ActorDep, session: SessionDep
) -> JSONResponse:
    """The same scan as `POST /api/venues/{code}/scans`, answered in the page's language."""
    try:
        venue = _staff_venue(session, actor, code)
        trust = TrustStore.from_database(session, request_keys(request))
        with session.begin_nested():
            result = scanning.scan(
                session=session, actor=actor, venue_code=venue.code, data=body, trust=trust
            )
    except Invalid as exc:
        return JSONResponse({"error": translated_reason(exc.reason)}, status_code=422)
    except PhongdichError as exc:
        return JSONResponse({"error": reasons.translate(exc.message)}, status_code=exc.status_code)
    return JSONResponse(scan_view(result))


def _decode_frame(session: Session, actor: Actor, code: str, data: bytes) -> str | None:
    _staff_venue(session, actor, code)
    return decode_image(data) if len(data) <= MAX_IMAGE_BYTES else None


@router.post("/venues/{code}/scan/frame")
async def scan_frame(
    code: Code, request: Request, actor: ActorDep, session: SessionDep
) -> JSONResponse:
    """A camera frame as JPEG (or PNG): the text of the QR code in it, decoded here, or null."""
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_IMAGE_BYTES:
            return JSONResponse({"text": None, "error": "too large"}, status_code=413)
    # Decoding takes a few milliseconds of CPU: off the event loop, as the database work.
    text = await run_in_threadpool(_decode_frame, session, actor, code, bytes(data))
    return JSONResponse({"text": text})


# Paper logs


@router.get("/checkins/paper", response_class=HTMLResponse)
def paper_form(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.CHECKINS_RECORD)
    return upload_page(request, PAPER_TEMPLATE, PAPER_CONTEXT)


@router.post("/checkins/paper", response_class=HTMLResponse)
def paper_submit(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A logbook typed up as CSV; the same file again adds nothing twice."""
    actor.require(Permission.CHECKINS_RECORD)
    return handle_upload(
        request,
        session,
        file,
        PAPER_TEMPLATE,
        PAPER_CONTEXT,
        lambda data: paper.import_paper_log(session=session, actor=actor, source=data),
    )


# Sections of other domains' pages


def _last_days() -> tuple[date, date]:
    last = datetime.now(get_settings().tz).date()
    return last - timedelta(days=SECTION_DAYS - 1), last


@venue_page_section("checkins")
def venue_section(session: Session, actor: Actor, venue: Venue) -> VenueSection | None:
    """Check-ins per day and the ways to record them: numbers only, never who came."""
    first, last = _last_days()
    try:
        found = counts.venue_counts(
            session=session, actor=actor, code=venue.code, first=first, last=last
        )
    except NotFound:
        return None
    return VenueSection(
        "checkins/_venue_section.html",
        {
            "venue": venue,
            "days": list(reversed(found.days)),
            "may_record": actor.can(Permission.CHECKINS_RECORD) and venue.status != SUSPENDED,
        },
    )


@unit_page_section("checkins")
def unit_section(session: Session, actor: Actor, unit: AdminUnit) -> UnitSection | None:
    """Venues and scans in the unit and below, for the officials who manage its venues."""
    if not actor.can(Permission.VENUES_MANAGE):
        return None
    first, last = _last_days()
    try:
        found = counts.unit_counts(
            session=session, actor=actor, unit_code=unit.code, first=first, last=last
        )
    except NotFound:
        return None
    return UnitSection(
        "checkins/_unit_section.html",
        {"counts": found, "days": list(reversed(found.days))},
    )
