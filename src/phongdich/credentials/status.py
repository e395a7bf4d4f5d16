"""A person's colour status (green / yellow / red) and the reasons for it, from health facts.

The facts (doses, test results, cases, isolation, quarantine) are recorded here by the domains
that know them (testing, vaccination, cases import this module: they are higher); the colour
rules are data, versioned, per province.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from phongdich import events
from phongdich.adminunits.models import AdminUnit
from phongdich.auth import audit
from phongdich.auth.actor import Actor
from phongdich.auth.roles import Permission, Role
from phongdich.credentials import rules as colour_rules
from phongdich.db import Base, new_id, utcnow
from phongdich.errors import Forbidden, Invalid, NotFound
from phongdich.persons.models import Person
from phongdich.persons.service import get_person

COLOURS = ("green", "yellow", "red")
STATUS_CHANGED = "health.status_changed"
# Publishing rules is a provincial decision: province officers for their province, national
# admins for any province and for the default.
RULE_PUBLISHERS = frozenset({Role.NATIONAL_ADMIN, Role.PROVINCE_OFFICER})


@dataclass(frozen=True)
class Status:
    """What a health pass carries: the colour and why, in words (English message ids)."""

    colour: str
    reasons: tuple[str, ...]
    rules_version: int
    evaluated_at: datetime
    # The latest of each fact a checkpoint's entry rules ask about (EVIDENCE keys -> time):
    # carried in the pass, so a station offline can apply "vaccinated ≥ 14 days" itself.
    evidence: Mapping[str, datetime] = field(default_factory=dict)


class HealthFact(Base):
    """One thing that happened to a person's health, as the domain that knows it reported it.

    `source` (domain + id in that domain) is unique: a result re-delivered by a retried handler
    or a re-sent batch is recorded once.
    """

    __tablename__ = "health_facts"
    __table_args__ = (
        UniqueConstraint("source_domain", "source_id"),
        Index("ix_health_facts_person_time", "person_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column()
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_domain: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


HEALTH_FACTS: Table = HealthFact.__table__  # type: ignore[assignment]  # for bulk inserts


class ColourRuleSet(Base):
    """One published version of a province's colour rules (province null: the default).

    Versions are only ever added; a health pass names the version it was coloured by.
    """

    __tablename__ = "colour_rule_sets"
    __table_args__ = (UniqueConstraint("province_code", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Facts


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise Invalid(field, "a time with its zone, such as 2021-09-01T08:00:00+07:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # within hours of year 1 or 9999: no UTC time to store
        raise Invalid(field, "a time between the years 1 and 9999 in UTC") from None


def current_person(session: Session, person_id: uuid.UUID) -> Person:
    """The person, or the record a merge folded them into: facts follow the survivor."""
    person = session.get(Person, person_id)
    for _ in range(10):  # merge chains are short; the bound guards against a corrupt loop
        if person is None or person.merged_into_id is None:
            break
        person = session.get(Person, person.merged_into_id)
    if person is None:
        raise NotFound("person", person_id)
    return person


def record_fact(
    *,
    session: Session,
    actor: Actor,
    person_id: uuid.UUID,
    kind: str,
    occurred_at: datetime,
    value: Mapping[str, object] | None = None,
    source: tuple[str, str] | None = None,
) -> tuple[HealthFact, bool]:
    """Record a fact once per source and announce `health.status_changed`; (fact, created).

    The calling domain has already decided the actor may report this (a lab's result, a
    vaccinator's dose); officials' manual entries go through `record_manual_fact`.
    """
    kind = colour_rules.check_kind(kind, "kind")
    checked = colour_rules.check_value(kind, value)
    occurred_at = _aware(occurred_at, "occurred_at")
    domain, source_id = source or ("manual", str(new_id()))
    if not domain or len(domain) > 32:
        raise Invalid("source", "the recording domain: 1-32 characters")
    if not source_id or len(source_id) > 64:
        raise Invalid("source_id", "1-64 characters")
    existing = _by_source(session, domain, source_id)
    if existing is not None:
        return existing, False
    person = current_person(session, person_id)
    fact = HealthFact(
        person_id=person.id,
        kind=kind,
        occurred_at=occurred_at,
        value=checked,
        source_domain=domain,
        source_id=source_id,
        recorded_by=actor.username[:64],
    )
    try:
        with session.begin_nested():
            session.add(fact)
            session.flush()
    except IntegrityError:
        # Another transaction recorded the same source between our look and our insert.
        raced = _by_source(session, domain, source_id)
        if raced is None:
            raise
        return raced, False
    audit.record(
        session, actor, "create", "health_fact", fact.id, unit_code=person.unit_code, detail=kind
    )
    events.record(
        session, STATUS_CHANGED, {"person_id": str(person.id)}, unit_code=person.unit_code
    )
    return fact, True


def _by_source(session: Session, domain: str, source_id: str) -> HealthFact | None:
    return session.scalar(
        select(HealthFact).where(
            HealthFact.source_domain == domain, HealthFact.source_id == source_id
        )
    )


@dataclass(frozen=True)
class NewFact:
    """A fact for `record_facts`: already checked by the domain that reports it."""

    person_id: uuid.UUID
    kind: str
    occurred_at: datetime
    value: Mapping[str, object]
    source_id: str


def _existing_sources(session: Session, domain: str, source_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(source_ids), 5000):
        part = source_ids[start : start + 5000]
        found.update(
            session.scalars(
                select(HealthFact.source_id).where(
                    HealthFact.source_domain == domain, HealthFact.source_id.in_(part)
                )
            )
        )
    return found


def record_facts(
    *,
    session: Session,
    actor: Actor,
    domain: str,
    facts: Sequence[NewFact],
    fresh: bool = False,
) -> int:
    """Record many facts of one domain at once (a lab's import); each source once. Returns how
    many were new. The people changed are announced in batches; the caller audits the batch.

    `fresh`: the caller knows no fact of these sources exists (their ids are new), so they are
    not looked up; the unique source still refuses a duplicate.
    """
    for fact in facts:
        colour_rules.check_kind(fact.kind, "kind")
    known = set() if fresh else _existing_sources(session, domain, [f.source_id for f in facts])
    rows: dict[str, dict[str, object]] = {}
    now = utcnow()
    recorded_by = actor.username[:64]
    for fact in facts:
        if fact.source_id in known or fact.source_id in rows:
            continue
        rows[fact.source_id] = {
            "id": uuid.uuid4(),
            "person_id": fact.person_id,
            "kind": fact.kind,
            "occurred_at": _aware(fact.occurred_at, "occurred_at"),
            "value": colour_rules.check_value(fact.kind, fact.value),
            "source_domain": domain,
            "source_id": fact.source_id,
            "recorded_by": recorded_by,
            "created_at": now,
        }
    if not rows:
        return 0
    session.execute(insert(HEALTH_FACTS), list(rows.values()))
    _announce(session, {r["person_id"] for r in rows.values()})  # type: ignore[misc]
    return len(rows)


def withdraw_facts(
    *, session: Session, actor: Actor, domain: str, source_ids: Sequence[str], reason: str
) -> int:
    """Take back facts a domain reported in error (a corrected lab result); audited, announced."""
    withdrawn: list[tuple[uuid.UUID, uuid.UUID]] = []
    for start in range(0, len(source_ids), 5000):
        part = list(source_ids[start : start + 5000])
        withdrawn.extend(
            (fid, pid)
            for fid, pid in session.execute(
                select(HealthFact.id, HealthFact.person_id).where(
                    HealthFact.source_domain == domain, HealthFact.source_id.in_(part)
                )
            )
        )
        session.execute(
            delete(HealthFact).where(
                HealthFact.source_domain == domain, HealthFact.source_id.in_(part)
            )
        )
    for fact_id, _ in withdrawn:
        audit.record(session, actor, "withdraw", "health_fact", fact_id, detail=reason[:200])
    _announce(session, {pid for _, pid in withdrawn})
    return len(withdrawn)


# People per bulk `health.status_changed` event: a lab's import changes thousands at once, and
# one delivery per person would keep the worker busy for hours.
ANNOUNCE_BATCH = 1000


def _announce(session: Session, person_ids: set[uuid.UUID]) -> None:
    """`health.status_changed` for these people, in events of up to ANNOUNCE_BATCH of them
    (payload `person_ids`; a single fact's event carries `person_id`)."""
    ordered = sorted(str(pid) for pid in person_ids)
    events.record_many(
        session,
        STATUS_CHANGED,
        [
            ({"person_ids": ordered[start : start + ANNOUNCE_BATCH]}, None)
            for start in range(0, len(ordered), ANNOUNCE_BATCH)
        ],
    )


def record_manual_fact(
    *,
    session: Session,
    actor: Actor,
    person_id: uuid.UUID,
    kind: str,
    occurred_at: datetime,
    value: Mapping[str, object] | None = None,
    source_id: str | None = None,
) -> tuple[HealthFact, bool]:
    """An official enters a fact by hand, for a person in their jurisdiction."""
    actor.require(Permission.PERSONS_WRITE)
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    return record_fact(
        session=session,
        actor=actor,
        person_id=person.id,
        kind=kind,
        occurred_at=occurred_at,
        value=value,
        source=("manual", source_id) if source_id else None,
    )


def facts_of(*, session: Session, person_id: uuid.UUID) -> Sequence[HealthFact]:
    return session.scalars(
        select(HealthFact)
        .where(HealthFact.person_id == person_id)
        .order_by(HealthFact.occurred_at, HealthFact.id)
    ).all()


# Rule sets


def _latest(session: Session, province_code: str | None) -> ColourRuleSet | None:
    scope = (
        ColourRuleSet.province_code.is_(None)
        if province_code is None
        else ColourRuleSet.province_code == province_code
    )
    return session.scalars(
        select(ColourRuleSet).where(scope).order_by(ColourRuleSet.version.desc()).limit(1)
    ).first()


def default_rules(*, session: Session) -> ColourRuleSet:
    """The newest default rule set; the shipped one is installed as version 1 on first use."""
    current = _latest(session, None)
    if current is None:
        current = ColourRuleSet(
            province_code=None,
            version=1,
            rules=colour_rules.validate_rules(colour_rules.DEFAULT_RULES),
            created_by="system",
        )
        session.add(current)
        session.flush()
    return current


def rules_for_unit(*, session: Session, unit_code: str | None) -> ColourRuleSet:
    """The newest rule set of the unit's province (the top of its path), else the default."""
    if unit_code is not None:
        path = session.scalar(select(AdminUnit.path).where(AdminUnit.code == unit_code))
        if path is not None:
            own = _latest(session, path.split("/")[0])
            if own is not None:
                return own
    return default_rules(session=session)


def _province(session: Session, code: str | None) -> str | None:
    if code is None or not code.strip():
        return None
    unit = session.get(AdminUnit, code.strip())
    if unit is None or unit.parent_code is not None:
        raise Invalid("province", "the code of a province (a unit at the top of the tree)")
    return unit.code


def publish_rules(
    *, session: Session, actor: Actor, province_code: str | None, rules: object
) -> ColourRuleSet:
    """A new version for a province (or the default); earlier versions stay as they were."""
    if actor.role not in RULE_PUBLISHERS:
        raise Forbidden("only province officers and national admins publish colour rules")
    province = _province(session, province_code)
    if not actor.nationwide and (province is None or actor.unit_path != province):
        raise Invalid("province", "only your own province's rules")
    checked = colour_rules.validate_rules(rules)
    if province is None:
        default_rules(session=session)  # the shipped version 1 stays the first
    latest = session.scalar(
        select(func.max(ColourRuleSet.version)).where(
            ColourRuleSet.province_code.is_(None)
            if province is None
            else ColourRuleSet.province_code == province
        )
    )
    rule_set = ColourRuleSet(
        province_code=province,
        version=(latest or 0) + 1,
        rules=checked,
        created_by=actor.username[:64],
    )
    session.add(rule_set)
    session.flush()
    audit.record(
        session,
        actor,
        "publish",
        "colour_rules",
        rule_set.id,
        unit_code=province,
        detail=f"version={rule_set.version}",
    )
    return rule_set


def list_rules(*, session: Session, province_code: str | None) -> Sequence[ColourRuleSet]:
    """Every version for the province (or the default), newest first."""
    province = _province(session, province_code)
    if province is None:
        default_rules(session=session)
    scope = (
        ColourRuleSet.province_code.is_(None)
        if province is None
        else ColourRuleSet.province_code == province
    )
    return session.scalars(
        select(ColourRuleSet).where(scope).order_by(ColourRuleSet.version.desc())
    ).all()


# Status


def status_for(*, session: Session, person_id: uuid.UUID, at: datetime) -> Status:
    """Evaluate the person's province rules (or the default) over their facts at `at`."""
    at = _aware(at, "at")
    person = current_person(session, person_id)
    rule_set = rules_for_unit(session=session, unit_code=person.unit_code)
    facts = [
        colour_rules.Fact(f.kind, f.occurred_at, f.value or {})
        for f in facts_of(session=session, person_id=person.id)
    ]
    home = session.get(AdminUnit, person.unit_code) if person.unit_code else None
    rule = colour_rules.evaluate(rule_set.rules, facts, at, home.zone_level if home else None)
    return Status(
        colour=str(rule["colour"]),
        reasons=(str(rule["reason"]),),
        rules_version=rule_set.version,
        evaluated_at=at,
        evidence=evidence_of(facts, at),
    )


# What a pass carries for entry rules: the latest full vaccination, negative PCR, negative
# rapid test and recovery, as of the pass's issue.
EVIDENCE = ("vaccinated", "pcr_negative", "rapid_negative", "recovered")


def evidence_of(facts: Sequence[colour_rules.Fact], at: datetime) -> dict[str, datetime]:
    found: dict[str, datetime] = {}

    def keep(name: str, when: datetime) -> None:
        if when <= at and (name not in found or when > found[name]):
            found[name] = when

    for fact in facts:
        value = fact.value
        if fact.kind == "vaccination_dose" and value.get("full_course") is True:
            keep("vaccinated", fact.occurred_at)
        elif fact.kind == "test_result" and value.get("result") == "negative":
            keep(
                "pcr_negative" if value.get("method") == "pcr" else "rapid_negative",
                fact.occurred_at,
            )
        elif fact.kind == "case_recovered":
            keep("recovered", fact.occurred_at)
    return found


def person_status(*, session: Session, actor: Actor, person_id: uuid.UUID) -> Status:
    """An official looks at a person's colour: jurisdiction-scoped and audited."""
    person = get_person(session=session, actor=actor, person_id=person_id, audit_read=False)
    audit.record(session, actor, "read", "health_status", person.id, unit_code=person.unit_code)
    return status_for(session=session, person_id=person.id, at=utcnow())
