"""F0 cases, their contacts and exposures, quarantine orders, treatment, lockdowns, zone levels.

A case (F0) is opened once per infection: from a positive result (keyed on the sample, so a
re-delivered event opens nothing twice) or by an official. Tracing adds contacts (F1, F2) with
the exposures that made them contacts; every contact is followed by a quarantine order (F1) or
a monitoring order (F2) to its end. A contact who turns positive is `converted`: its case keeps
the link (`from_contact_id`), so the chain F0 → F1 → F0 stays visible.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, new_id, utcnow


class TracingPolicy(Base):
    """One published version of the tracing rules; versions are only ever added."""

    __tablename__ = "tracing_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cluster(Base):
    """An ổ dịch: cases linked by shared exposures, named after the place they met."""

    __tablename__ = "case_clusters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    place: Mapped[str] = mapped_column(String(300), default="")
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    # A cluster found to be part of another is folded into it, never deleted.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_clusters.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TreatmentFacility(Base):
    """Where cases are treated; tier 0 is home care (no beds to count)."""

    __tablename__ = "treatment_facilities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(SmallInteger)  # 0 home care, 1 mild, 2 moderate, 3 severe
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    beds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_unit_opened", "unit_code", "opened_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    # The unit answering for the case: where the person lived when it was opened.
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    # Symptom onset if known, else the first positive sample: the infectious window's anchor.
    reference_time: Mapped[datetime] = mapped_column()
    reference_kind: Mapped[str] = mapped_column(String(16))  # symptom_onset | first_positive
    source: Mapped[str] = mapped_column(String(16))  # community | quarantine | imported
    classification: Mapped[str] = mapped_column(String(16), default="confirmed")
    severity: Mapped[str] = mapped_column(String(16), default="mild")
    isolation_place: Mapped[str] = mapped_column(String(16), default="home")
    # The end of the infectious window for tracing: when the case was isolated.
    isolated_at: Mapped[datetime] = mapped_column()
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(64))
    # The positive sample that opened it: a re-delivered `result.positive` opens nothing twice.
    sample_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The contact this case was (no foreign key: contacts already point at cases).
    from_contact_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_clusters.id"), index=True)
    facility_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("treatment_facilities.id"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(16))  # recovered | deceased
    outcome_at: Mapped[datetime | None] = mapped_column()
    traced_at: Mapped[datetime | None] = mapped_column()
    policy_version: Mapped[int | None] = mapped_column(Integer)


class CaseEvent(Base):
    """The case's timeline: opened, classified, routed, traced, outcome."""

    __tablename__ = "case_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(64))


class Contact(Base):
    """A person exposed to a case: degree 1 (F1) or 2 (F2, exposed to one of its F1)."""

    __tablename__ = "case_contacts"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    degree: Mapped[int] = mapped_column(SmallInteger)
    # For an F2: the F1 through whom they were exposed (the first one found).
    via_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_contacts.id"))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    first_exposure_at: Mapped[datetime] = mapped_column()
    last_exposure_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="active")  # active|converted|closed
    converted_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    policy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Exposure(Base):
    """One reason a contact is a contact: where, when, how long, and through what."""

    __tablename__ = "case_exposures"
    __table_args__ = (UniqueConstraint("contact_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_contacts.id"), index=True)
    # What makes it the same exposure on a second run: via, place and start.
    key: Mapped[str] = mapped_column(String(120))
    via: Mapped[str] = mapped_column(String(12))  # venue | household | vehicle | declared
    # The person they were exposed to: the F0, or for an F2 the F1.
    source_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    venue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("venues.id"))
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"))
    vehicle_plate: Mapped[str] = mapped_column(String(16), default="")
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    overlap_minutes: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")


class QuarantineOrder(Base):
    """A contact's confinement (F1: quarantine) or follow-up (F2: monitoring), one per person
    at a time: a new exposure moves the dates of the open order instead of adding one."""

    __tablename__ = "quarantine_orders"
    __table_args__ = (
        Index("ix_quarantine_orders_unit_status", "unit_code", "status"),
        # One open order per person, whatever races the tracing of two cases runs into.
        Index(
            "uq_quarantine_orders_open_person",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_contacts.id"))
    kind: Mapped[str] = mapped_column(String(12))  # quarantine | monitoring
    place: Mapped[str] = mapped_column(String(12), default="home")  # home | facility | hotel
    # The commune of residence, whose team follows the order.
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    starts_at: Mapped[datetime] = mapped_column()  # the last exposure
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="active")
    # active | released | converted | ended (monitoring over) | cancelled
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str] = mapped_column(String(64), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    policy_version: Mapped[int] = mapped_column(Integer)


class ScheduledTest(Base):
    __tablename__ = "quarantine_tests"
    __table_args__ = (
        UniqueConstraint("order_id", "due_on"),
        Index("ix_quarantine_tests_due", "status", "due_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quarantine_orders.id"), index=True)
    day_number: Mapped[int] = mapped_column(SmallInteger)  # days after the last exposure
    due_on: Mapped[date] = mapped_column(Date)
    # due | done | missed (a later test came first) | cancelled (the dates moved)
    status: Mapped[str] = mapped_column(String(12), default="due")
    result: Mapped[str | None] = mapped_column(String(8))
    tested_at: Mapped[datetime | None] = mapped_column()


class HealthCheck(Base):
    """The commune team's daily visit or call: one a day per order."""

    __tablename__ = "quarantine_health_checks"
    __table_args__ = (UniqueConstraint("order_id", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quarantine_orders.id"))
    day: Mapped[date] = mapped_column(Date)
    temperature: Mapped[float | None] = mapped_column(Float)
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(300), default="")
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lockdown(Base):
    __tablename__ = "lockdowns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # The unit whose officials declared it; every area lies inside it.
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LockdownArea(Base):
    """One lockdown point: a whole unit, or a street or address inside a unit. Narrowing ends
    an area (`removed_at`) rather than deleting it, so what was closed when stays known."""

    __tablename__ = "lockdown_areas"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lockdown_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lockdowns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # unit | street | address
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    text: Mapped[str] = mapped_column(String(200), default="")
    text_folded: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()


class LockdownChange(Base):
    __tablename__ = "lockdown_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    lockdown_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lockdowns.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(12))  # declare | narrow | widen | lift
    detail: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    by: Mapped[str] = mapped_column(String(64))


class ZoneLevel(Base):
    """A unit's level for a day; an override adds a row, the latest row of the day counts."""

    __tablename__ = "zone_levels"
    __table_args__ = (Index("ix_zone_levels_unit_day", "unit_code", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"))
    day: Mapped[date] = mapped_column(Date, index=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    # None on an override of a day the levels were not computed for.
    computed_level: Mapped[int | None] = mapped_column(SmallInteger)
    new_cases_7d: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    rate_per_100k: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float | None] = mapped_column(Float)
    override_reason: Mapped[str] = mapped_column(String(300), default="")
    set_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
