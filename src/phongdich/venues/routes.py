"""Venues API: registration, approval, bulk import, posters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile, status

from phongdich.config import Settings
from phongdich.deps import ActorDep, SessionDep
from phongdich.importing import MAX_IMPORT_BYTES, ImportResult
from phongdich.venues import importer, posters, service
from phongdich.venues.models import Venue
from phongdich.venues.schemas import DecisionInput, VenueInput, VenuePage, VenuePublic

router = APIRouter(prefix="/api/venues", tags=["venues"])

Code = Annotated[str, Path(max_length=32)]


def checkin_url(request: Request, venue: Venue) -> str:
    """What the poster's QR holds: this server's check-in page for the venue."""
    settings: Settings = request.app.state.settings
    base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/c/{venue.code}"


@router.post("", response_model=VenuePublic, status_code=status.HTTP_201_CREATED)
def register(body: VenueInput, actor: ActorDep, session: SessionDep) -> Venue:
    """A manager's venue waits for approval by the unit; an official's is approved at once."""
    return service.register_venue(session=session, actor=actor, data=body)


@router.get("", response_model=VenuePage)
def list_venues(
    actor: ActorDep,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str | None, Query(max_length=16)] = None,
    venue_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> VenuePage:
    items, total = service.list_venues(
        session=session,
        actor=actor,
        query=q,
        unit_code=unit,
        status=venue_status,
        category_key=category,
        limit=limit,
        offset=offset,
    )
    return VenuePage(total=total, items=[VenuePublic.model_validate(v) for v in items])


@router.post("/import", response_model=ImportResult)
def import_file(
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV: " + ",".join(importer.COLUMNS))],
) -> ImportResult:
    """A unit's venue register: good rows are kept, bad rows come back with line and reason."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    report = importer.import_venues(session=session, actor=actor, source=data)
    return ImportResult.model_validate(report.as_dict())


@router.get("/{code}", response_model=VenuePublic)
def get_venue(code: Code, actor: ActorDep, session: SessionDep) -> Venue:
    return service.get_venue(session=session, actor=actor, code=code)


@router.put("/{code}", response_model=VenuePublic)
def update_venue(code: Code, body: VenueInput, actor: ActorDep, session: SessionDep) -> Venue:
    return service.update_venue(session=session, actor=actor, code=code, data=body)


@router.post("/{code}/approve", response_model=VenuePublic)
def approve(code: Code, actor: ActorDep, session: SessionDep) -> Venue:
    return service.decide(session=session, actor=actor, code=code, status=service.APPROVED)


@router.post("/{code}/suspend", response_model=VenuePublic)
def suspend(code: Code, body: DecisionInput, actor: ActorDep, session: SessionDep) -> Venue:
    """A suspended venue takes no new check-ins; approving it again lifts the suspension."""
    return service.decide(
        session=session, actor=actor, code=code, status=service.SUSPENDED, reason=body.reason
    )


@router.get("/{code}/poster.pdf", response_class=Response)
def poster_pdf(code: Code, request: Request, actor: ActorDep, session: SessionDep) -> Response:
    """A4, Vietnamese, with a QR 15 cm wide: print it and put it on the door."""
    venue = service.get_venue(session=session, actor=actor, code=code)
    data = posters.poster_pdf(session, venue, checkin_url(request, venue))
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="poster-{venue.code}.pdf"'},
    )


@router.get("/{code}/poster.png", response_class=Response)
def poster_png(code: Code, request: Request, actor: ActorDep, session: SessionDep) -> Response:
    venue = service.get_venue(session=session, actor=actor, code=code)
    data = posters.poster_png(session, venue, checkin_url(request, venue))
    return Response(
        data,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="poster-{venue.code}.png"'},
    )
