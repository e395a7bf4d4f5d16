"""The server's side of a station: the bundle it works offline from, and the passages it sends.

A batch is idempotent by passage id (made on the station), so a station killed after the server
stored a batch but before it marked the batch sent simply sends it again. Each passage names
what the traveller showed; the server resolves it to a person (a pass to its holder, a CCCD
card to its owner, registering them if new) and records what follows from it: arrival on a
manifest, the driver lane's rapid test as a health fact, notices to the units concerned.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from phongdich import events
from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import system_actor
from phongdich.checkpoints import rulesets, transfers
from phongdich.checkpoints.entry_rules import VERDICTS
from phongdich.checkpoints.models import (
    Checkpoint,
    CheckpointNotice,
    Passage,
    Transfer,
    TransferMember,
)
from phongdich.checkpoints.passages import DIRECTIONS, PASSAGES
from phongdich.checkpoints.registry import StationContext, officers_of
from phongdich.credentials import passes, trust
from phongdich.credentials.keys import KeyRing
from phongdich.credentials.models import HealthPass
from phongdich.credentials.status import NewFact, current_person, record_facts
from phongdich.db import utcnow
from phongdich.errors import Invalid
from phongdich.persons.documents import parse_cccd_qr, parse_document
from phongdich.persons.models import Person
from phongdich.persons.service import document_owner
from phongdich.text import plate as text_plate
from phongdich.web.reasons import N_

MAX_BATCH = 1000
CREDENTIALS = ("pass", "cccd", "eu-dcc", "invitation", "transfer", "document", "none")
RAPID_RESULTS = ("", "negative", "positive")
RECEIVED = "checkpoint.passages_received"
RAPID_POSITIVE = "checkpoint.rapid_positive"


def bundle(session: Session, context: StationContext, keys: KeyRing, today: Any) -> dict[str, Any]:
    """Everything a station needs offline: its checkpoint, the trust and revocation lists,
    the entry rules, the unit tree with zone levels, and the manifests around today."""
    checkpoint = context.checkpoint
    unit = session.get(AdminUnit, checkpoint.unit_code)
    province = unit.path.split("/")[0] if unit else checkpoint.unit_code
    now = utcnow()
    revoked = [
        {"pass_id": str(row.id), "revoked_at": row.revoked_at.isoformat()}
        for row in passes.revocations_since(session, None)
        if row.revoked_at is not None and row.expires_at > now
    ]
    units = [
        [code, name, parent, level, zone]
        for code, name, parent, level, zone in session.execute(
            select(
                AdminUnit.code,
                AdminUnit.name,
                AdminUnit.parent_code,
                AdminUnit.level,
                AdminUnit.zone_level,
            ).order_by(AdminUnit.code)
        ).all()
    ]
    return {
        "generated_at": now.isoformat(),
        "station": {"id": str(context.station.id), "label": context.station.label},
        "checkpoint": {
            "code": checkpoint.code,
            "name": checkpoint.name,
            "unit_code": checkpoint.unit_code,
            "province_code": province,
            "road": checkpoint.road,
            "lanes": list(checkpoint.lanes),
        },
        "officers": [user.username for user in officers_of(session, checkpoint)],
        "trust_list": trust.trust_list(session, keys),
        "revocations": {"generated_at": now.isoformat(), "revoked": revoked},
        "rule_sets": rulesets.for_station(session, checkpoint),
        "units": units,
        "transfers": transfers.for_station(session, province, today, keys),
    }


@dataclass(frozen=True)
class StationPassage:
    """One passage as the station queued it (see `schemas.StationPassageInput`)."""

    id: uuid.UUID
    at: datetime
    direction: str = "in"
    lane: str = "general"
    group_id: uuid.UUID | None = None
    vehicle_plate: str = ""
    vehicle_type: str = ""
    origin_unit_code: str | None = None
    destination_unit_code: str | None = None
    origin_zone_level: int | None = None
    reason: str = ""
    verdict: str = "pass"
    reasons: Sequence[str] = ()
    conditions: Sequence[str] = ()
    rules_scope: str = ""
    rules_version: int | None = None
    officer: str = ""
    flagged: str = ""
    credential: str = "none"
    pass_id: uuid.UUID | None = None
    card: str | None = None  # the CCCD card's QR text
    document_number: str | None = None  # typed by the officer
    traveller: str = ""
    transfer_id: uuid.UUID | None = None
    rapid_test: str = ""


@dataclass
class Received:
    stored: int = 0
    already: int = 0
    notices: int = 0
    unresolved: list[str] = field(default_factory=list)


# A station offline for weeks still syncs; a clock decades off is a broken clock.
OLDEST = timedelta(days=60)
AHEAD = timedelta(days=1)


def check_time(value: datetime, field: str, now: datetime) -> datetime:
    """A station's time in UTC, within OLDEST before and AHEAD after the server's now."""
    if value.tzinfo is None:
        raise Invalid(field, "a time with its UTC offset")
    try:
        at = value.astimezone(UTC)
    except OverflowError:
        at = None
    if at is None or not now - OLDEST <= at <= now + AHEAD:
        raise Invalid(field, "within the last 60 days (is the station's clock right?)")
    return at


def _check(index: int, passage: StationPassage, now: datetime) -> None:
    where = f"passages.{index}"
    if passage.direction not in DIRECTIONS:
        raise Invalid(f"{where}.direction", "in or out")
    if passage.verdict not in VERDICTS:
        raise Invalid(f"{where}.verdict", "pass, conditional or turn_back")
    if passage.credential not in CREDENTIALS:
        raise Invalid(f"{where}.credential", "one of " + ", ".join(CREDENTIALS))
    if passage.rapid_test not in RAPID_RESULTS:
        raise Invalid(f"{where}.rapid_test", "negative or positive")
    check_time(passage.at, f"{where}.at", now)


def _resolve_people(
    session: Session, passages: Sequence[StationPassage]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """Passage id -> person id, in few reads: passes by id, cards and numbers by document.

    A checkpoint registers nobody: a card or number not in the registry leaves the passage
    with its traveller's initials only (the report counts them as unresolved)."""
    pass_ids = {p.pass_id for p in passages if p.pass_id is not None}
    holders = (
        dict(
            session.execute(
                select(HealthPass.id, HealthPass.person_id).where(HealthPass.id.in_(pass_ids))
            ).all()
        )
        if pass_ids
        else {}
    )
    found: dict[uuid.UUID, uuid.UUID | None] = {}
    for passage in passages:
        person_id: uuid.UUID | None = None
        if passage.pass_id is not None:
            person_id = holders.get(passage.pass_id)
        else:
            number: str | None = passage.document_number
            if passage.card:
                try:
                    number = parse_cccd_qr(passage.card).number
                except Invalid:
                    number = None
            if number:
                try:
                    owner = document_owner(session, parse_document(number))
                except Invalid:
                    owner = None
                person_id = owner.id if owner is not None else None
        found[passage.id] = person_id
    # A merged record's passages go to the survivor. (Merged rows are picked out here rather
    # than in SQL: beside an IN list SQLite would scan the merged_into_id index instead.)
    resolved = sorted({p for p in found.values() if p is not None})
    merged: set[uuid.UUID] = set()
    for first in range(0, len(resolved), 500):
        merged.update(
            person_id
            for person_id, into in session.execute(
                select(Person.id, Person.merged_into_id).where(
                    Person.id.in_(resolved[first : first + 500])
                )
            ).all()
            if into is not None
        )
    survivors = {p: current_person(session, p).id for p in merged}
    return {key: survivors.get(p, p) if p else None for key, p in found.items()}


def _notice(
    session: Session,
    unit_code: str | None,
    kind: str,
    passage_id: uuid.UUID,
    person_id: uuid.UUID | None,
    message: str,
) -> int:
    if unit_code is None:
        return 0
    exists = session.scalar(
        select(CheckpointNotice.id).where(
            CheckpointNotice.passage_id == passage_id,
            CheckpointNotice.unit_code == unit_code,
            CheckpointNotice.kind == kind,
        )
    )
    if exists is not None:
        return 0
    session.add(
        CheckpointNotice(
            unit_code=unit_code,
            kind=kind,
            passage_id=passage_id,
            person_id=person_id,
            message=message[:300],
        )
    )
    return 1


def _person_unit(session: Session, person_id: uuid.UUID | None) -> str | None:
    person = session.get(Person, person_id) if person_id else None
    return person.unit_code if person is not None else None


def receive(
    *, session: Session, context: StationContext, passages: Sequence[StationPassage]
) -> Received:
    """Store a station's batch once; see the module docstring for what follows from it."""
    if len(passages) > MAX_BATCH:
        raise Invalid("passages", f"at most {MAX_BATCH} in one batch")
    checkpoint: Checkpoint = context.checkpoint
    codes = {
        code
        for p in passages
        for code in (p.origin_unit_code, p.destination_unit_code)
        if code is not None
    }
    units = (
        set(session.scalars(select(AdminUnit.code).where(AdminUnit.code.in_(codes))))
        if codes
        else set()
    )
    now = utcnow()
    unique: dict[uuid.UUID, StationPassage] = {}
    for index, passage in enumerate(passages):
        _check(index, passage, now)
        unique.setdefault(passage.id, passage)
    result = Received()
    known = (
        set(session.scalars(select(Passage.id).where(Passage.id.in_(list(unique)))))
        if unique
        else set()
    )
    fresh = [p for key, p in unique.items() if key not in known]
    result.already = len(passages) - len(fresh)
    context.station.last_sync_at = utcnow()
    if not fresh:
        return result
    people = _resolve_people(session, fresh)
    transfer_ids = {p.transfer_id for p in fresh if p.transfer_id is not None}
    known_transfers = (
        set(session.scalars(select(Transfer.id).where(Transfer.id.in_(transfer_ids))))
        if transfer_ids
        else set()
    )
    session.execute(
        insert(PASSAGES),
        [
            {
                "id": p.id,
                "at": p.at.astimezone(UTC),
                "checkpoint_id": checkpoint.id,
                "station_id": context.station.id,
                "person_id": people[p.id],
                "direction": p.direction,
                "lane": p.lane[:16],
                "group_id": p.group_id,
                "vehicle_plate": text_plate(p.vehicle_plate),
                "vehicle_type": p.vehicle_type[:16],
                "origin_unit_code": p.origin_unit_code if p.origin_unit_code in units else None,
                "destination_unit_code": p.destination_unit_code
                if p.destination_unit_code in units
                else None,
                "origin_zone_level": p.origin_zone_level,
                "reason": p.reason[:200],
                "verdict": p.verdict,
                "reasons": [r[:200] for r in p.reasons][:10],
                "conditions": [c[:200] for c in p.conditions][:10],
                "rules_scope": p.rules_scope[:48],
                "rules_version": p.rules_version,
                "officer": (p.officer or context.actor.username)[:64],
                "flagged": p.flagged[:200],
                "credential": p.credential,
                "traveller": p.traveller[:64],
                "transfer_id": p.transfer_id if p.transfer_id in known_transfers else None,
                "rapid_test": p.rapid_test,
            }
            for p in fresh
        ],
    )
    result.stored = len(fresh)
    result.unresolved = [str(p.id) for p in fresh if people[p.id] is None]
    _arrivals(session, fresh, people, known_transfers)
    result.notices = _follow_up(session, context, fresh, people)
    days = sorted({p.at.astimezone(UTC).date().isoformat() for p in fresh})
    events.record(
        session,
        RECEIVED,
        {"checkpoint_id": str(checkpoint.id), "days": days},
        unit_code=checkpoint.unit_code,
    )
    audit.record(
        session,
        context.actor,
        "create",
        "passages",
        checkpoint.id,
        unit_code=checkpoint.unit_code,
        detail=f"{result.stored} passages from station {context.station.id}",
    )
    return result


def _arrivals(
    session: Session,
    fresh: Sequence[StationPassage],
    people: dict[uuid.UUID, uuid.UUID | None],
    known_transfers: set[uuid.UUID],
) -> None:
    for passage in fresh:
        person_id = people[passage.id]
        if passage.transfer_id in known_transfers and person_id is not None:
            session.execute(
                update(TransferMember)
                .where(
                    TransferMember.transfer_id == passage.transfer_id,
                    TransferMember.person_id == person_id,
                    TransferMember.arrived_at.is_(None),
                )
                .values(arrived_at=passage.at)
            )


@dataclass(frozen=True)
class RapidTest:
    """The lane's rapid test for a passage, sent after it (the driver has driven on)."""

    passage_id: uuid.UUID
    result: str
    at: datetime


def _rapid(
    session: Session,
    context: StationContext,
    passage: StationPassage | Passage,
    person_id: uuid.UUID | None,
    result: str,
    at: datetime,
) -> tuple[int, NewFact | None]:
    """Notices for a rapid test (the destination always; on a positive also the origin and
    the home unit, at once) and the health fact the driver's pass will show."""
    where = context.checkpoint.name
    destination = passage.destination_unit_code
    message = (
        f"{N_('Rapid test at the checkpoint')} {where}: {result}; "
        f"{passage.traveller} {passage.vehicle_plate}"
    ).strip()
    kind = f"rapid_{result}"
    notices = _notice(session, destination, kind, passage.id, person_id, message)
    if result == "positive":
        for unit in {passage.origin_unit_code, _person_unit(session, person_id)}:
            if unit != destination:
                notices += _notice(session, unit, kind, passage.id, person_id, message)
        events.record(
            session,
            RAPID_POSITIVE,
            {
                "passage_id": str(passage.id),
                "person_id": str(person_id) if person_id else None,
                "checkpoint_id": str(context.checkpoint.id),
            },
            unit_code=destination or context.checkpoint.unit_code,
        )
    fact = (
        NewFact(
            person_id=person_id,
            kind="test_result",
            occurred_at=at,
            value={"method": "rapid_antigen", "result": result},
            source_id=f"{passage.id}:{result}",
        )
        if person_id is not None
        else None
    )
    return notices, fact


def _record_facts(session: Session, context: StationContext, facts: list[NewFact]) -> None:
    if facts:
        record_facts(
            session=session,
            actor=system_actor(f"checkpoint {context.checkpoint.code}"),
            domain="checkpoints",
            facts=facts,
        )


def _follow_up(
    session: Session,
    context: StationContext,
    fresh: Sequence[StationPassage],
    people: dict[uuid.UUID, uuid.UUID | None],
) -> int:
    """Rapid tests taken before the crossing, and flagged groups, become notices."""
    notices = 0
    facts: list[NewFact] = []
    for passage in fresh:
        person_id = people[passage.id]
        if passage.rapid_test:
            count, fact = _rapid(
                session, context, passage, person_id, passage.rapid_test, passage.at
            )
            notices += count
            if fact is not None:
                facts.append(fact)
        if passage.flagged:
            message = f"{context.checkpoint.name}: {passage.flagged} {passage.vehicle_plate}"
            notices += _notice(
                session,
                passage.destination_unit_code or context.checkpoint.unit_code,
                "flagged",
                passage.id,
                person_id,
                message.strip(),
            )
    _record_facts(session, context, facts)
    session.flush()
    return notices


def receive_rapid_tests(
    *, session: Session, context: StationContext, tests: Sequence[RapidTest]
) -> tuple[int, list[uuid.UUID]]:
    """Attach results to this checkpoint's passages; the same result sent twice is one.

    Returns the notices made and the passages skipped: not found here, or with a time out of
    range (so one bad result never holds back the others)."""
    if len(tests) > MAX_BATCH:
        raise Invalid("tests", f"at most {MAX_BATCH} in one batch")
    now = utcnow()
    out_of_range: set[uuid.UUID] = set()
    for index, test in enumerate(tests):
        if test.result not in ("negative", "positive"):
            raise Invalid(f"tests.{index}.result", "negative or positive")
        try:
            check_time(test.at, f"tests.{index}.at", now)
        except Invalid:
            out_of_range.add(test.passage_id)  # skipped like an unknown passage
    tests = [t for t in tests if t.passage_id not in out_of_range]
    ids = [t.passage_id for t in tests]
    rows = {
        row.id: row
        for row in session.scalars(
            select(Passage).where(
                Passage.id.in_(ids), Passage.checkpoint_id == context.checkpoint.id
            )
        )
    }
    unknown = [t.passage_id for t in tests if t.passage_id not in rows] + sorted(out_of_range)
    notices = 0
    facts: list[NewFact] = []
    for test in tests:
        row = rows.get(test.passage_id)
        if row is None or row.rapid_test == test.result:
            continue
        row.rapid_test = test.result
        count, fact = _rapid(session, context, row, row.person_id, test.result, test.at)
        notices += count
        if fact is not None:
            facts.append(fact)
    _record_facts(session, context, facts)
    session.flush()
    if rows:
        events.record(
            session,
            RECEIVED,
            {
                "checkpoint_id": str(context.checkpoint.id),
                "days": sorted({r.at.astimezone(UTC).date().isoformat() for r in rows.values()}),
            },
            unit_code=context.checkpoint.unit_code,
        )
    return notices, unknown
