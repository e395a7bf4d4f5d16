"""Factories for the testing domain's tests: a campaign with a site, tubes, labs, shipments."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from phongdich.auth.actor import Actor, system_actor
from phongdich.credentials.verify import TrustStore
from phongdich.persons.models import Person
from phongdich.testing import campaigns, labs, results, sampling
from phongdich.testing.models import Campaign, Lab, SamplingSite
from phongdich.testing.schemas import CampaignInput, LabInput, SamplingOp, SiteInput
from tests.factories import PHUC_XA

SYSTEM = system_actor("tests")
_codes = itertools.count(1)
NO_TRUST = TrustStore()


def make_campaign(
    session: Session,
    actor: Actor = SYSTEM,
    *,
    unit: str = PHUC_XA,
    max_pool_size: int = 10,
    method: str = "pcr",
    site_code: str = "SITE1",
) -> tuple[Campaign, SamplingSite]:
    campaign = campaigns.create_campaign(
        session=session,
        actor=actor,
        data=CampaignInput(
            name="Xét nghiệm diện rộng",
            unit_code=unit,
            method=method,
            max_pool_size=max_pool_size,
            starts_on=date(2021, 9, 1),
            ends_on=date(2021, 9, 30),
        ),
    )
    site = campaigns.add_site(
        session=session,
        actor=actor,
        campaign_code=campaign.code,
        data=SiteInput(code=site_code, name="Nhà văn hóa tổ 5", unit_code=unit),
    )
    return campaign, site


def make_lab(
    session: Session, actor: Actor = SYSTEM, *, capacity: int = 1000, unit: str = PHUC_XA
) -> Lab:
    return labs.create_lab(
        session=session,
        actor=actor,
        data=LabInput(
            code=f"LAB{next(_codes)}",
            name="CDC Hà Nội",
            unit_code=unit,
            daily_capacity=capacity,
            methods=["pcr", "rapid_antigen"],
        ),
    )


def new_barcode() -> str:
    return f"TB-{next(_codes):08d}"


def op(step: str, barcode: str, **values: object) -> SamplingOp:
    return SamplingOp.model_validate({"id": uuid.uuid4(), "op": step, "barcode": barcode, **values})


def fill_tube(
    session: Session,
    campaign: Campaign,
    site: SamplingSite,
    people: Sequence[Person],
    *,
    actor: Actor = SYSTEM,
    kind: str = "pool",
    barcode: str | None = None,
    close: bool = True,
) -> str:
    """Open a tube, add each person by document number, close it; the barcode."""
    code = barcode or new_barcode()
    ops = [op("open", code, campaign_code=campaign.code, site_code=site.code, kind=kind)]
    ops += [op("add", code, text=p.documents[0].number) for p in people]
    if close:
        ops.append(op("close", code))
    outcome = sampling.apply(session=session, actor=actor, ops=ops, trust=NO_TRUST)
    rejected = [r for r in outcome.results if r.status == "rejected"]
    assert not rejected, rejected
    return code


def ship(session: Session, lab: Lab, barcodes: Sequence[str], actor: Actor = SYSTEM) -> str:
    shipment, _ = labs.create_shipment(
        session=session, actor=actor, lab_code=lab.code, barcodes=barcodes
    )
    return shipment.code


def enter(
    session: Session, barcode: str, result: str, actor: Actor = SYSTEM, ct: float | None = None
) -> bool:
    now = datetime.now(UTC)
    value = results.reading(result, ct, "pcr", now, now)
    return results.enter_result(session=session, actor=actor, code=barcode, value=value)[1]
