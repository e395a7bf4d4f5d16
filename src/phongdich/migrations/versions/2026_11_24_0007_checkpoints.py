"""checkpoints: officers, stations with device tokens, versioned entry rules, transfer manifests,
notices to units, daily reports; passages gain their station, lane, verdict detail and transfer

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:17:16.614173
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_events_topic_created_at", "outbox_events", ["topic", "created_at"], unique=False
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("from_unit_code", sa.String(length=16), nullable=False),
        sa.Column("to_unit_code", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("route", sa.String(length=300), nullable=False),
        sa.Column("vehicle_plate", sa.String(length=16), nullable=False),
        sa.Column("vehicle_type", sa.String(length=16), nullable=False),
        sa.Column("travel_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_transfers_from_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["to_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_transfers_to_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("code", name=op.f("uq_transfers_code")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transfers_from_unit_code"), ["from_unit_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_transfers_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_transfers_to_unit_code"), ["to_unit_code"], unique=False
        )

    op.create_table(
        "checkpoint_daily_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("computed_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_checkpoint_daily_reports_checkpoint_id_checkpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_checkpoint_daily_reports_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoint_daily_reports")),
        sa.UniqueConstraint(
            "checkpoint_id", "day", name=op.f("uq_checkpoint_daily_reports_checkpoint_id_day")
        ),
    )
    with op.batch_alter_table("checkpoint_daily_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkpoint_daily_reports_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_checkpoint_daily_reports_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "checkpoint_stations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_checkpoint_stations_checkpoint_id_checkpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoint_stations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_checkpoint_stations_token_hash")),
    )
    with op.batch_alter_table("checkpoint_stations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkpoint_stations_checkpoint_id"), ["checkpoint_id"], unique=False
        )

    op.create_table(
        "entry_rule_sets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=True),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_entry_rule_sets_checkpoint_id_checkpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_entry_rule_sets_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_rule_sets")),
        sa.UniqueConstraint("scope", "version", name=op.f("uq_entry_rule_sets_scope_version")),
    )
    with op.batch_alter_table("entry_rule_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_rule_sets_scope"), ["scope"], unique=False)

    op.create_table(
        "transfer_members",
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("arrived_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_transfer_members_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["transfers.id"],
            name=op.f("fk_transfer_members_transfer_id_transfers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transfer_id", "person_id", name=op.f("pk_transfer_members")),
    )
    op.create_table(
        "checkpoint_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("passage_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["passage_id"],
            ["checkpoint_passages.id"],
            name=op.f("fk_checkpoint_notices_passage_id_checkpoint_passages"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_checkpoint_notices_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_checkpoint_notices_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoint_notices")),
        sa.UniqueConstraint(
            "passage_id",
            "unit_code",
            "kind",
            name=op.f("uq_checkpoint_notices_passage_id_unit_code_kind"),
        ),
    )
    with op.batch_alter_table("checkpoint_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkpoint_notices_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "checkpoint_officers",
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_checkpoint_officers_checkpoint_id_checkpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_checkpoint_officers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("checkpoint_id", "user_id", name=op.f("pk_checkpoint_officers")),
    )
    with op.batch_alter_table("checkpoint_officers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkpoint_officers_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("checkpoint_passages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("origin_zone_level", sa.SmallInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lane", sa.String(length=16), nullable=False, server_default=sa.text("'general'")
            )
        )
        batch_op.add_column(
            sa.Column(
                "credential", sa.String(length=16), nullable=False, server_default=sa.text("''")
            )
        )
        batch_op.add_column(
            sa.Column(
                "traveller", sa.String(length=64), nullable=False, server_default=sa.text("''")
            )
        )
        batch_op.add_column(
            sa.Column("reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("conditions", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column(
                "rules_scope", sa.String(length=48), nullable=False, server_default=sa.text("''")
            )
        )
        batch_op.add_column(sa.Column("rules_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "flagged", sa.String(length=200), nullable=False, server_default=sa.text("''")
            )
        )
        batch_op.add_column(sa.Column("transfer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "rapid_test", sa.String(length=8), nullable=False, server_default=sa.text("''")
            )
        )
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_checkpoint_passages_transfer_id"), ["transfer_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_checkpoint_passages_station_id_checkpoint_stations"),
            "checkpoint_stations",
            ["station_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_checkpoint_passages_transfer_id_transfers"),
            "transfers",
            ["transfer_id"],
            ["id"],
        )

    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lanes", sa.JSON(), nullable=False, server_default=sa.text("'[\"general\"]'"))
        )
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    op.drop_index("ix_outbox_events_topic_created_at", table_name="outbox_events")
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.drop_column("active")
        batch_op.drop_column("lanes")

    with op.batch_alter_table("checkpoint_passages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_checkpoint_passages_transfer_id_transfers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_checkpoint_passages_station_id_checkpoint_stations"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_checkpoint_passages_transfer_id"))
        batch_op.alter_column("person_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("rapid_test")
        batch_op.drop_column("transfer_id")
        batch_op.drop_column("flagged")
        batch_op.drop_column("rules_version")
        batch_op.drop_column("rules_scope")
        batch_op.drop_column("conditions")
        batch_op.drop_column("reasons")
        batch_op.drop_column("traveller")
        batch_op.drop_column("credential")
        batch_op.drop_column("lane")
        batch_op.drop_column("station_id")
        batch_op.drop_column("origin_zone_level")

    with op.batch_alter_table("checkpoint_officers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoint_officers_user_id"))

    op.drop_table("checkpoint_officers")
    with op.batch_alter_table("checkpoint_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoint_notices_unit_code"))

    op.drop_table("checkpoint_notices")
    op.drop_table("transfer_members")
    with op.batch_alter_table("entry_rule_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_rule_sets_scope"))

    op.drop_table("entry_rule_sets")
    with op.batch_alter_table("checkpoint_stations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoint_stations_checkpoint_id"))

    op.drop_table("checkpoint_stations")
    with op.batch_alter_table("checkpoint_daily_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoint_daily_reports_unit_code"))
        batch_op.drop_index(batch_op.f("ix_checkpoint_daily_reports_day"))

    op.drop_table("checkpoint_daily_reports")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_to_unit_code"))
        batch_op.drop_index(batch_op.f("ix_transfers_status"))
        batch_op.drop_index(batch_op.f("ix_transfers_from_unit_code"))

    op.drop_table("transfers")
