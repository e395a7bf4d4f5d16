"""foundation: admin units, persons, users, audit, outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:39:10.274271
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_units",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_folded", sa.String(length=200), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("zone_level", sa.SmallInteger(), nullable=True),
        sa.Column("updated_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["admin_units.code"],
            name=op.f("fk_admin_units_parent_code_admin_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_admin_units")),
    )
    with op.batch_alter_table("admin_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_units_name_folded"), ["name_folded"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_admin_units_parent_code"), ["parent_code"], unique=False
        )
        batch_op.create_index(
            "ix_admin_units_path",
            ["path"],
            unique=False,
            postgresql_ops={"path": "varchar_pattern_ops"},
        )

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_object_id"), ["object_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_unit_code"), ["unit_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_user_id"), ["user_id"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dispatched", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_events_pending", ["dispatched", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_events_topic"), ["topic"], unique=False)

    op.create_table(
        "event_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("handler", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_event_deliveries_event_id_outbox_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_deliveries")),
        sa.UniqueConstraint(
            "event_id", "handler", name=op.f("uq_event_deliveries_event_id_handler")
        ),
    )
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_deliveries_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "households",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_households_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("code", name=op.f("uq_households_code")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "persons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("name_folded", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("permanent_unit_code", sa.String(length=16), nullable=True),
        sa.Column("permanent_address", sa.String(length=300), nullable=False),
        sa.Column("temporary_unit_code", sa.String(length=16), nullable=True),
        sa.Column("temporary_address", sa.String(length=300), nullable=False),
        sa.Column("address_folded", sa.String(length=300), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_persons_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["persons.id"], name=op.f("fk_persons_merged_into_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["permanent_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_persons_permanent_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["temporary_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_persons_temporary_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_persons_dedupe_address",
            ["name_folded", "birth_year", "address_folded"],
            unique=False,
        )
        batch_op.create_index(
            "ix_persons_dedupe_phone", ["name_folded", "birth_year", "phone"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_persons_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_persons_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_persons_name_folded"), ["name_folded"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_persons_permanent_unit_code"), ["permanent_unit_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_persons_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_persons_temporary_unit_code"), ["temporary_unit_code"], unique=False
        )

    op.create_table(
        "identity_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_identity_documents_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_documents")),
        sa.UniqueConstraint(
            "nationality", "number", name=op.f("uq_identity_documents_nationality_number")
        ),
    )
    with op.batch_alter_table("identity_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_documents_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "person_duplicate_dismissals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_a_id", sa.Uuid(), nullable=False),
        sa.Column("person_b_id", sa.Uuid(), nullable=False),
        sa.Column("dismissed_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_a_id"],
            ["persons.id"],
            name=op.f("fk_person_duplicate_dismissals_person_a_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_b_id"],
            ["persons.id"],
            name=op.f("fk_person_duplicate_dismissals_person_b_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_duplicate_dismissals")),
        sa.UniqueConstraint(
            "person_a_id",
            "person_b_id",
            name=op.f("uq_person_duplicate_dismissals_person_a_id_person_b_id"),
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_users_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_users_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_unit_code"))
        batch_op.drop_index(batch_op.f("ix_users_person_id"))

    op.drop_table("users")
    op.drop_table("person_duplicate_dismissals")
    with op.batch_alter_table("identity_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_documents_person_id"))

    op.drop_table("identity_documents")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_temporary_unit_code"))
        batch_op.drop_index(batch_op.f("ix_persons_phone"))
        batch_op.drop_index(batch_op.f("ix_persons_permanent_unit_code"))
        batch_op.drop_index(batch_op.f("ix_persons_name_folded"))
        batch_op.drop_index(batch_op.f("ix_persons_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_persons_household_id"))
        batch_op.drop_index("ix_persons_dedupe_phone")
        batch_op.drop_index("ix_persons_dedupe_address")

    op.drop_table("persons")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_unit_code"))

    op.drop_table("households")
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_event_deliveries_due")

    op.drop_table("event_deliveries")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_topic"))
        batch_op.drop_index("ix_outbox_events_pending")

    op.drop_table("outbox_events")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_user_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_unit_code"))
        batch_op.drop_index(batch_op.f("ix_audit_log_object_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    with op.batch_alter_table("admin_units", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_units_path", postgresql_ops={"path": "varchar_pattern_ops"})
        batch_op.drop_index(batch_op.f("ix_admin_units_parent_code"))
        batch_op.drop_index(batch_op.f("ix_admin_units_name_folded"))

    op.drop_table("admin_units")
