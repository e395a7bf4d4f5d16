"""declarations: health declarations, health facts, colour rules

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_facts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("source_domain", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_health_facts_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_facts")),
        sa.UniqueConstraint(
            "source_domain", "source_id", name=op.f("uq_health_facts_source_domain_source_id")
        ),
    )
    with op.batch_alter_table("health_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_facts_person_time", ["person_id", "occurred_at"], unique=False
        )

    op.create_table(
        "colour_rule_sets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("province_code", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["admin_units.code"],
            name=op.f("fk_colour_rule_sets_province_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colour_rule_sets")),
        sa.UniqueConstraint(
            "province_code", "version", name=op.f("uq_colour_rule_sets_province_code_version")
        ),
    )
    with op.batch_alter_table("colour_rule_sets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_colour_rule_sets_province_code"), ["province_code"], unique=False
        )

    op.create_table(
        "health_declarations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("address_unit_code", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("contact_with_case", sa.Boolean(), nullable=False),
        sa.Column("travelled_from_unit_code", sa.String(length=16), nullable=True),
        sa.Column("travelled_from_zone_level", sa.SmallInteger(), nullable=True),
        sa.Column("destination_unit_code", sa.String(length=16), nullable=True),
        sa.Column("destination", sa.String(length=300), nullable=False),
        sa.Column("travel_reason", sa.String(length=300), nullable=False),
        sa.Column("submitted_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["address_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_health_declarations_address_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["destination_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_health_declarations_destination_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_health_declarations_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["travelled_from_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_health_declarations_travelled_from_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_health_declarations_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_declarations")),
    )
    with op.batch_alter_table("health_declarations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_declarations_person_version", ["person_id", "version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_health_declarations_unit_code"), ["unit_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("health_declarations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_declarations_unit_code"))
        batch_op.drop_index("ix_health_declarations_person_version")
    op.drop_table("health_declarations")
    with op.batch_alter_table("colour_rule_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_colour_rule_sets_province_code"))
    op.drop_table("colour_rule_sets")
    with op.batch_alter_table("health_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_health_facts_person_time")
    op.drop_table("health_facts")
