"""Issued health passes (with their revocation) and imported foreign trust anchors.

Signing keys are not here: they live encrypted in the key directory (see `keys.py`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, new_id, utcnow


class HealthPass(Base):
    """One issued pass. Revocation is a mark on the row: a revoked pass is never un-revoked."""

    __tablename__ = "health_passes"
    __table_args__ = (Index("ix_health_passes_person_expires", "person_id", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    kid: Mapped[str] = mapped_column(String(16))  # hex of the 8-byte key id
    colour: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    unit_code: Mapped[str | None] = mapped_column(String(16), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(index=True)
    revoked_reason: Mapped[str] = mapped_column(String(200), default="")


class TrustAnchor(Base):
    """A foreign document-signer certificate (EU DCC DSC) that verifiers here accept."""

    __tablename__ = "trust_anchors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kid: Mapped[str] = mapped_column(String(16), index=True)
    country: Mapped[str] = mapped_column(String(2), default="")
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER
    not_before: Mapped[datetime] = mapped_column()
    not_after: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
