"""Testing API: campaigns, sites, pairing, shipments, labs, results, retests, pool-size advice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, UploadFile, status

from phongdich.auth import audit
from phongdich.auth.roles import Permission
from phongdich.credentials.routes import request_keys
from phongdich.credentials.verify import TrustStore
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid
from phongdich.importing import MAX_IMPORT_BYTES, ImportResult
from phongdich.persons.models import Person
from phongdich.testing import campaigns, figures, labs, pooling, reports, results, sampling
from phongdich.testing.models import Campaign, Lab, RetestOrder, Tube
from phongdich.testing.schemas import (
    BatchOutcome,
    CampaignInput,
    CampaignProgress,
    CampaignPublic,
    CorrectionInput,
    LabInput,
    LabLoad,
    LabPublic,
    PersonResult,
    PoolAdvicePublic,
    PositiveDay,
    PositivePublic,
    ProgressRow,
    ReceiveInput,
    ResultInput,
    ResultOutcome,
    ResultRevision,
    RetestOrderPublic,
    SamplingBatch,
    ShipmentInput,
    ShipmentPublic,
    SiteInput,
    SitePublic,
    StaffInput,
    TubePublic,
    TurnaroundDay,
)

router = APIRouter(prefix="/api/testing", tags=["testing"])

Code = Annotated[str, Path(max_length=40)]
ORDER_STATUSES = "^(open|sampled|done|cancelled)$"


def campaign_public(session: SessionDep, campaign: Campaign) -> CampaignPublic:
    out = CampaignPublic.model_validate(campaign)
    out.target_unit_codes = campaigns.target_codes(session, campaign)
    return out


# Labs


@router.post("/labs", response_model=LabPublic, status_code=status.HTTP_201_CREATED)
def create_lab(body: LabInput, actor: ActorDep, session: SessionDep) -> Lab:
    return labs.create_lab(session=session, actor=actor, data=body)


def lab_load(load: labs.Load) -> LabLoad:
    return LabLoad(
        code=load.lab.code,
        name=load.lab.name,
        daily_capacity=load.lab.daily_capacity,
        in_transit=load.in_transit,
        waiting=load.waiting,
        resulted_today=load.resulted_today,
        load=round(load.share, 3),
        warning=load.warning,
        turnaround_p50_h=load.turnaround_p50_h,
        turnaround_p90_h=load.turnaround_p90_h,
    )


@router.get("/labs", response_model=list[LabLoad])
def list_labs(actor: ActorDep, session: SessionDep) -> list[LabLoad]:
    """Every lab with its load: tubes on the way and waiting against a day's capacity."""
    del actor  # any signed-in user: teams choose where to send tubes
    return [lab_load(load) for load in labs.loads(session, labs.list_labs(session=session))]


@router.get("/labs/turnaround", response_model=list[TurnaroundDay])
def turnaround(actor: ActorDep, session: SessionDep) -> list[TurnaroundDay]:
    """Sampling (tube closed) to result, p50 and p90 hours, per lab and day (last 14 days)."""
    del actor
    return [
        TurnaroundDay(**day.__dict__)
        for day in labs.turnaround_by_day(session, labs.list_labs(session=session))
    ]


@router.post("/labs/{code}/results/import", response_model=ImportResult)
def import_results(
    code: Code,
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV: " + ",".join(results.COLUMNS))],
) -> ImportResult:
    """The lab machine's export; bad rows come back by line, re-importing adds nothing twice."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    report = results.import_results(session=session, actor=actor, lab_code=code, source=data)
    return ImportResult.model_validate(report.as_dict())


# Campaigns


@router.post("/campaigns", response_model=CampaignPublic, status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignInput, actor: ActorDep, session: SessionDep) -> CampaignPublic:
    campaign = campaigns.create_campaign(session=session, actor=actor, data=body)
    return campaign_public(session, campaign)


@router.get("/campaigns", response_model=list[CampaignPublic])
def list_campaigns(actor: ActorDep, session: SessionDep) -> list[CampaignPublic]:
    return [
        campaign_public(session, c) for c in campaigns.list_campaigns(session=session, actor=actor)
    ]


@router.get("/campaigns/{code}", response_model=CampaignPublic)
def get_campaign(code: Code, actor: ActorDep, session: SessionDep) -> CampaignPublic:
    return campaign_public(session, campaigns.get_campaign(session=session, actor=actor, code=code))


@router.post("/campaigns/{code}/next-round", response_model=CampaignPublic)
def next_round(code: Code, actor: ActorDep, session: SessionDep) -> CampaignPublic:
    return campaign_public(session, campaigns.next_round(session=session, actor=actor, code=code))


@router.post("/campaigns/{code}/close", response_model=CampaignPublic)
def close_campaign(code: Code, actor: ActorDep, session: SessionDep) -> CampaignPublic:
    return campaign_public(
        session, campaigns.close_campaign(session=session, actor=actor, code=code)
    )


@router.post("/campaigns/{code}/people", response_model=ImportResult)
def import_people(
    code: Code,
    actor: ActorDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV with a document_number column")],
) -> ImportResult:
    """A list of people to screen (a factory's workers) instead of every resident."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    report = campaigns.import_people(session=session, actor=actor, campaign_code=code, source=data)
    return ImportResult.model_validate(report.as_dict())


def progress_public(session: SessionDep, progress: figures.Progress) -> CampaignProgress:
    names = campaigns.unit_names(session, set(progress.units))
    sites = {s.id: s for s in campaigns.sites_of(session, progress.campaign)}

    def row(code: str, name: str, fig: figures.Figures) -> ProgressRow:
        return ProgressRow(code=code, name=name, **fig.__dict__)

    return CampaignProgress(
        campaign=campaign_public(session, progress.campaign),
        round=progress.round,
        total=row(progress.campaign.code, progress.campaign.name, progress.total),
        units=[
            row(code, names.get(code, code), fig) for code, fig in sorted(progress.units.items())
        ],
        sites=[
            row(sites[sid].code, sites[sid].name, fig)
            for sid, fig in progress.sites.items()
            if sid in sites
        ],
        tubes=progress.tubes,
        positivity_7d=progress.positivity,
        positivity_7d_tested=progress.tested_7d,
        suggested=PoolAdvicePublic(**progress.suggested.as_dict()) if progress.suggested else None,
    )


@router.get("/campaigns/{code}/progress", response_model=CampaignProgress)
def progress(code: Code, actor: ActorDep, session: SessionDep) -> CampaignProgress:
    """People to sample, sampled, results back, positive, waiting for a retest: per unit and
    per site, for the current round."""
    return progress_public(session, figures.progress(session=session, actor=actor, code=code))


@router.post(
    "/campaigns/{code}/sites", response_model=SitePublic, status_code=status.HTTP_201_CREATED
)
def add_site(code: Code, body: SiteInput, actor: ActorDep, session: SessionDep) -> SitePublic:
    site = campaigns.add_site(session=session, actor=actor, campaign_code=code, data=body)
    return SitePublic.model_validate(site)


@router.get("/campaigns/{code}/sites", response_model=list[SitePublic])
def list_sites(code: Code, actor: ActorDep, session: SessionDep) -> list[SitePublic]:
    campaign = campaigns.get_campaign(session=session, actor=actor, code=code)
    sites = campaigns.sites_of(session, campaign)
    staff = campaigns.staff_of(session, [s.id for s in sites])
    return [
        SitePublic.model_validate(s).model_copy(update={"staff": staff.get(s.id, [])})
        for s in sites
    ]


@router.post("/campaigns/{code}/sites/{site}/staff", response_model=SitePublic)
def assign_staff(
    code: Code, site: Code, body: StaffInput, actor: ActorDep, session: SessionDep
) -> SitePublic:
    found = campaigns.assign_staff(
        session=session, actor=actor, campaign_code=code, site_code=site, username=body.username
    )
    staff = campaigns.staff_of(session, [found.id])
    return SitePublic.model_validate(found).model_copy(update={"staff": staff.get(found.id, [])})


# Sampling


@router.post("/sampling", response_model=BatchOutcome)
def sampling_batch(
    body: SamplingBatch, request: Request, actor: ActorDep, session: SessionDep
) -> BatchOutcome:
    """The sampling page's queue: open a tube, add people, undo, close; each step once."""
    trust = TrustStore.from_database(session, request_keys(request))
    return sampling.apply(session=session, actor=actor, ops=body.ops, trust=trust)


@router.get("/tubes/{code}", response_model=TubePublic)
def get_tube(code: Code, actor: ActorDep, session: SessionDep) -> TubePublic:
    tube = sampling.get_tube(session=session, actor=actor, code=code)
    if not (actor.can(Permission.TESTING_SAMPLE) or actor.can(Permission.TESTING_READ)):
        return sampling.tube_view(session, tube).model_copy(update={"members": []})  # a lab
    members = sampling.members(session, tube)
    audit.record_many(
        session, actor, "read", "person", [(s.person_id, s.unit_code) for s in members]
    )
    return sampling.tube_view(session, tube)


def outcome(session: SessionDep, tube: Tube, created: bool) -> ResultOutcome:
    return ResultOutcome(
        barcode=tube.barcode,
        created=created,
        revision=tube.result_revision,
        result=tube.result or "",
        history=[ResultRevision.model_validate(r) for r in results.history(session, tube)],
    )


@router.get("/tubes/{code}/results", response_model=ResultOutcome)
def tube_results(code: Code, actor: ActorDep, session: SessionDep) -> ResultOutcome:
    """Every revision of the tube's result, with who entered it and why it changed."""
    tube = sampling.get_tube(session=session, actor=actor, code=code)
    return outcome(session, tube, False)


@router.post("/results", response_model=ResultOutcome)
def enter_result(body: ResultInput, actor: ActorDep, session: SessionDep) -> ResultOutcome:
    """One tube's result; the same again is a no-op, a different one needs a correction."""
    value = results.reading(body.result, body.ct_value, body.method, body.tested_at, utcnow())
    tube, created = results.enter_result(
        session=session, actor=actor, code=body.barcode, value=value, source="api"
    )
    return outcome(session, tube, created)


@router.post("/tubes/{code}/correction", response_model=ResultOutcome)
def correct_result(
    code: Code, body: CorrectionInput, actor: ActorDep, session: SessionDep
) -> ResultOutcome:
    value = results.reading(body.result, body.ct_value, body.method, body.tested_at, utcnow())
    tube = results.correct_result(
        session=session, actor=actor, code=code, value=value, reason=body.reason
    )
    return outcome(session, tube, True)


# Shipments


@router.post("/shipments", response_model=ShipmentPublic, status_code=status.HTTP_201_CREATED)
def create_shipment(body: ShipmentInput, actor: ActorDep, session: SessionDep) -> ShipmentPublic:
    """Closed tubes sent to a lab; warns when the lab is near or over its capacity."""
    shipment, warnings = labs.create_shipment(
        session=session, actor=actor, lab_code=body.lab_code, barcodes=body.barcodes
    )
    return labs.view(session, shipment, warnings)


@router.get("/shipments/{code}", response_model=ShipmentPublic)
def get_shipment(code: Code, actor: ActorDep, session: SessionDep) -> ShipmentPublic:
    return labs.view(session, labs.get_shipment(session=session, actor=actor, code=code))


@router.post("/shipments/{code}/receive", response_model=ShipmentPublic)
def receive_shipment(
    code: Code, body: ReceiveInput, actor: ActorDep, session: SessionDep
) -> ShipmentPublic:
    """The lab's scan of what arrived: missing and extra tubes come back."""
    shipment = labs.receive(session=session, actor=actor, code=code, barcodes=body.barcodes)
    return labs.view(session, shipment)


# Retests, people, positives


def order_public(
    order: RetestOrder, person: Person, campaign: Campaign, tube: Tube
) -> RetestOrderPublic:
    document = person.main_document
    return RetestOrderPublic(
        id=order.id,
        person_id=person.id,
        full_name=person.full_name,
        document_number=document.number if document else None,
        unit_code=order.unit_code,
        campaign_code=campaign.code,
        reason=order.reason,
        source_barcode=tube.barcode,
        status=order.status,
        created_at=order.created_at,
    )


@router.get("/retests", response_model=list[RetestOrderPublic])
def retest_orders(
    actor: ActorDep,
    session: SessionDep,
    unit: Annotated[str | None, Query(max_length=16)] = None,
    order_status: Annotated[
        str, Query(alias="status", pattern="^(open|sampled|done|cancelled)$")
    ] = "open",
) -> list[RetestOrderPublic]:
    """People to be retested individually (positive pool) or re-sampled (invalid tube)."""
    found = sampling.retest_orders(
        session=session, actor=actor, unit_code=unit, status=order_status
    )
    return [order_public(*row) for row in found]


@router.get("/persons/{person_id}/results", response_model=list[PersonResult])
def person_results(
    person_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> list[PersonResult]:
    return reports.person_results(session=session, actor=actor, person_id=person_id)


@router.get("/positives", response_model=list[PositivePublic])
def new_positives(
    actor: ActorDep,
    session: SessionDep,
    since: datetime | None = None,
    unit: Annotated[str | None, Query(max_length=16)] = None,
) -> list[PositivePublic]:
    """Individual positives in your area, newest first (default: the last 3 days)."""
    if since is not None:
        if since.tzinfo is None:
            raise Invalid("since", "a time with its zone")
        try:
            since = since.astimezone(UTC)
        except OverflowError:  # hours from year 1 or 9999: no UTC time to compare with
            raise Invalid("since", "a time between the years 1 and 9999 in UTC") from None
    return reports.new_positives(session=session, actor=actor, since=since, unit_code=unit)


@router.get("/positivity", response_model=list[PositiveDay])
def positivity(
    actor: ActorDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
) -> list[PositiveDay]:
    """Individual results per unit and day: tested, positive, rate."""
    return [
        PositiveDay(
            unit_code=d.unit_code,
            day=d.day,
            tested=d.tested,
            positive=d.positive,
            rate=round(d.rate, 4),
        )
        for d in reports.positivity_by_day(session=session, actor=actor, days=days)
    ]


@router.get("/pool-size", response_model=PoolAdvicePublic)
def pool_size(
    prevalence: Annotated[float, Query(ge=0, le=1)],
    max_size: Annotated[int, Query(alias="max", ge=1, le=1000)] = pooling.DEFAULT_MAX,
) -> PoolAdvicePublic:
    """Dorfman's pool size for a prevalence: fewest expected tests per person."""
    return PoolAdvicePublic(**pooling.advise(prevalence, max_size).as_dict())
