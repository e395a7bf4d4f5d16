"""Resolving a lab's readings onto the people in the tubes, in bulk.

Resolution is Dorfman's scheme: a negative pool makes every member negative; a positive pool
orders an individual retest for every member; an invalid tube orders re-sampling. A single
tube's result is its person's result. Individual results become health facts (they colour the
next personal pass), and each individual positive emits `result.positive`.

Everything goes through `apply`: one tube typed at the lab's desk and a million rows of a
machine's export take the same path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.credentials.status import NewFact, record_facts, withdraw_facts
from phongdich.db import utcnow
from phongdich.testing.models import Lab, RetestOrder, Sample, Tube, TubeResult
from phongdich.testing.sampling import RESULTED, SINGLE

POSITIVE_TOPIC = "result.positive"
CORRECTED_TOPIC = "result.corrected"
FACTS_DOMAIN = "testing"
CHUNK = 5000
# Core tables for the bulk updates (the ORM's bulk update wants primary-key named parameters).
TUBES: Table = Tube.__table__  # type: ignore[assignment]
SAMPLES: Table = Sample.__table__  # type: ignore[assignment]
ORDERS: Table = RetestOrder.__table__  # type: ignore[assignment]
REVISIONS: Table = TubeResult.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Reading:
    """A result as the lab reports it, checked."""

    result: str
    ct_value: float | None
    method: str
    tested_at: datetime

    def same_as(self, other: Reading) -> bool:
        return (
            self.result == other.result
            and self.method == other.method
            and self.tested_at == other.tested_at
            and _ct_key(self.ct_value) == _ct_key(other.ct_value)
        )


def _ct_key(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True)
class TubeRow:
    """What the resolution needs of a tube (read with Core: imports touch a million)."""

    id: uuid.UUID
    barcode: str
    lab_id: uuid.UUID | None
    status: str
    kind: str
    campaign_id: uuid.UUID
    revision: int
    opened_at: datetime


TUBE_COLUMNS = (
    Tube.id,
    Tube.barcode,
    Tube.lab_id,
    Tube.status,
    Tube.kind,
    Tube.campaign_id,
    Tube.result_revision,
    Tube.opened_at,
)


@dataclass(frozen=True)
class Entry:
    tube: TubeRow
    reading: Reading
    source: str  # form | import | api
    reason: str = ""
    previous: Reading | None = None  # the reading a correction replaces

    @property
    def changes_outcome(self) -> bool:
        """A correction of the Ct value or the time alone leaves every person's result as it
        was: no fact, order or `result.positive` is taken back or made again."""
        before = self.previous
        return before is None or (before.result, before.method) != (
            self.reading.result,
            self.reading.method,
        )


def apply(session: Session, actor: Actor, lab: Lab, entries: Sequence[Entry]) -> None:
    """Store new revisions and resolve them onto samples, orders, facts and events, in bulk."""
    if not entries:
        return
    now = utcnow()
    by_tube = {e.tube.id: e for e in entries}
    session.execute(
        insert(REVISIONS),
        [
            {
                "id": uuid.uuid4(),
                "tube_id": e.tube.id,
                "revision": e.tube.revision + 1,
                "lab_id": lab.id,
                "result": e.reading.result,
                "ct_value": e.reading.ct_value,
                "method": e.reading.method,
                "tested_at": e.reading.tested_at,
                "entered_by": actor.username[:64],
                "entered_at": now,
                "source": e.source,
                "reason": e.reason[:300],
            }
            for e in entries
        ],
    )
    session.execute(
        update(TUBES)
        .where(TUBES.c.id == bindparam("b_tube"))
        .values(
            result=bindparam("b_result"),
            result_revision=bindparam("b_revision"),
            # The first result's time: turnaround is measured to it, not to a correction.
            resulted_at=func.coalesce(TUBES.c.resulted_at, bindparam("b_now")),
            status=RESULTED,
        ),
        [
            {
                "b_tube": e.tube.id,
                "b_result": e.reading.result,
                "b_revision": e.tube.revision + 1,
                "b_now": now,
            }
            for e in entries
        ],
    )
    samples = _samples(session, list(by_tube))
    corrected = [e for e in entries if e.tube.revision > 0]
    for e in corrected:
        # Whoever acted on the earlier result (a case opened from a positive) must hear of it.
        events.record(
            session,
            CORRECTED_TOPIC,
            {
                "tube_barcode": e.tube.barcode,
                "revision": e.tube.revision + 1,
                "result": e.reading.result,
                "person_ids": [str(s.person_id) for s in samples.get(e.tube.id, [])],
            },
        )
    redo = [e for e in corrected if e.changes_outcome]
    kept = _undo(session, actor, redo, samples) if redo else set()
    resolving = {tube_id: e for tube_id, e in by_tube.items() if e.changes_outcome}
    _resolve(session, actor, resolving, samples, now, kept)
    # A result revision records who entered it and when; a typed one is audited as well, an
    # import once as a whole (by `import_results`).
    typed: list[tuple[object, str | None]] = [
        (e.tube.id, None) for e in entries if e.source != "import"
    ]
    audit.record_many(session, actor, "result", "tube", typed, detail=f"lab={lab.code}")
    # The ORM's copies of these rows are stale after the Core updates.
    session.expire_all()


@dataclass(frozen=True)
class SampleRow:
    id: uuid.UUID
    tube_id: uuid.UUID
    person_id: uuid.UUID
    unit_code: str | None
    retest_order_id: uuid.UUID | None
    sampled_at: datetime
    campaign_id: uuid.UUID


def _samples(session: Session, tube_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[SampleRow]]:
    found: dict[uuid.UUID, list[SampleRow]] = {}
    for start in range(0, len(tube_ids), CHUNK):
        part = tube_ids[start : start + CHUNK]
        for row in session.execute(
            select(
                Sample.id,
                Sample.tube_id,
                Sample.person_id,
                Sample.unit_code,
                Sample.retest_order_id,
                Sample.sampled_at,
                Sample.campaign_id,
            ).where(Sample.tube_id.in_(part), Sample.removed_at.is_(None))
        ):
            found.setdefault(row[1], []).append(SampleRow(*row))
    return found


def _source(sample_id: uuid.UUID, revision: int) -> str:
    return f"{sample_id}:{revision}"


def _undo(
    session: Session,
    actor: Actor,
    corrected: Sequence[Entry],
    samples: dict[uuid.UUID, list[SampleRow]],
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """A corrected result takes back what the earlier revisions did that has not moved on:
    their facts, and their retest orders nobody has been sampled for yet. Returns the
    (tube, person) pairs whose orders have moved on (sampled or done): those people are not
    asked for another retest by the new revision."""
    withdraw_facts(
        session=session,
        actor=actor,
        domain=FACTS_DOMAIN,
        source_ids=[
            _source(s.id, revision)
            for e in corrected
            for s in samples.get(e.tube.id, [])
            for revision in range(1, e.tube.revision + 1)
        ],
        reason="lab result corrected",
    )
    tube_ids = [e.tube.id for e in corrected]
    session.execute(
        update(ORDERS)
        .where(ORDERS.c.source_tube_id.in_(tube_ids), ORDERS.c.status == "open")
        .values(status="cancelled", closed_at=utcnow())
    )
    return {
        (tube_id, person_id)
        for tube_id, person_id in session.execute(
            select(RetestOrder.source_tube_id, RetestOrder.person_id).where(
                RetestOrder.source_tube_id.in_(tube_ids),
                RetestOrder.status.in_(("sampled", "done")),
            )
        )
    }


def _resolve(
    session: Session,
    actor: Actor,
    by_tube: dict[uuid.UUID, Entry],
    samples: dict[uuid.UUID, list[SampleRow]],
    now: datetime,
    kept: set[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    outcomes: list[dict[str, Any]] = []
    facts: list[NewFact] = []
    orders: list[dict[str, Any]] = []
    order_updates: list[dict[str, Any]] = []
    positives: list[tuple[dict[str, Any], str | None]] = []
    for tube_id, entry in by_tube.items():
        value = entry.reading
        revision = entry.tube.revision + 1
        single = entry.tube.kind == SINGLE
        for sample in samples.get(tube_id, []):
            if value.result == "invalid" or (value.result == "positive" and not single):
                outcome = "invalid" if value.result == "invalid" else "pool_positive"
            else:
                outcome = value.result
            outcomes.append({"b_sample": sample.id, "b_outcome": outcome, "b_now": now})
            if outcome in ("negative", "positive"):
                facts.append(
                    NewFact(
                        person_id=sample.person_id,
                        kind="test_result",
                        occurred_at=sample.sampled_at,
                        value={"method": value.method, "result": outcome},
                        source_id=_source(sample.id, revision),
                    )
                )
            if sample.retest_order_id is not None:
                # An individual retest answers its order, unless it must be taken again.
                done = outcome in ("negative", "positive")
                order_updates.append(
                    {
                        "b_order": sample.retest_order_id,
                        "b_status": "done" if done else "open",
                        "b_result": outcome if done else None,
                        "b_closed": now if done else None,
                    }
                )
            elif (
                outcome in ("pool_positive", "invalid") and (tube_id, sample.person_id) not in kept
            ):
                orders.append(
                    {
                        "id": uuid.uuid4(),
                        "person_id": sample.person_id,
                        "campaign_id": sample.campaign_id,
                        "unit_code": sample.unit_code,
                        "reason": outcome,
                        "source_tube_id": tube_id,
                        "source_revision": revision,
                        "status": "open",
                        "result": None,
                        "created_at": now,
                        "closed_at": None,
                        "detail": {"barcode": entry.tube.barcode},
                    }
                )
            if outcome == "positive":
                positives.append(
                    (
                        {
                            "person_id": str(sample.person_id),
                            "sample_id": str(sample.id),
                            "tube_barcode": entry.tube.barcode,
                            "method": value.method,
                            "ct_value": value.ct_value,
                            "sampled_at": sample.sampled_at.isoformat(),
                            "tested_at": value.tested_at.isoformat(),
                            "revision": revision,
                        },
                        sample.unit_code,
                    )
                )
    if outcomes:
        session.execute(
            update(SAMPLES)
            .where(SAMPLES.c.id == bindparam("b_sample"))
            .values(outcome=bindparam("b_outcome"), outcome_at=bindparam("b_now")),
            outcomes,
        )
    if order_updates:
        session.execute(
            update(ORDERS)
            .where(ORDERS.c.id == bindparam("b_order"))
            .values(
                status=bindparam("b_status"),
                result=bindparam("b_result"),
                closed_at=bindparam("b_closed"),
            ),
            order_updates,
        )
    if orders:
        session.execute(insert(ORDERS), orders)
    # Each fact's source names the new revision: none of them can exist yet.
    record_facts(session=session, actor=actor, domain=FACTS_DOMAIN, facts=facts, fresh=True)
    events.record_many(session, POSITIVE_TOPIC, positives)
