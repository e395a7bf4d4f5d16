"""Checkpoints (chốt kiểm soát) and the passages through them.

A passage is one person crossing one checkpoint. People crossing in one vehicle share a
`group_id`: a later F0 among them makes the others contacts. Passages are append-only and made
on the station with a device UUID, so a re-sent batch is recognised.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Passage(Base):
    __tablename__ = "checkpoint_passages"
    __table_args__ = (
        Index("ix_checkpoint_passages_person_at", "person_id", "at"),
        Index("ix_checkpoint_passages_checkpoint_at", "checkpoint_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made by the station
    at: Mapped[datetime] = mapped_column()
    checkpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checkpoints.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    # One vehicle's crossing: everyone in it shares the id (None: on foot).
    group_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    vehicle_plate: Mapped[str] = mapped_column(String(16), default="")
    vehicle_type: Mapped[str] = mapped_column(String(16), default="")
    origin_unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    destination_unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    verdict: Mapped[str] = mapped_column(String(16), default="pass")
    officer: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
