"""Campaigns, sites, tubes and the people sampled into them, shipments, labs, results, retests.

A tube (ống nghiệm) is named by its printed barcode and holds one person's swab (single) or a
pool of several. Who is in a tube is a `Sample` row per person; a sample's `outcome` is that
person's result as far as it is known: a negative pool makes every member negative, a positive
pool leaves every member waiting for an individual retest (Dorfman's second stage).
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
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, new_id, utcnow


class Lab(Base):
    __tablename__ = "labs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    # Tubes a day the lab can test; warnings come before it is exceeded.
    daily_capacity: Mapped[int] = mapped_column(Integer)
    methods: Mapped[list[str]] = mapped_column(JSON)  # pcr, rapid_antigen
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """A screening campaign: target units (or a list of people), dates, method, pool size."""

    __tablename__ = "testing_campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The unit that runs it: its officials manage it; every target lies inside it.
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # pcr | rapid_antigen
    max_pool_size: Mapped[int] = mapped_column(SmallInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # Residents whose address holds this text (a street), folded; empty: every resident.
    address_contains: Mapped[str] = mapped_column(String(200), default="")
    # "residents" of the target units, or an uploaded "list" (a factory's workers).
    population: Mapped[str] = mapped_column(String(16), default="residents")
    current_round: Mapped[int] = mapped_column(SmallInteger, default=1)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | closed
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignUnit(Base):
    __tablename__ = "testing_campaign_units"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("testing_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), primary_key=True)


class CampaignPerson(Base):
    """One person of a campaign's uploaded list."""

    __tablename__ = "testing_campaign_people"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("testing_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)


class SamplingSite(Base):
    __tablename__ = "sampling_sites"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("testing_campaigns.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteStaff(Base):
    """A sampling team member assigned to a site."""

    __tablename__ = "sampling_site_staff"

    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sampling_sites.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Shipment(Base):
    __tablename__ = "testing_shipments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    lab_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labs.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime | None] = mapped_column()
    received_by: Mapped[str] = mapped_column(String(64), default="")
    # Barcodes the lab scanned that were not in the shipment.
    extra_barcodes: Mapped[list[str]] = mapped_column(JSON, default=list)


class Tube(Base):
    __tablename__ = "testing_tubes"
    __table_args__ = (Index("ix_testing_tubes_lab_status", "lab_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    barcode: Mapped[str] = mapped_column(String(40), unique=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testing_campaigns.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sampling_sites.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    round: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(8))  # single | pool
    # open → closed → shipped → received → resulted
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column()
    shipment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("testing_shipments.id"), index=True
    )
    lab_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("labs.id"))
    received_at: Mapped[datetime | None] = mapped_column()
    # The current result (the latest revision), copied here for lists and counts.
    result: Mapped[str | None] = mapped_column(String(8))  # negative | positive | invalid
    result_revision: Mapped[int] = mapped_column(SmallInteger, default=0)
    resulted_at: Mapped[datetime | None] = mapped_column()


class Sample(Base):
    """A person's swab in a tube; the id is made by the sampling device, so re-sends are known."""

    __tablename__ = "testing_samples"
    __table_args__ = (
        Index("ix_testing_samples_campaign_person", "campaign_id", "person_id", "round"),
        # One screening swab per person and round, even when two phones send them at once.
        Index(
            "uq_testing_samples_round_person",
            "campaign_id",
            "round",
            "person_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL AND retest_order_id IS NULL"),
            postgresql_where=text("removed_at IS NULL AND retest_order_id IS NULL"),
        ),
        Index("ix_testing_samples_unit_outcome", "unit_code", "outcome"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tube_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testing_tubes.id"), index=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testing_campaigns.id"))
    round: Mapped[int] = mapped_column(SmallInteger)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    # The person's unit when sampled: jurisdiction and the per-unit progress.
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    # The individual retest this sample answers, if it is one.
    retest_order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("testing_retest_orders.id"), index=True
    )
    sampled_at: Mapped[datetime] = mapped_column()
    sampled_by: Mapped[str] = mapped_column(String(64))
    removed_at: Mapped[datetime | None] = mapped_column()  # a wrong scan undone on the spot
    # negative | positive | invalid | pool_positive; null while waiting.
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None] = mapped_column()


class TubeResult(Base):
    """One revision of a tube's result. Revisions are only added: a correction says who and why."""

    __tablename__ = "testing_tube_results"
    __table_args__ = (UniqueConstraint("tube_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tube_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testing_tubes.id"))
    revision: Mapped[int] = mapped_column(SmallInteger)
    lab_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("labs.id"), index=True)
    result: Mapped[str] = mapped_column(String(8))
    ct_value: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))
    tested_at: Mapped[datetime] = mapped_column()
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(8))  # form | import | api
    reason: Mapped[str] = mapped_column(String(300), default="")  # why it was corrected


class RetestOrder(Base):
    """An individual retest (positive pool) or a re-sampling (invalid tube) for one person."""

    __tablename__ = "testing_retest_orders"
    __table_args__ = (
        UniqueConstraint("source_tube_id", "person_id", "source_revision"),
        Index("ix_testing_retest_orders_unit_status", "unit_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testing_campaigns.id"), index=True)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    reason: Mapped[str] = mapped_column(String(16))  # pool_positive | invalid
    source_tube_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("testing_tubes.id"))
    source_revision: Mapped[int] = mapped_column(SmallInteger)
    # open → sampled → done; cancelled when the result that made it is corrected
    status: Mapped[str] = mapped_column(String(12), default="open")
    result: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
