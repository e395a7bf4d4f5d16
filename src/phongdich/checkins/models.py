"""Check-in events, append-only, and their daily counts.

One row per scan in either direction; a visit is an `in` paired with the person's next `out`
at the same venue (see `presence.py`). Rows are only ever inserted (in bulk) and purged by
retention, so retries, late and out-of-order events need no updates.

The primary key starts with the time: inserts append to the end of the index, retention
deletes a range, and on PostgreSQL the table is partitioned by day on that column.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, utcnow


class CheckinEvent(Base):
    __tablename__ = "checkin_events"
    __table_args__ = (
        Index("ix_checkin_events_venue_at", "venue_id", "at"),
        Index("ix_checkin_events_person_at", "person_id", "at"),
        {"postgresql_partition_by": "RANGE (at)"},
    )

    at: Mapped[datetime] = mapped_column(primary_key=True)
    # Made by the device (or derived from the paper row): a re-sent event is recognised.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    source: Mapped[str] = mapped_column(String(8))  # phone | staff | device | paper
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckinDailyCount(Base):
    """Scans per venue per local day, kept after the events themselves are purged."""

    __tablename__ = "checkin_daily_counts"

    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    checkins: Mapped[int] = mapped_column(Integer, default=0)
    checkouts: Mapped[int] = mapped_column(Integer, default=0)
