"""Checkpoints (chốt kiểm soát), their stations, entry rules, passages, transfers and reports.

A passage is one person crossing one checkpoint. People crossing in one vehicle share a
`group_id`: a later F0 among them makes the others contacts. Passages are append-only and made
on the station with a device UUID, so a re-sent batch is recognised.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, new_id, utcnow


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The unit whose gateway it is (province, district or commune).
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    road: Mapped[str] = mapped_column(String(200), default="")
    # Lanes the checkpoint runs, e.g. ["general", "driver"] (the long-haul drivers' rapid tests).
    lanes: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["general"])
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckpointOfficer(Base):
    """A user who staffs the checkpoint; the station records them as each passage's officer."""

    __tablename__ = "checkpoint_officers"

    checkpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Station(Base):
    """A checkpoint's computer: it holds a device token (only its hash is kept here)."""

    __tablename__ = "checkpoint_stations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    last_sync_at: Mapped[datetime | None] = mapped_column()


class EntryRuleSet(Base):
    """One published version of the entry rules of a checkpoint, of a destination unit, or the
    default (both None). Versions are never edited: a change publishes the next one."""

    __tablename__ = "entry_rule_sets"
    __table_args__ = (UniqueConstraint("scope", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # "default", "checkpoint:<code>" or "unit:<code>": one sequence of versions per scope.
    scope: Mapped[str] = mapped_column(String(48), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checkpoint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("checkpoints.id"))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(300), default="")
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class Passage(Base):
    __tablename__ = "checkpoint_passages"
    __table_args__ = (
        Index("ix_checkpoint_passages_person_at", "person_id", "at"),
        Index("ix_checkpoint_passages_checkpoint_at", "checkpoint_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made by the station
    at: Mapped[datetime] = mapped_column()
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkpoints.id"))
    # None for a traveller known only by a foreign certificate (EU DCC): `traveller` names them.
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    # One vehicle's crossing: everyone in it shares the id (None: on foot).
    group_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    vehicle_plate: Mapped[str] = mapped_column(String(16), default="")
    vehicle_type: Mapped[str] = mapped_column(String(16), default="")
    origin_unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    destination_unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    # The origin's zone level as the station saw it at the crossing (levels change daily).
    origin_zone_level: Mapped[int | None] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(String(200), default="")
    verdict: Mapped[str] = mapped_column(String(16), default="pass")
    officer: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    station_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("checkpoint_stations.id"))
    lane: Mapped[str] = mapped_column(String(16), default="general")
    # What was shown: pass | cccd | eu-dcc | invitation | transfer | document | none
    credential: Mapped[str] = mapped_column(String(16), default="")
    traveller: Mapped[str] = mapped_column(String(64), default="")  # initials, birth year
    # The verdict's reasons and conditions, as English message ids (shown translated).
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    rules_scope: Mapped[str] = mapped_column(String(48), default="")
    rules_version: Mapped[int | None] = mapped_column(Integer)
    flagged: Mapped[str] = mapped_column(String(200), default="")  # why, when flagged
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("transfers.id"), index=True)
    rapid_test: Mapped[str] = mapped_column(String(8), default="")  # negative | positive


class Transfer(Base):
    """A manifest of people moved between provinces (continued quarantine, workers, patients),
    filed by the sending unit and accepted or refused by the receiving unit."""

    __tablename__ = "transfers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    from_unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    to_unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(String(300), default="")
    vehicle_plate: Mapped[str] = mapped_column(String(16), default="")
    vehicle_type: Mapped[str] = mapped_column(String(16), default="")
    travel_date: Mapped[date] = mapped_column()
    # pending | accepted | refused | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str] = mapped_column(String(300), default="")


class TransferMember(Base):
    __tablename__ = "transfer_members"

    transfer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    arrived_at: Mapped[datetime | None] = mapped_column()


class CheckpointNotice(Base):
    """Something a unit must act on from a checkpoint: a driver's rapid test result, a group
    flagged at the gate. Shown on the unit's checkpoint pages until read."""

    __tablename__ = "checkpoint_notices"
    __table_args__ = (UniqueConstraint("passage_id", "unit_code", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # rapid_negative | rapid_positive | flagged
    passage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkpoint_passages.id"))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    message: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
    read_by: Mapped[str] = mapped_column(String(64), default="")


class DailyReport(Base):
    """One checkpoint's day, aggregated once the day is over (and recomputed when late
    passages arrive): the figures are JSON, so the report can grow without migrations."""

    __tablename__ = "checkpoint_daily_reports"
    __table_args__ = (UniqueConstraint("checkpoint_id", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkpoints.id"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
