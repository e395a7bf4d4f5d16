"""testing: labs, screening campaigns, sampling sites and teams, tubes, samples, shipments,
result revisions, retest orders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_labs_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labs")),
        sa.UniqueConstraint("code", name=op.f("uq_labs_code")),
    )
    with op.batch_alter_table("labs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labs_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "testing_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("max_pool_size", sa.SmallInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("address_contains", sa.String(length=200), nullable=False),
        sa.Column("population", sa.String(length=16), nullable=False),
        sa.Column("current_round", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_testing_campaigns_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_campaigns")),
        sa.UniqueConstraint("code", name=op.f("uq_testing_campaigns_code")),
    )
    with op.batch_alter_table("testing_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testing_campaigns_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "sampling_sites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testing_campaigns.id"],
            name=op.f("fk_sampling_sites_campaign_id_testing_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_sampling_sites_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_sites")),
        sa.UniqueConstraint("campaign_id", "code", name=op.f("uq_sampling_sites_campaign_id_code")),
    )
    with op.batch_alter_table("sampling_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sampling_sites_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sampling_sites_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "testing_campaign_units",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testing_campaigns.id"],
            name=op.f("fk_testing_campaign_units_campaign_id_testing_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_testing_campaign_units_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "unit_code", name=op.f("pk_testing_campaign_units")),
    )
    op.create_table(
        "testing_shipments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("lab_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("sent_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("extra_barcodes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lab_id"], ["labs.id"], name=op.f("fk_testing_shipments_lab_id_labs")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_testing_shipments_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_shipments")),
        sa.UniqueConstraint("code", name=op.f("uq_testing_shipments_code")),
    )
    with op.batch_alter_table("testing_shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_testing_shipments_lab_id"), ["lab_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_testing_shipments_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "testing_campaign_people",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testing_campaigns.id"],
            name=op.f("fk_testing_campaign_people_campaign_id_testing_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_testing_campaign_people_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_testing_campaign_people_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "person_id", name=op.f("pk_testing_campaign_people")
        ),
    )
    with op.batch_alter_table("testing_campaign_people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testing_campaign_people_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "testing_tubes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("barcode", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("opened_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("closed_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipment_id", sa.Uuid(), nullable=True),
        sa.Column("lab_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=8), nullable=True),
        sa.Column("result_revision", sa.SmallInteger(), nullable=False),
        sa.Column("resulted_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testing_campaigns.id"],
            name=op.f("fk_testing_tubes_campaign_id_testing_campaigns"),
        ),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"], name=op.f("fk_testing_tubes_lab_id_labs")),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["testing_shipments.id"],
            name=op.f("fk_testing_tubes_shipment_id_testing_shipments"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sampling_sites.id"], name=op.f("fk_testing_tubes_site_id_sampling_sites")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_testing_tubes_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_tubes")),
        sa.UniqueConstraint("barcode", name=op.f("uq_testing_tubes_barcode")),
    )
    with op.batch_alter_table("testing_tubes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testing_tubes_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index("ix_testing_tubes_lab_status", ["lab_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_testing_tubes_shipment_id"), ["shipment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_testing_tubes_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_testing_tubes_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "sampling_site_staff",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sampling_sites.id"],
            name=op.f("fk_sampling_site_staff_site_id_sampling_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sampling_site_staff_user_id_users")
        ),
        sa.PrimaryKeyConstraint("site_id", "user_id", name=op.f("pk_sampling_site_staff")),
    )
    op.create_table(
        "testing_retest_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("source_tube_id", sa.Uuid(), nullable=False),
        sa.Column("source_revision", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testing_campaigns.id"],
            name=op.f("fk_testing_retest_orders_campaign_id_testing_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_testing_retest_orders_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["source_tube_id"],
            ["testing_tubes.id"],
            name=op.f("fk_testing_retest_orders_source_tube_id_testing_tubes"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_testing_retest_orders_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_retest_orders")),
        sa.UniqueConstraint(
            "source_tube_id",
            "person_id",
            "source_revision",
            name=op.f("uq_testing_retest_orders_source_tube_id_person_id_source_revision"),
        ),
    )
    with op.batch_alter_table("testing_retest_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testing_retest_orders_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_testing_retest_orders_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_testing_retest_orders_unit_status", ["unit_code", "status"], unique=False
        )

    op.create_table(
        "testing_tube_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tube_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.SmallInteger(), nullable=False),
        sa.Column("lab_id", sa.Uuid(), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("ct_value", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("tested_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["lab_id"], ["labs.id"], name=op.f("fk_testing_tube_results_lab_id_labs")
        ),
        sa.ForeignKeyConstraint(
            ["tube_id"],
            ["testing_tubes.id"],
            name=op.f("fk_testing_tube_results_tube_id_testing_tubes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_tube_results")),
        sa.UniqueConstraint(
            "tube_id", "revision", name=op.f("uq_testing_tube_results_tube_id_revision")
        ),
    )
    with op.batch_alter_table("testing_tube_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testing_tube_results_lab_id"), ["lab_id"], unique=False
        )

    op.create_table(
        "testing_samples",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tube_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("retest_order_id", sa.Uuid(), nullable=True),
        sa.Column("sampled_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sampled_by", sa.String(length=64), nullable=False),
        sa.Column("removed_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testing_campaigns.id"],
            name=op.f("fk_testing_samples_campaign_id_testing_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_testing_samples_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["retest_order_id"],
            ["testing_retest_orders.id"],
            name=op.f("fk_testing_samples_retest_order_id_testing_retest_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tube_id"], ["testing_tubes.id"], name=op.f("fk_testing_samples_tube_id_testing_tubes")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_testing_samples_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testing_samples")),
    )
    with op.batch_alter_table("testing_samples", schema=None) as batch_op:
        batch_op.create_index(
            "ix_testing_samples_campaign_person",
            ["campaign_id", "person_id", "round"],
            unique=False,
        )
        batch_op.create_index(
            "uq_testing_samples_round_person",
            ["campaign_id", "round", "person_id"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL AND retest_order_id IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL AND retest_order_id IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_testing_samples_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_testing_samples_retest_order_id"), ["retest_order_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_testing_samples_tube_id"), ["tube_id"], unique=False)
        batch_op.create_index(
            "ix_testing_samples_unit_outcome", ["unit_code", "outcome"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("testing_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_testing_samples_unit_outcome")
        batch_op.drop_index(batch_op.f("ix_testing_samples_tube_id"))
        batch_op.drop_index(batch_op.f("ix_testing_samples_retest_order_id"))
        batch_op.drop_index(batch_op.f("ix_testing_samples_person_id"))
        batch_op.drop_index(
            "uq_testing_samples_round_person",
            sqlite_where=sa.text("removed_at IS NULL AND retest_order_id IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL AND retest_order_id IS NULL"),
        )
        batch_op.drop_index("ix_testing_samples_campaign_person")

    op.drop_table("testing_samples")
    with op.batch_alter_table("testing_tube_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testing_tube_results_lab_id"))

    op.drop_table("testing_tube_results")
    with op.batch_alter_table("testing_retest_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_testing_retest_orders_unit_status")
        batch_op.drop_index(batch_op.f("ix_testing_retest_orders_person_id"))
        batch_op.drop_index(batch_op.f("ix_testing_retest_orders_campaign_id"))

    op.drop_table("testing_retest_orders")
    op.drop_table("sampling_site_staff")
    with op.batch_alter_table("testing_tubes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testing_tubes_unit_code"))
        batch_op.drop_index(batch_op.f("ix_testing_tubes_site_id"))
        batch_op.drop_index(batch_op.f("ix_testing_tubes_shipment_id"))
        batch_op.drop_index("ix_testing_tubes_lab_status")
        batch_op.drop_index(batch_op.f("ix_testing_tubes_campaign_id"))

    op.drop_table("testing_tubes")
    with op.batch_alter_table("testing_campaign_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testing_campaign_people_unit_code"))

    op.drop_table("testing_campaign_people")
    with op.batch_alter_table("testing_shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testing_shipments_unit_code"))
        batch_op.drop_index(batch_op.f("ix_testing_shipments_lab_id"))

    op.drop_table("testing_shipments")
    op.drop_table("testing_campaign_units")
    with op.batch_alter_table("sampling_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sampling_sites_unit_code"))
        batch_op.drop_index(batch_op.f("ix_sampling_sites_campaign_id"))

    op.drop_table("sampling_sites")
    with op.batch_alter_table("testing_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testing_campaigns_unit_code"))

    op.drop_table("testing_campaigns")
    with op.batch_alter_table("labs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labs_unit_code"))

    op.drop_table("labs")
