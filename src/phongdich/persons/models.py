"""People, their identity documents and households."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phongdich.db import Base, new_id, utcnow


class Household(Base):
    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_dedupe_phone", "name_folded", "birth_year", "phone"),
        Index("ix_persons_dedupe_address", "name_folded", "birth_year", "address_folded"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    full_name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    # Many older records know only the year; birth_year is always set, birth_date when known.
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(8))  # male | female
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    nationality: Mapped[str] = mapped_column(String(3), default="VNM")
    permanent_unit_code: Mapped[str | None] = mapped_column(
        ForeignKey("admin_units.code"), index=True
    )
    permanent_address: Mapped[str] = mapped_column(String(300), default="")
    temporary_unit_code: Mapped[str | None] = mapped_column(
        ForeignKey("admin_units.code"), index=True
    )
    temporary_address: Mapped[str] = mapped_column(String(300), default="")
    # Folded current address (temporary if any, else permanent): a de-duplication key.
    address_folded: Mapped[str] = mapped_column(String(300), default="")
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"), index=True)
    # A merged duplicate stays as a tombstone pointing at the record that absorbed it.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    documents: Mapped[list[IdentityDocument]] = relationship(
        back_populates="person", order_by="IdentityDocument.created_at", lazy="selectin"
    )
    household: Mapped[Household | None] = relationship(lazy="joined")

    @property
    def household_code(self) -> str | None:
        return self.household.code if self.household else None

    @property
    def unit_code(self) -> str | None:
        """The unit whose officials answer for this person: where they live now."""
        return self.temporary_unit_code or self.permanent_unit_code

    @property
    def main_document(self) -> IdentityDocument | None:
        for kind in ("cccd", "passport", "cmnd"):
            for document in self.documents:
                if document.kind == kind:
                    return document
        return None


class IdentityDocument(Base):
    """CCCD, CMND or passport. One number (per issuing country) belongs to one person."""

    __tablename__ = "identity_documents"
    __table_args__ = (UniqueConstraint("nationality", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # cccd | cmnd | passport
    number: Mapped[str] = mapped_column(String(20))
    nationality: Mapped[str] = mapped_column(String(3), default="VNM")
    issued_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="documents")


class DuplicateDismissal(Base):
    """An official said these two records are different people: stop listing the pair."""

    __tablename__ = "person_duplicate_dismissals"
    __table_args__ = (UniqueConstraint("person_a_id", "person_b_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    person_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    dismissed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
