"""Lab results: entered per tube or imported from the lab machine's CSV, corrected with a reason,
and resolved onto the people in the tube.

The resolution itself (Dorfman's scheme, facts, retest orders, events) is `resolution.apply`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission
from phongdich.config import Settings
from phongdich.db import utcnow
from phongdich.errors import Conflict, Invalid, NotFound
from phongdich.importing import ImportReport, read_source, rows
from phongdich.testing import campaigns, labs
from phongdich.testing.models import Lab, Tube, TubeResult
from phongdich.testing.resolution import CHUNK, TUBE_COLUMNS, Entry, Reading, TubeRow, apply
from phongdich.testing.sampling import RECEIVED, RESULTED, SHIPPED, barcode, find_tube
from phongdich.text import fold
from phongdich.web.reasons import N_

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


def _tubes(session: Session, codes: Sequence[str]) -> dict[str, TubeRow]:
    found: dict[str, TubeRow] = {}
    for start in range(0, len(codes), CHUNK):
        part = codes[start : start + CHUNK]
        for row in session.execute(select(*TUBE_COLUMNS).where(Tube.barcode.in_(part))):
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
    apply(session, actor, lab, [Entry(tube, value, source)])
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
    apply(session, actor, lab, [Entry(tube, value, "form", reason, previous)])
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
    apply(session, actor, lab, entries)
    report.created += len(entries)
