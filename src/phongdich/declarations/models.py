"""Health declarations: one row per declaration, numbered per person, never overwritten."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, new_id, utcnow


class HealthDeclaration(Base):
    __tablename__ = "health_declarations"
    # No unique (person, version): merging two records of one person keeps both histories,
    # and a unique pair would make every such merge clash.
    __table_args__ = (Index("ix_health_declarations_person_version", "person_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    version: Mapped[int] = mapped_column(Integer)
    # The person's unit when they declared: whose officials answer for the declaration.
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    phone: Mapped[str] = mapped_column(String(16))
    address_unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"))
    address: Mapped[str] = mapped_column(String(300), default="")
    symptoms: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_with_case: Mapped[bool] = mapped_column(Boolean, default=False)
    travelled_from_unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    # The zone level the unit had when the person declared; zone levels change every week.
    travelled_from_zone_level: Mapped[int | None] = mapped_column(SmallInteger)
    destination_unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"))
    destination: Mapped[str] = mapped_column(String(300), default="")
    travel_reason: Mapped[str] = mapped_column(String(300), default="")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
