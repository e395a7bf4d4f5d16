"""The demo city's mass testing: labs, and a screening campaign of Ba Đình half-way through.

Everything goes through the testing services, as the sampling team and the lab would do it:
tubes paired single and pooled at three sites, shipped, received (one tube missing), results
imported from a lab machine's CSV; positive pools being resolved into individual retests, one of
which turns out positive. So the pages show the picture of 2021: results partly back, pool
members waiting for their retest, one lab near its capacity. The choices (who is in which tube,
which results) come from the seed; times are relative to the real clock, like the check-ins.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor, system_actor
from phongdich.auth.models import User
from phongdich.auth.service import actor_for_user
from phongdich.credentials.status import HealthFact
from phongdich.credentials.verify import TrustStore
from phongdich.db import utcnow
from phongdich.persons.models import IdentityDocument, Person
from phongdich.testing import campaigns, figures, labs, resolution, results, sampling
from phongdich.testing.models import Sample, SamplingSite, Tube
from phongdich.testing.schemas import CampaignInput, LabInput, SamplingOp, SiteInput

CAMPAIGN_CODE = "XN-BADINH-01"
DISTRICT, PHUC_XA, TRUC_BACH = "001", "00001", "00004"  # Ba Đình and its two demo communes
SAMPLER, LAB_USER = "laymau.phucxa", "xetnghiem.cdc"
CDC, BACH_MAI, SMALL = "CDC-HN", "BV-BACHMAI", "XN-BADINH"
LABS = (
    (CDC, "Khoa Xét nghiệm CDC Hà Nội", "01", 5000, ["pcr", "rapid_antigen"]),
    (BACH_MAI, "Khoa Vi sinh Bệnh viện Bạch Mai", "006", 3000, ["pcr"]),
)
SITES = (
    ("PX-01", "Nhà văn hóa tổ dân phố 5 Phúc Xá", PHUC_XA, "Ngõ 256 phố Phúc Xá"),
    ("PX-02", "Sân trường THCS Phúc Xá", PHUC_XA, "Phố Nghĩa Dũng"),
    ("TB-01", "Nhà văn hóa phường Trúc Bạch", TRUC_BACH, "Phố Trấn Vũ"),
)
MAX_POOL = 10
SAMPLED_SHARE = 0.75  # of the residents of the two communes, so the campaign is not done
MAX_SAMPLED = 1000  # enough to fill the pages, few enough to keep the demo quick
SINGLE_SHARE = 0.3
POOL_SIZES = (5, 6, 8, 10, 10)
# Where each site's tubes are, oldest first: results back, at the lab, on the road, closed, open.
STAGES = (("resulted", 0.45), ("received", 0.2), ("shipped", 0.15), ("closed", 0.12))
SHIPMENT_SIZE = 40
SAMPLING_HOURS = 44  # the campaign began two days ago
NEAR = 0.9  # the small lab's waiting tubes as a share of its capacity
PAIRED_AT_SITE = 4  # each site's latest tubes are paired through the service, scan by scan


@dataclass(frozen=True)
class TestingDemo:
    """What the demo's testing holds, for the summary (the same for the same seed)."""

    labs: int
    campaign_code: str
    tubes: int
    pooled: int
    to_sample: int
    sampled: int
    results_back: int
    retests_waiting: int
    health_facts: int  # the individual results, written by the services as test results

    def line(self) -> str:
        return (
            f"{self.labs} labs, campaign {self.campaign_code} with {self.tubes:,} tubes "
            f"({self.pooled:,} pooled), {self.results_back:,} of {self.sampled:,} sampled "
            f"people with results back ({self.to_sample:,} to sample), "
            f"{self.retests_waiting:,} retests waiting; sampling as {SAMPLER}, lab as {LAB_USER}."
        )


@dataclass(frozen=True)
class Resident:
    person_id: uuid.UUID
    document: str
    unit_code: str


@dataclass
class TubePlan:
    barcode: str
    site: str
    kind: str
    members: list[Resident]
    opened_at: datetime
    stage: str = "open"
    result: str = "negative"
    lab: str = CDC


@dataclass
class _Run:
    """The session, the people acting and the seeded stream shared by the steps."""

    session: Session
    rng: random.Random
    now: datetime
    sampler: Actor
    lab_staff: Actor
    trust: TrustStore = field(default_factory=TrustStore)
    made: int = 0
    sites: dict[str, SamplingSite] = field(default_factory=dict)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def op(self, step: str, code: str, at: datetime | None, **values: object) -> SamplingOp:
        return SamplingOp.model_validate(
            {"id": self.uuid(), "op": step, "barcode": code, "at": at, **values}
        )

    def apply(self, ops: Sequence[SamplingOp]) -> None:
        outcome = sampling.apply(
            session=self.session, actor=self.sampler, ops=ops, trust=self.trust, now=self.now
        )
        rejected = [r for r in outcome.results if r.status == "rejected"]
        if rejected:
            raise RuntimeError(f"demo sampling step rejected: {rejected[0]}")

    def fill(self, tube: TubePlan, *, close: bool, at: datetime | None = None) -> None:
        """Open the tube, scan each person's card number, close it: as at the site."""
        when = tube.opened_at if at is None else at
        ops = [
            self.op(
                "open",
                tube.barcode,
                when,
                campaign_code=CAMPAIGN_CODE,
                site_code=tube.site,
                kind=tube.kind,
            )
        ]
        for index, member in enumerate(tube.members):
            ops.append(
                self.op(
                    "add",
                    tube.barcode,
                    when + timedelta(seconds=40 * (index + 1)),
                    text=member.document,
                )
            )
        if close:
            ops.append(self.op("close", tube.barcode, when + timedelta(minutes=8)))
        self.apply(ops)

    def ship(
        self, lab: str, tubes: Sequence[TubePlan], *, received: bool, missing: int = 0
    ) -> None:
        codes = [t.barcode for t in tubes]
        shipment, _ = labs.create_shipment(
            session=self.session, actor=self.sampler, lab_code=lab, barcodes=codes
        )
        if received:
            labs.receive(
                session=self.session,
                actor=self.lab_staff,
                code=shipment.code,
                barcodes=codes[: len(codes) - missing],
            )

    def import_results(
        self, lab: str, rows: Sequence[tuple[str, str, float | None, datetime]]
    ) -> None:
        lines = ["tube_barcode,result,ct_value,method,tested_at"]
        lines += [
            f"{code},{result},{'' if ct is None else ct},pcr,{at.isoformat()}"
            for code, result, ct, at in rows
        ]
        report = results.import_results(
            session=self.session, actor=self.lab_staff, lab_code=lab, source="\n".join(lines)
        )
        if report.errors:
            raise RuntimeError(f"demo results rejected: {report.errors[0]}")


def _actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    return actor_for_user(session, user, origin="demo") if user else system_actor("demo")


def _residents(session: Session) -> list[Resident]:
    unit = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)
    found = session.execute(
        select(Person.id, IdentityDocument.number, unit)
        .join(IdentityDocument, IdentityDocument.person_id == Person.id)
        .where(Person.merged_into_id.is_(None), unit.in_((PHUC_XA, TRUC_BACH)))
        .order_by(IdentityDocument.number)
    ).all()
    seen: set[uuid.UUID] = set()
    out = []
    for person_id, number, code in found:
        if person_id not in seen:
            seen.add(person_id)
            out.append(Resident(person_id, number, str(code)))
    return out


def _plan(rng: random.Random, residents: list[Resident], now: datetime) -> list[TubePlan]:
    """Tubes per site, oldest first, each given the stage it has reached."""
    rng.shuffle(residents)
    sampled = residents[: min(MAX_SAMPLED, math.ceil(len(residents) * SAMPLED_SHARE))]
    by_site: dict[str, list[Resident]] = {code: [] for code, *_ in SITES}
    for person in sampled:
        site = "TB-01" if person.unit_code == TRUC_BACH else rng.choice(("PX-01", "PX-02"))
        by_site[site].append(person)
    tubes: list[TubePlan] = []
    start = now - timedelta(hours=SAMPLING_HOURS)
    for site, people in by_site.items():
        groups: list[tuple[str, list[Resident]]] = []
        while people:
            if rng.random() < SINGLE_SHARE or len(people) == 1:
                groups.append(("single", [people.pop()]))
            else:
                size = min(len(people), rng.choice(POOL_SIZES))
                groups.append(("pool", [people.pop() for _ in range(size)]))
        step = timedelta(hours=SAMPLING_HOURS - 1) / max(1, len(groups))
        cut, stages = 0.0, []
        for name, share in STAGES:
            cut += share
            stages.append((name, cut))
        for index, (kind, members) in enumerate(groups):
            position = index / len(groups)
            stage = next((name for name, until in stages if position < until), "open")
            if index == len(groups) - 1:
                stage = "open"  # the tube on the table now
            tubes.append(
                TubePlan(
                    f"HN21-{len(tubes) + 1:06d}",
                    site,
                    kind,
                    members,
                    start + step * index,
                    stage,
                )
            )
    return tubes


def _shipments(tubes: list[TubePlan]) -> list[list[TubePlan]]:
    """Consecutive tubes of one site and one stage go together."""
    out: list[list[TubePlan]] = []
    for tube in tubes:
        last = out[-1] if out else None
        if (
            last
            and last[0].site == tube.site
            and last[0].stage == tube.stage
            and len(last) < SHIPMENT_SIZE
        ):
            last.append(tube)
        else:
            out.append([tube])
    return out


def add_testing(session: Session, *, seed: int, now: datetime | None = None) -> TestingDemo:
    """Labs and the campaign, through the services; needs the city and its users."""
    now = (now or utcnow()).replace(microsecond=0)
    system = system_actor("demo")
    rng = random.Random(seed * 11 + 5)
    run = _Run(session, rng, now, _actor(session, SAMPLER), _actor(session, LAB_USER))
    tubes = _plan(rng, _residents(session), now)
    for code, name, unit, capacity, methods in LABS:
        labs.create_lab(
            session=session,
            actor=system,
            data=LabInput(
                code=code, name=name, unit_code=unit, daily_capacity=capacity, methods=methods
            ),
        )
    on_the_road = sum(1 for t in tubes if t.stage == "shipped")
    labs.create_lab(
        session=session,
        actor=system,
        data=LabInput(
            code=SMALL,
            name="Phòng xét nghiệm TTYT quận Ba Đình",
            unit_code=DISTRICT,
            daily_capacity=max(1, int(on_the_road / NEAR)),
            methods=["pcr", "rapid_antigen"],
        ),
    )
    campaign = campaigns.create_campaign(
        session=session,
        actor=system,
        data=CampaignInput(
            code=CAMPAIGN_CODE,
            name="Xét nghiệm diện rộng quận Ba Đình, đợt 1",
            unit_code=DISTRICT,
            target_unit_codes=[PHUC_XA, TRUC_BACH],
            method="pcr",
            max_pool_size=MAX_POOL,
            starts_on=(now - timedelta(hours=SAMPLING_HOURS)).date(),
            ends_on=(now + timedelta(days=5)).date(),
        ),
    )
    for code, name, unit, address in SITES:
        run.sites[code] = campaigns.add_site(
            session=session,
            actor=system,
            campaign_code=campaign.code,
            data=SiteInput(code=code, name=name, unit_code=unit, address=address),
        )
        if run.sampler.user_id is not None:
            campaigns.assign_staff(
                session=session,
                actor=system,
                campaign_code=campaign.code,
                site_code=code,
                username=SAMPLER,
            )
    _sample_and_ship(run, tubes)
    _results(run, tubes)
    _retests(run, tubes)
    progress = figures.progress(session=session, actor=system, code=campaign.code, now=now)
    return TestingDemo(
        labs=len(LABS) + 1,
        campaign_code=campaign.code,
        tubes=len(tubes) + run.made,
        pooled=sum(1 for t in tubes if t.kind == "pool"),
        to_sample=progress.total.to_sample or 0,
        sampled=progress.total.sampled,
        results_back=progress.total.results_back,
        retests_waiting=progress.total.waiting_retest,
        health_facts=session.scalar(
            select(func.count())
            .select_from(HealthFact)
            .where(HealthFact.source_domain == resolution.FACTS_DOMAIN)
        )
        or 0,
    )


def _paired(run: _Run, tubes: Sequence[TubePlan]) -> None:
    """The rows `sampling.apply` writes for closed tubes, bulk-inserted.

    Pairing through the service costs about 10 ms a person (each step re-reads the tube and the
    person's pass colour), so only the latest tubes of each site (PAIRED_AT_SITE) go through
    it; the earlier ones get the very same rows this way, in a few milliseconds.
    """
    if not tubes:
        return
    campaign_id = next(iter(run.sites.values())).campaign_id
    by = run.sampler.username[:64]
    tube_rows: list[dict[str, Any]] = []
    sample_rows: list[dict[str, Any]] = []
    for tube in tubes:
        site = run.sites[tube.site]
        tube_id = run.uuid()
        tube_rows.append(
            {
                "id": tube_id,
                "barcode": tube.barcode,
                "campaign_id": campaign_id,
                "site_id": site.id,
                "unit_code": site.unit_code,
                "round": 1,
                "kind": tube.kind,
                "status": sampling.CLOSED,
                "opened_at": tube.opened_at,
                "opened_by": by,
                "closed_at": tube.opened_at + timedelta(minutes=8),
                "result_revision": 0,
            }
        )
        for index, member in enumerate(tube.members):
            sample_rows.append(
                {
                    "id": run.uuid(),
                    "tube_id": tube_id,
                    "campaign_id": campaign_id,
                    "round": 1,
                    "person_id": member.person_id,
                    "unit_code": member.unit_code,
                    "sampled_at": tube.opened_at + timedelta(seconds=40 * (index + 1)),
                    "sampled_by": by,
                }
            )
    run.session.execute(insert(Tube), tube_rows)
    run.session.execute(insert(Sample), sample_rows)
    audit.record_many(
        run.session,
        run.sampler,
        "sample",
        "person",
        [(row["person_id"], row["unit_code"]) for row in sample_rows],
    )


def _sample_and_ship(run: _Run, tubes: list[TubePlan]) -> None:
    latest: set[str] = set()
    for site, *_ in SITES:
        latest.update(t.barcode for t in [t for t in tubes if t.site == site][-PAIRED_AT_SITE:])
    _paired(run, [t for t in tubes if t.barcode not in latest])
    for tube in tubes:
        if tube.barcode in latest:
            run.fill(tube, close=tube.stage != "open")
    batches = _shipments([t for t in tubes if t.stage in ("resulted", "received", "shipped")])
    missing_left = 1  # one tube of one received shipment never arrives
    for index, batch in enumerate(batches):
        stage = batch[0].stage
        lab = SMALL if stage == "shipped" else (BACH_MAI if index % 3 == 2 else CDC)
        for tube in batch:
            tube.lab = lab
        missing = 0
        if stage == "received" and missing_left and len(batch) > 1:
            missing, missing_left = 1, 0
        run.ship(lab, batch, received=stage != "shipped", missing=missing)


def _tested_at(run: _Run, tube: TubePlan) -> datetime:
    hours = run.rng.randint(6, 20)
    return min(tube.opened_at + timedelta(hours=hours), run.now - timedelta(minutes=5))


def _results(run: _Run, tubes: list[TubePlan]) -> None:
    """Most results negative; a few positive pools, one positive and one invalid single."""
    done = [t for t in tubes if t.stage == "resulted"]
    pools = [t for t in done if t.kind == "pool"]
    singles = [t for t in done if t.kind == "single"]
    for tube in run.rng.sample(pools, min(3, len(pools))):
        tube.result = "positive"
    picked = run.rng.sample(singles, min(2, len(singles)))
    for tube, result in zip(picked, ("positive", "invalid"), strict=False):
        tube.result = result
    for lab in (CDC, BACH_MAI):
        rows = []
        for tube in done:
            if tube.lab != lab:
                continue
            ct = round(run.rng.uniform(18, 33), 1) if tube.result == "positive" else None
            rows.append((tube.barcode, tube.result, ct, _tested_at(run, tube)))
        if rows:
            run.import_results(lab, rows)


def _retests(run: _Run, tubes: list[TubePlan]) -> None:
    """The first positive pool fully retested (one member positive), the second half-way,
    the third still waiting: what the sampling page of the commune lists."""
    positive = [t for t in tubes if t.kind == "pool" and t.result == "positive"]
    resolved = positive[0].members if positive else []
    halfway = (
        positive[1].members[: (len(positive[1].members) + 1) // 2] if len(positive) > 1 else []
    )
    retests: list[TubePlan] = []
    sources = [(positive[0], m) for m in resolved] + [(positive[1], m) for m in halfway]
    # Swabbed an hour ago (closed eight minutes later), tested ten minutes ago: a real
    # turnaround on the lab's page.
    swabbed = run.now - timedelta(hours=1)
    for source, member in sources:
        run.made += 1
        tube = TubePlan(f"HN21-R{run.made:05d}", source.site, "single", [member], swabbed)
        run.fill(tube, close=True, at=swabbed)
        retests.append(tube)
    if not retests:
        return
    answered = retests[: len(resolved) + 1]  # every member of the first pool, one of the second
    run.ship(CDC, answered, received=True)
    if len(retests) > len(answered):
        run.ship(CDC, retests[len(answered) :], received=False)
    rows = [
        (
            tube.barcode,
            "positive" if index == 0 else "negative",
            26.4 if index == 0 else None,
            run.now - timedelta(minutes=10),
        )
        for index, tube in enumerate(answered)
    ]
    run.import_results(CDC, rows)
