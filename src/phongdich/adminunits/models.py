"""Administrative units: a tree of any depth with a materialised path for subtree queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from phongdich.db import Base, utcnow


class AdminUnit(Base):
    __tablename__ = "admin_units"
    # Subtree queries are `path LIKE 'prefix/%'`: PostgreSQL needs pattern ops to use the index.
    __table_args__ = (
        Index("ix_admin_units_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Name without diacritics, lower-case: what people type on a keyboard without Telex.
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("admin_units.code", ondelete="RESTRICT"), index=True
    )
    # "01/001/00001": the codes from the root; a subtree is a path prefix.
    path: Mapped[str] = mapped_column(String(400))
    population: Mapped[int | None] = mapped_column(Integer)
    zone_level: Mapped[int | None] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
