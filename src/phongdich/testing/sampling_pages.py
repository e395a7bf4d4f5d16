"""The sampling page: a team's phone at the sampling table, its queue of steps, and shipping
closed tubes to a lab."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.config import get_settings
from phongdich.credentials.routes import request_keys
from phongdich.credentials.verify import TrustStore
from phongdich.db import utcnow
from phongdich.deps import ActorDep, SessionDep
from phongdich.errors import Invalid, PhongdichError
from phongdich.testing import campaigns, labs, sampling
from phongdich.testing import orders as sampling_orders
from phongdich.testing.pages import split_codes
from phongdich.testing.schemas import SamplingBatch, ShipmentPublic
from phongdich.web import reasons
from phongdich.web.forms import FormValues
from phongdich.web.templating import render

router = APIRouter(include_in_schema=False)

Errors = dict[str, str]
MAX_BARCODES = 5000


def _lab_choices(session: Session) -> list[labs.Load]:
    return labs.loads(session, labs.list_labs(session=session))


def _sample_page(
    request: Request,
    session: Session,
    actor: Actor,
    campaign_code: str,
    site_code: str,
    *,
    ship_values: Mapping[str, str] | None = None,
    ship_errors: Errors | None = None,
    shipment: ShipmentPublic | None = None,
    sent_barcodes: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    choices = campaigns.sites_for(session, actor)
    chosen = None
    for campaign, site in choices:
        if (
            campaign.code == campaign_code.strip().upper()
            and site.code == site_code.strip().upper()
        ):
            chosen = (campaign, site)
    if chosen is None and len(choices) == 1:
        chosen = choices[0]
    orders = sampling.retest_orders(session=session, actor=actor)
    others = sampling_orders.due(session, actor, utcnow().astimezone(get_settings().tz).date())
    response = render(
        request,
        "testing/sample.html",
        {
            "choices": choices,
            "chosen": chosen,
            "orders": orders,
            "other_orders": others,
            "loads": _lab_choices(session),
            "ship_values": ship_values or {},
            "ship_errors": ship_errors or {},
            "shipment": shipment,
            "sent_barcodes": sent_barcodes,
        },
        status_code=status_code,
    )
    # The page holds the team's queue in the browser; never a stale copy from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/testing/sample", response_class=HTMLResponse)
def sample_page(
    request: Request,
    actor: ActorDep,
    session: SessionDep,
    campaign: Annotated[str, Query(max_length=32)] = "",
    site: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The sampling table on a phone: a tube's barcode, then each person's pass or card."""
    actor.require(Permission.TESTING_SAMPLE)
    return _sample_page(request, session, actor, campaign, site)


def _translated(outcome: dict[str, Any]) -> dict[str, Any]:
    if outcome.get("reason"):
        outcome["reason"] = reasons.translate(str(outcome["reason"]))
    return outcome


@router.post("/testing/sample/ops")
def sample_ops(
    body: SamplingBatch, request: Request, actor: ActorDep, session: SessionDep
) -> JSONResponse:
    """The page's queue, as `POST /api/testing/sampling`, with reasons in the page's language."""
    try:
        actor.require(Permission.TESTING_SAMPLE)
        trust = TrustStore.from_database(session, request_keys(request))
        outcome = sampling.apply(session=session, actor=actor, ops=body.ops, trust=trust)
    except PhongdichError as exc:
        return JSONResponse({"error": reasons.translate(exc.message)}, status_code=exc.status_code)
    answer = outcome.model_dump(mode="json")
    answer["results"] = [_translated(r) for r in answer["results"]]
    return JSONResponse(answer)


@router.post("/testing/sample/ship", response_class=HTMLResponse)
def ship_submit(
    request: Request, actor: ActorDep, session: SessionDep, values: FormValues
) -> Response:
    """Closed tubes into a shipment to a lab; the lab's load comes back as a warning."""
    actor.require(Permission.TESTING_SAMPLE)
    here = (values.get("campaign", "")[:32], values.get("site", "")[:32])
    barcodes = split_codes(values.get("barcodes", ""))[:MAX_BARCODES]
    try:
        if not values.get("lab_code"):
            raise Invalid("lab_code", "required")
        if not barcodes:
            raise Invalid("barcodes", "required")
        with session.begin_nested():
            shipment, warnings = labs.create_shipment(
                session=session, actor=actor, lab_code=values["lab_code"], barcodes=barcodes
            )
    except Invalid as exc:
        field = exc.field.split(".")[0]
        return _sample_page(
            request,
            session,
            actor,
            *here,
            ship_values=values,
            ship_errors={field if field in ("lab_code", "barcodes") else "barcodes": exc.reason},
            status_code=422,
        )
    return _sample_page(
        request,
        session,
        actor,
        *here,
        shipment=labs.view(session, shipment, warnings),
        sent_barcodes=[tube_code.upper() for tube_code in barcodes],
    )
