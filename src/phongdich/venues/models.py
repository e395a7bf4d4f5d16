"""Registered venues. A venue's people are never stored here: check-ins hold who came."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, new_id, utcnow


class Venue(Base):
    __tablename__ = "venues"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # What the poster's QR carries: short, so the code stays coarse enough to scan from afar.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    # How long a visit lasts when nobody checks out (tracing uses it).
    default_visit_minutes: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str] = mapped_column(String(64), default="")
