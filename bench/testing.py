"""Lab results at scale, and pairing at the sampling table, through the service layer.

Setup (not timed): a city's people (the demo's generator, Core inserts), a campaign of many
rounds in which every person is sampled at most once a round, a million tubes (mostly single,
one in ten a pool of five) shipped to one lab, written with Core bulk inserts.

Import: the lab machine's CSV (`tube_barcode,result,ct_value,method,tested_at`) goes through
`testing.results.import_results`, the path of the upload page and of `phongdich testing
import-results`: every row parsed and checked, each tube looked up, a result revision stored,
the pool resolved onto its members (outcomes, health facts, status events, retest orders for the
positive pools, `result.positive` events), audited. The files are of 100,000 rows (quick: 5,000),
one transaction each. Baseline: a raw Core insert of the same rows into `testing_tube_results`
(already parsed, no checks, no resolution), the two alternating file by file so that both meet
tables of the same size.

Pairing: `testing.sampling.apply` with the steps a sampling team's device sends (open a tube,
add each person by document number, close it), one tube's steps a request, in a fresh campaign.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bench.harness import Result, Stopwatch, fresh_database, load_admin_tree, per_second
from phongdich.auth.actor import system_actor
from phongdich.credentials.verify import TrustStore
from phongdich.db import Database, utcnow
from phongdich.demo import city
from phongdich.persons.models import IdentityDocument, Person
from phongdich.testing import campaigns, labs, resolution, results, sampling
from phongdich.testing.models import RetestOrder, Sample, Shipment, Tube, TubeResult
from phongdich.testing.schemas import CampaignInput, LabInput, SamplingOp, SiteInput

SEED = 1
FULL_TUBES, QUICK_TUBES = 1_000_000, 20_000
FULL_PEOPLE, QUICK_PEOPLE = 50_000, 5_000
FULL_FILE, QUICK_FILE = 100_000, 5_000
FULL_PAIRED, QUICK_PAIRED = 2_000, 300
POOL_SHARE, POOL_SIZE = 0.1, 5
POSITIVE, INVALID = 0.02, 0.005  # shares of the tubes
SETUP_CHUNK = 20_000
SHIPMENT_TUBES = 10_000
UNIT = city.DEMO_COMMUNES[0]
LAB = "CDC-HN"
ACTOR = system_actor("bench")
PROMISE_SECONDS = 60.0  # a million result rows imported in under a minute


@dataclass(frozen=True)
class Planned:
    barcode: str
    tested_at: datetime
    result: str
    ct_value: float | None


def _people(database: Database, people: int) -> list[tuple[uuid.UUID, str | None]]:
    load_admin_tree(database)
    with database.transaction() as session:
        for rows in city.generate(session, people=people, seed=SEED):
            city.insert_rows(session, rows)
        unit = func.coalesce(Person.temporary_unit_code, Person.permanent_unit_code)
        return [
            (pid, code)
            for pid, code in session.execute(select(Person.id, unit).order_by(Person.id))
        ]


def _campaign(database: Database, code: str, rounds: int) -> tuple[uuid.UUID, uuid.UUID]:
    with database.transaction() as session:
        campaign = campaigns.create_campaign(
            session=session,
            actor=ACTOR,
            data=CampaignInput(
                code=code,
                name="Xét nghiệm diện rộng",
                unit_code=city.CITY,
                max_pool_size=POOL_SIZE,
                starts_on=utcnow().date() - timedelta(days=1),
                ends_on=utcnow().date() + timedelta(days=30),
            ),
        )
        campaign.current_round = rounds
        site = campaigns.add_site(
            session=session,
            actor=ACTOR,
            campaign_code=code,
            data=SiteInput(code="SITE1", name="Nhà văn hóa tổ 5", unit_code=UNIT),
        )
        return campaign.id, site.id


def _groups(
    rng: random.Random, people: list[tuple[uuid.UUID, str | None]], tubes: int
) -> Iterator[tuple[int, list[tuple[uuid.UUID, str | None]]]]:
    """(round, members) for each tube: a person at most once a round, as the model demands."""
    round_, queue = 1, rng.sample(people, len(people))
    for _ in range(tubes):
        size = POOL_SIZE if rng.random() < POOL_SHARE else 1
        if len(queue) < size:
            round_, queue = round_ + 1, rng.sample(people, len(people))
        yield round_, [queue.pop() for _ in range(size)]


def _setup_tubes(
    database: Database, people: list[tuple[uuid.UUID, str | None]], tubes: int, now: datetime
) -> tuple[list[Planned], int, int]:
    """The tubes, their samples and shipments to one lab; (the lab's results to import,
    samples, pools)."""
    rng = random.Random(SEED)
    rounds = (tubes * (1 + POOL_SHARE * (POOL_SIZE - 1))) // len(people) + 2
    campaign_id, site_id = _campaign(database, "XN-BENCH", int(rounds))
    with database.transaction() as session:
        lab = labs.create_lab(
            session=session,
            actor=ACTOR,
            data=LabInput(
                code=LAB,
                name="CDC Hà Nội",
                unit_code=city.CITY,
                daily_capacity=1_000_000,
                methods=["pcr", "rapid_antigen"],
            ),
        )
        lab_id = lab.id
    planned: list[Planned] = []
    samples = pools = 0
    tube_rows: list[dict[str, Any]] = []
    sample_rows: list[dict[str, Any]] = []
    shipment_id = uuid.uuid4()

    def write() -> None:
        with database.transaction() as session:
            session.execute(insert(Tube), tube_rows)
            session.execute(insert(Sample), sample_rows)
        tube_rows.clear()
        sample_rows.clear()

    for index, (round_, members) in enumerate(_groups(rng, people, tubes)):
        if index % SHIPMENT_TUBES == 0:
            shipment_id = uuid.uuid4()
            with database.transaction() as session:
                session.execute(
                    insert(Shipment),
                    [
                        {
                            "id": shipment_id,
                            "code": f"VC-{index // SHIPMENT_TUBES:06d}",
                            "lab_id": lab_id,
                            "unit_code": UNIT,
                            "sent_at": now - timedelta(hours=20),
                            "sent_by": "bench",
                            "received_at": now - timedelta(hours=16),
                            "received_by": "bench",
                            "extra_barcodes": [],
                        }
                    ],
                )
        tube_id = uuid.uuid4()
        code = f"B{index:09d}"
        opened = now - timedelta(hours=24, seconds=rng.randrange(3600))
        kind = "pool" if len(members) > 1 else "single"
        pools += kind == "pool"
        tube_rows.append(
            {
                "id": tube_id,
                "barcode": code,
                "campaign_id": campaign_id,
                "site_id": site_id,
                "unit_code": UNIT,
                "round": round_,
                "kind": kind,
                "status": sampling.RECEIVED,
                "opened_at": opened,
                "opened_by": "bench",
                "closed_at": opened + timedelta(minutes=5),
                "shipment_id": shipment_id,
                "lab_id": lab_id,
                "received_at": now - timedelta(hours=16),
                "result_revision": 0,
            }
        )
        for person_id, unit in members:
            sample_rows.append(
                {
                    "id": uuid.uuid4(),
                    "tube_id": tube_id,
                    "campaign_id": campaign_id,
                    "round": round_,
                    "person_id": person_id,
                    "unit_code": unit,
                    "sampled_at": opened,
                    "sampled_by": "bench",
                }
            )
        samples += len(members)
        draw = rng.random()
        result = (
            "positive"
            if draw < POSITIVE
            else "invalid"
            if draw < POSITIVE + INVALID
            else "negative"
        )
        ct = round(rng.uniform(15, 35), 1) if result == "positive" else None
        tested = (opened + timedelta(hours=rng.randint(6, 12))).replace(microsecond=0)
        planned.append(Planned(code, tested, result, ct))
        if len(tube_rows) >= SETUP_CHUNK:
            write()
    if tube_rows:
        write()
    return planned, samples, pools


def _csv(part: Sequence[Planned]) -> str:
    lines = ["tube_barcode,result,ct_value,method,tested_at"]
    lines += [
        f"{p.barcode},{p.result},{'' if p.ct_value is None else p.ct_value},pcr,"
        f"{p.tested_at.isoformat()}"
        for p in part
    ]
    return "\n".join(lines) + "\n"


def _raw_rows(
    part: Sequence[Planned], ids: dict[str, uuid.UUID], lab_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The same results as rows, already parsed; revision 2, beside the import's revision 1."""
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "tube_id": ids[p.barcode],
            "revision": 2,
            "lab_id": lab_id,
            "result": p.result,
            "ct_value": p.ct_value,
            "method": "pcr",
            "tested_at": p.tested_at,
            "entered_by": "bench",
            "entered_at": now,
            "source": "import",
            "reason": "",
        }
        for p in part
    ]


def _pairing(database: Database, people: int, stopwatch: Stopwatch) -> tuple[int, int]:
    """Pair `people` through `sampling.apply`, one tube's steps a request; (steps, people)."""
    rng = random.Random(SEED + 1)
    _campaign(database, "XN-PAIRING", 1)
    with database.transaction() as session:
        documents = list(
            session.scalars(
                select(IdentityDocument.number)
                .join(Person, Person.id == IdentityDocument.person_id)
                .where(
                    Person.merged_into_id.is_(None),
                    # People waiting for a retest go into single tubes only; leave them out.
                    Person.id.not_in(
                        select(RetestOrder.person_id).where(RetestOrder.status == "open")
                    ),
                )
                .order_by(IdentityDocument.number)
            )
        )
    chosen = rng.sample(documents, min(people, len(documents)))
    trust = TrustStore()
    steps = paired = 0
    index = 0
    while index < len(chosen):
        size = POOL_SIZE if rng.random() < 0.5 else 1
        members = chosen[index : index + size]
        index += size
        code = f"P{index:09d}"
        ops = [
            SamplingOp(
                id=uuid.uuid4(),
                op="open",
                barcode=code,
                campaign_code="XN-PAIRING",
                site_code="SITE1",
                kind="pool" if size > 1 else "single",
            )
        ]
        ops += [SamplingOp(id=uuid.uuid4(), op="add", barcode=code, text=n) for n in members]
        ops.append(SamplingOp(id=uuid.uuid4(), op="close", barcode=code))
        with stopwatch.running(), database.transaction() as session:
            outcome = sampling.apply(session=session, actor=ACTOR, ops=ops, trust=trust)
        if outcome.rejected:
            raise AssertionError(f"rejected: {[r for r in outcome.results if r.reason][:2]}")
        steps += len(ops)
        paired += len(members)
    return steps, paired


def run(*, quick: bool = False, database_url: str | None = None) -> Result:
    tubes = QUICK_TUBES if quick else FULL_TUBES
    population = QUICK_PEOPLE if quick else FULL_PEOPLE
    file_rows = QUICK_FILE if quick else FULL_FILE
    to_pair = QUICK_PAIRED if quick else FULL_PAIRED
    imported, raw, setup, pairing = Stopwatch(), Stopwatch(), Stopwatch(), Stopwatch()
    created = 0
    with fresh_database(database_url) as database:
        now = utcnow().replace(microsecond=0)
        with setup.running():
            people = _people(database, population)
            planned, samples, pools = _setup_tubes(database, people, tubes, now)
        with database.transaction() as session:
            ids = dict(session.execute(select(Tube.barcode, Tube.id)).tuples().all())
            lab_id = labs.find_lab(session, LAB).id
        for index, start in enumerate(range(0, len(planned), file_rows)):
            part = planned[start : start + file_rows]
            text = _csv(part)
            rows = _raw_rows(part, ids, lab_id)

            def through_service(text: str = text) -> None:
                nonlocal created
                with imported.running(), database.transaction() as session:
                    report = results.import_results(
                        session=session, actor=ACTOR, lab_code=LAB, source=text
                    )
                if report.errors:
                    raise AssertionError(f"rejected: {report.errors[:3]}")
                created += report.created

            def bulk(rows: list[dict[str, Any]] = rows) -> None:
                with raw.running(), database.transaction() as session:
                    session.execute(insert(TubeResult), rows)

            for work in (through_service, bulk) if index % 2 == 0 else (bulk, through_service):
                work()
        with database.transaction() as session:
            stored = session.scalar(select(func.count()).select_from(TubeResult)) or 0
            orders = session.scalar(select(func.count()).select_from(resolution.ORDERS)) or 0
        steps, paired = _pairing(database, to_pair, pairing)

    result = Result(
        f"testing: {tubes:,} tubes ({pools:,} pools of {POOL_SIZE}, {samples:,} samples of "
        f"{population:,} people) imported in files of {file_rows:,} rows; {paired:,} people paired"
    )
    import_rate = per_second(created, imported.seconds)
    raw_rate = per_second(len(planned), raw.seconds)
    result.add("import_rows_per_s", import_rate, "rows/s", baseline="raw_rows_per_s")
    result.add(
        "import_ratio_to_raw",
        raw.seconds / imported.seconds,
        "x",
        note="raw insert time / import time",
    )
    result.add("pairing_per_s", per_second(steps, pairing.seconds), "steps/s")
    result.add(
        "import_seconds",
        imported.seconds,
        "s",
        note=f"target < {PROMISE_SECONDS:.0f} s for 1 M rows",
    )
    result.add("rows", created, "rows", note="result rows imported")
    result.add("raw_rows_per_s", raw_rate, "rows/s", note="baseline: Core insert, no checks")
    result.add("raw_seconds", raw.seconds, "s")
    result.add("paired_people_per_s", per_second(paired, pairing.seconds), "people/s")
    result.add("samples", samples, "samples", note="people's swabs in the imported tubes")
    result.add("retest_orders", orders, "orders", note="made by the positive and invalid tubes")
    result.add("setup_seconds", setup.seconds, "s", note="people, tubes, samples (not timed)")
    if stored != 2 * created:
        result.notes.append(f"stored {stored:,} result rows for {created:,} imported")
    if not quick:
        verdict = "kept" if imported.seconds < PROMISE_SECONDS else "NOT kept"
        result.notes.append(
            f"promise: {FULL_TUBES:,} result rows in under {PROMISE_SECONDS:.0f} s: {verdict} "
            f"({imported.seconds:.1f} s)"
        )
    result.notes.append(
        f"pairing: {steps:,} steps (open, add by document number, close) for {paired:,} people, "
        "one tube's steps a request and a transaction"
    )
    return result
