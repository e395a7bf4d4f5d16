"""Check-ins API: device batches, paper logs, staff scans, presence (tracing) and counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, UploadFile

from phongdich.checkins import counts, paper, presence, scanning, service
from phongdich.checkins.schemas import (
    BatchResult,
    CheckinBatch,
    EventOutcome,
    PaperResult,
    Presence,
    PresenceResult,
    ScanInput,
    ScanResult,
    UnitCounts,
    VenueCounts,
)
from phongdich.config import Settings
from phongdich.credentials.routes import request_keys
from phongdich.credentials.verify import TrustStore
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid
from phongdich.importing import MAX_IMPORT_BYTES

router = APIRouter(prefix="/api", tags=["checkins"])

Code = Annotated[str, Path(max_length=32)]
UnitCode = Annotated[str, Path(max_length=16)]
DEFAULT_DAYS = 14


def _days(request: Request, first: date | None, last: date | None) -> tuple[date, date]:
    settings: Settings = request.app.state.settings
    last = last or datetime.now(settings.tz).date()
    if first is None:
        try:
            first = last - timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError:  # `to` within the first days of year 1
            raise Invalid("to", "a date after 0001-01-14, or give `from` too") from None
    return first, last


@router.post("/checkins/batch", response_model=BatchResult)
def ingest_batch(body: CheckinBatch, actor: ActorDep, session: SessionDep) -> BatchResult:
    """Up to 10,000 scans from a venue's device, in any order, possibly days late.

    Idempotent: sending the same batch again answers `duplicate` for every event stored before.
    """
    report = service.ingest(session=session, actor=actor, events=body.events)
    return BatchResult(
        accepted=report.count("accepted"),
        duplicate=report.count("duplicate"),
        rejected=report.count("rejected"),
        events=[
            EventOutcome(
                id=event_id,
                status=outcome,
                field=report.rejections[i].field if i in report.rejections else None,
                reason=report.rejections[i].reason if i in report.rejections else None,
            )
            for i, (event_id, outcome) in enumerate(zip(report.ids, report.statuses, strict=True))
        ],
    )


@router.post("/checkins/paper", response_model=PaperResult)
def import_paper_log(
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV: " + ",".join(paper.COLUMNS))],
) -> PaperResult:
    """A paper logbook typed up as CSV; uploading it again adds nothing twice."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    report = paper.import_paper_log(session=session, actor=actor, source=data)
    return PaperResult.model_validate(report.as_dict())


@router.post("/venues/{code}/scans", response_model=ScanResult)
def scan(
    code: Code, body: ScanInput, request: Request, actor: ActorDep, session: SessionDep
) -> ScanResult:
    """A visitor's pass or CCCD card scanned at the venue: red is refused, others recorded."""
    trust = TrustStore.from_database(session, request_keys(request))
    return scanning.scan(session=session, actor=actor, venue_code=code, data=body, trust=trust)


@router.get("/venues/{code}/presence", response_model=PresenceResult)
def who_was_there(
    code: Code,
    actor: ActorDep,
    session: SessionDep,
    start: Annotated[datetime, Query(description="with UTC offset")],
    end: Annotated[datetime, Query(description="with UTC offset")],
) -> PresenceResult:
    """Everyone whose visit overlapped [start, end): officials only, audited."""
    venue, found = presence.who_was_there(
        session=session, actor=actor, venue_code=code, start=start, end=end
    )
    return PresenceResult(
        venue_code=venue.code,
        start=start,
        end=end,
        people=[
            Presence(
                person_id=p.person.id,
                full_name=p.person.full_name,
                phone=p.person.phone,
                arrived_at=p.visit.arrived_at,
                left_at=p.visit.left_at,
                left_recorded=p.visit.left_recorded,
            )
            for p in found
        ],
    )


@router.get("/venues/{code}/counts", response_model=VenueCounts)
def venue_counts(
    code: Code,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> VenueCounts:
    """Check-ins and check-outs per local day (default: the last 14 days)."""
    first, last = _days(request, first, last)
    return counts.venue_counts(session=session, actor=actor, code=code, first=first, last=last)


@router.get("/adminunits/{code}/checkin-counts", response_model=UnitCounts)
def unit_counts(
    code: UnitCode,
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> UnitCounts:
    """Venues registered and active, and scans per day, in the unit and below it."""
    first, last = _days(request, first, last)
    return counts.unit_counts(session=session, actor=actor, unit_code=code, first=first, last=last)
