"""credentials: signing, passes, revocations, trust anchors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_before", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_after", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_anchors")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_trust_anchors_fingerprint")),
    )
    with op.batch_alter_table("trust_anchors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_anchors_kid"), ["kid"], unique=False)

    op.create_table(
        "health_passes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("issued_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("revoked_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_health_passes_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_passes")),
    )
    with op.batch_alter_table("health_passes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_passes_person_expires", ["person_id", "expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_health_passes_revoked_at"), ["revoked_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_health_passes_unit_code"), ["unit_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("health_passes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_passes_unit_code"))
        batch_op.drop_index(batch_op.f("ix_health_passes_revoked_at"))
        batch_op.drop_index("ix_health_passes_person_expires")

    op.drop_table("health_passes")
    with op.batch_alter_table("trust_anchors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_anchors_kid"))

    op.drop_table("trust_anchors")
