"""venues and check-ins: venues, check-in events (partitioned by day on PostgreSQL), daily
counts, remembered citizen devices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remembered_devices",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_remembered_devices_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_remembered_devices")),
    )
    with op.batch_alter_table("remembered_devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remembered_devices_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "venues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_folded", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("default_visit_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["users.id"], name=op.f("fk_venues_manager_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_venues_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
        sa.UniqueConstraint("code", name=op.f("uq_venues_code")),
    )
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venues_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_venues_manager_id"), ["manager_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_venues_name_folded"), ["name_folded"], unique=False)
        batch_op.create_index(batch_op.f("ix_venues_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_venues_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "checkin_daily_counts",
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("checkins", sa.Integer(), nullable=False),
        sa.Column("checkouts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_checkin_daily_counts_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_checkin_daily_counts_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("venue_id", "day", name=op.f("pk_checkin_daily_counts")),
    )
    with op.batch_alter_table("checkin_daily_counts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkin_daily_counts_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "checkin_events",
        sa.Column("at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("received_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_checkin_events_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_checkin_events_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("at", "id", name=op.f("pk_checkin_events")),
        postgresql_partition_by="RANGE (at)",
    )
    with op.batch_alter_table("checkin_events", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_events_person_at", ["person_id", "at"], unique=False)
        batch_op.create_index("ix_checkin_events_venue_at", ["venue_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin_events", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_events_venue_at")
        batch_op.drop_index("ix_checkin_events_person_at")

    op.drop_table("checkin_events")
    with op.batch_alter_table("checkin_daily_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_daily_counts_unit_code"))

    op.drop_table("checkin_daily_counts")
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venues_unit_code"))
        batch_op.drop_index(batch_op.f("ix_venues_status"))
        batch_op.drop_index(batch_op.f("ix_venues_name_folded"))
        batch_op.drop_index(batch_op.f("ix_venues_manager_id"))
        batch_op.drop_index(batch_op.f("ix_venues_category"))

    op.drop_table("venues")
    with op.batch_alter_table("remembered_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remembered_devices_person_id"))

    op.drop_table("remembered_devices")
