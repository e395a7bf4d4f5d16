"""Lab results: entered per tube or imported from the lab machine's CSV, corrected with a reason,
and resolved onto the people in the tube.

Resolution is Dorfman's scheme: a negative pool makes every member negative; a positive pool
orders an individual retest for every member; an invalid tube orders re-sampling. A single
tube's result is its person's result. Individual results become health facts (they colour the
next personal pass), and each individual positive emits `result.positive`.

Everything goes through `_apply`, in bulk: one tube typed at the lab's desk and a million rows
of a machine's export take the same path.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.config import Settings
from phongdich.credentials.status import NewFact, record_facts, withdraw_facts
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.importing import ImportReport, read_source, rows
from phongdich.testing import campaigns, labs
from phongdich.testing.models import Lab, RetestOrder, Sample, Tube, TubeResult
from phongdich.testing.sampling import RECEIVED, RESULTED, SHIPPED, SINGLE, barcode, find_tube
from phongdich.text import fold
from phongdich.web.reasons import N_

POSITIVE_TOPIC = "result.positive"
CORRECTED_TOPIC = "result.corrected"
RESULTS = ("negative", "positive", "invalid")
_RESULT_ALIASES = {
    "neg": "negative",
    "am tinh": "negative",
    "pos": "positive",
    "duong tinh": "positive",
    "khong xac dinh": "invalid",
    "inconclusive": "invalid",
}
MAX_CT = 50.0
COLUMNS = ("tube_barcode", "result", "ct_value", "method", "tested_at")
CHUNK = 5000
FACTS_DOMAIN = "testing"
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


def parse_result(value: str, field: str = "result") -> str:
    key = fold(value or "").replace("_", " ")
    key = _RESULT_ALIASES.get(key, key)
    if key not in RESULTS:
        raise Invalid(field, "negative | positive | invalid")
    return key


def parse_ct(value: float | str | None, field: str = "ct_value") -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value.replace(",", ".") if isinstance(value, str) else value)
    except ValueError:
        raise Invalid(field, "a number such as 24.5") from None
    if not math.isfinite(number) or not 0 < number <= MAX_CT:
        raise Invalid(field, f"a cycle threshold above 0 and at most {MAX_CT:g}")
    return round(number, 2)


def parse_time(value: datetime | str, field: str, now: datetime) -> datetime:
    """A zone-less time is the lab's local time (lab machines export it that way)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(field, "a time such as 2021-09-13T14:30:00+07:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=Settings().tz)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise Invalid(field, "a time between the years 1 and 9999") from None
    if value > now + timedelta(minutes=10):
        raise Invalid(field, N_("in the future"))
    return value


def reading(
    result: str, ct_value: float | str | None, method: str, tested_at: datetime | str, now: datetime
) -> Reading:
    checked = parse_result(result)
    ct = parse_ct(ct_value)
    if checked == "invalid":
        ct = None
    return Reading(checked, ct, campaigns.method(method), parse_time(tested_at, "tested_at", now))


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


_TUBE_COLUMNS = (
    Tube.id,
    Tube.barcode,
    Tube.lab_id,
    Tube.status,
    Tube.kind,
    Tube.campaign_id,
    Tube.result_revision,
    Tube.opened_at,
)


def _tubes(session: Session, codes: Sequence[str]) -> dict[str, TubeRow]:
    found: dict[str, TubeRow] = {}
    for start in range(0, len(codes), CHUNK):
        part = codes[start : start + CHUNK]
        for row in session.execute(select(*_TUBE_COLUMNS).where(Tube.barcode.in_(part))):
            found[row[1]] = TubeRow(*row)
    return found


def _current(session: Session, tube_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Reading]:
    """The current reading of tubes that have one (their latest revision)."""
    found: dict[uuid.UUID, Reading] = {}
    for start in range(0, len(tube_ids), CHUNK):
        part = tube_ids[start : start + CHUNK]
        for tube_id, result, ct, method, tested_at in session.execute(
            select(
                TubeResult.tube_id,
                TubeResult.result,
                TubeResult.ct_value,
                TubeResult.method,
                TubeResult.tested_at,
            )
            .join(Tube, Tube.id == TubeResult.tube_id)
            .where(TubeResult.tube_id.in_(part), TubeResult.revision == Tube.result_revision)
        ):
            found[tube_id] = Reading(result, ct, method, tested_at)
    return found


def _check_tube(tube: TubeRow | None, lab: Lab, code: str) -> TubeRow:
    if tube is None:
        raise Invalid("tube_barcode", f"no tube {code}")
    if tube.lab_id != lab.id:
        raise Invalid("tube_barcode", N_("this tube was not sent to this lab"))
    if tube.status not in (SHIPPED, RECEIVED, RESULTED):
        raise Invalid("tube_barcode", N_("this tube has not been sent yet"))
    return tube


def _check_method(lab: Lab, value: Reading) -> None:
    if value.method not in lab.methods:
        raise Invalid("method", f"lab {lab.code} does not run {value.method}")


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


def _apply(session: Session, actor: Actor, lab: Lab, entries: Sequence[Entry]) -> None:
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


# Entry points


def enter_result(
    *,
    session: Session,
    actor: Actor,
    code: str,
    value: Reading,
    source: str = "form",
) -> tuple[Tube, bool]:
    """One tube's result; the same result again changes nothing, a different one is refused
    (it is a correction, which needs a reason)."""
    actor.require(Permission.TESTING_LAB)
    tube_code = barcode(code, "barcode")
    found = find_tube(session, tube_code)
    if found is None or found.lab_id is None or not labs.works_at(session, actor, found.lab_id):
        raise NotFound("tube", tube_code)
    lab = session.get_one(Lab, found.lab_id)
    tube = _check_tube(_tubes(session, [tube_code]).get(tube_code), lab, tube_code)
    _check_method(lab, value)
    if value.tested_at < tube.opened_at:
        raise Invalid("tested_at", N_("before the tube was sampled"))
    if tube.revision > 0:
        current = _current(session, [tube.id])[tube.id]
        if current.same_as(value):
            return found, False
        raise Conflict(
            f"tube {tube_code} already has a result ({current.result}); a correction needs a reason"
        )
    _apply(session, actor, lab, [Entry(tube, value, source)])
    return session.get_one(Tube, tube.id), True


def correct_result(
    *, session: Session, actor: Actor, code: str, value: Reading, reason: str
) -> Tube:
    """A new revision of a tube's result; the earlier ones stay, with who entered each."""
    actor.require(Permission.TESTING_LAB)
    tube_code = barcode(code, "barcode")
    found = find_tube(session, tube_code)
    if found is None or found.lab_id is None or not labs.works_at(session, actor, found.lab_id):
        raise NotFound("tube", tube_code)
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise Invalid("reason", N_("say why the result changes"))
    lab = session.get_one(Lab, found.lab_id)
    tube = _check_tube(_tubes(session, [tube_code]).get(tube_code), lab, tube_code)
    _check_method(lab, value)
    if value.tested_at < tube.opened_at:
        raise Invalid("tested_at", N_("before the tube was sampled"))
    if tube.revision == 0:
        raise Invalid("barcode", N_("this tube has no result to correct"))
    previous = _current(session, [tube.id])[tube.id]
    if previous.same_as(value):
        raise Invalid("result", N_("the same as the current result: nothing to correct"))
    _apply(session, actor, lab, [Entry(tube, value, "form", reason, previous)])
    return session.get_one(Tube, tube.id)


def history(session: Session, tube: Tube) -> Sequence[TubeResult]:
    return session.scalars(
        select(TubeResult).where(TubeResult.tube_id == tube.id).order_by(TubeResult.revision)
    ).all()


def import_results(
    *, session: Session, actor: Actor, lab_code: str, source: bytes | str | Path
) -> ImportReport:
    """The lab machine's CSV (`tube_barcode,result,ct_value,method,tested_at`), row by row.

    Good rows are stored, bad rows reported by line; a row identical to the stored result is
    unchanged, so importing the same file again adds nothing.
    """
    lab = labs.lab_for_staff(session=session, actor=actor, code=lab_code)
    report = ImportReport()
    now = utcnow()
    seen: dict[str, tuple[int, Reading]] = {}
    pending: list[tuple[int, str, Reading]] = []
    repeats: list[tuple[int, int]] = []  # (line, the earlier line it repeats)

    def flush() -> None:
        _import_chunk(session, actor, lab, pending, report)
        pending.clear()

    text = read_source(source)
    for line, row in rows(text, required=("tube_barcode", "result", "tested_at"), optional=COLUMNS):
        try:
            code = barcode(row["tube_barcode"], "tube_barcode")
            value = reading(
                row["result"],
                row.get("ct_value"),
                row.get("method") or "pcr",
                row["tested_at"],
                now,
            )
            _check_method(lab, value)
        except Invalid as exc:
            report.error(line, exc.field, exc.reason)
            continue
        earlier = seen.get(code)
        if earlier is not None:
            if earlier[1].same_as(value):
                repeats.append((line, earlier[0]))
            else:
                report.error(line, "tube_barcode", f"a different result on line {earlier[0]}")
            continue
        seen[code] = (line, value)
        pending.append((line, code, value))
        if len(pending) >= CHUNK:
            flush()
    flush()
    # A repeated row shares its earlier row's fate: unchanged if that was stored, else its error.
    rejected = {e.line: e for e in report.errors}
    for line, first in repeats:
        if first in rejected:
            report.error(line, rejected[first].field, rejected[first].reason)
        else:
            report.unchanged += 1
    report.errors.sort(key=lambda e: e.line)
    audit.record(
        session,
        actor,
        "import",
        "lab_results",
        lab.id,
        unit_code=lab.unit_code,
        detail=(
            f"created={report.created} unchanged={report.unchanged} rejected={len(report.errors)}"
        ),
    )
    return report


def _import_chunk(
    session: Session,
    actor: Actor,
    lab: Lab,
    pending: Sequence[tuple[int, str, Reading]],
    report: ImportReport,
) -> None:
    if not pending:
        return
    tubes = _tubes(session, [code for _, code, _ in pending])
    current = _current(session, [t.id for t in tubes.values() if t.revision > 0])
    entries: list[Entry] = []
    for line, code, value in pending:
        try:
            tube = _check_tube(tubes.get(code), lab, code)
            if value.tested_at < tube.opened_at:
                raise Invalid("tested_at", N_("before the tube was sampled"))
        except Invalid as exc:
            report.error(line, exc.field, exc.reason)
            continue
        stored = current.get(tube.id)
        if stored is not None:
            if stored.same_as(value):
                report.unchanged += 1
            else:
                report.error(
                    line,
                    "result",
                    N_("the tube already has a different result: correct it with a reason"),
                )
            continue
        entries.append(Entry(tube, value, "import"))
    _apply(session, actor, lab, entries)
    report.created += len(entries)
