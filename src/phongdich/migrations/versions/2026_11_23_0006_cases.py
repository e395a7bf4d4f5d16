"""cases: checkpoints and passages, F0 cases, contacts and exposures, quarantine orders with
scheduled tests and daily checks, treatment facilities, lockdowns, zone levels, clusters

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 22:48:18.404006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import phongdich.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracing_policies",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_tracing_policies")),
    )
    op.create_table(
        "case_clusters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["case_clusters.id"],
            name=op.f("fk_case_clusters_merged_into_id_case_clusters"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_case_clusters_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_clusters")),
        sa.UniqueConstraint("code", name=op.f("uq_case_clusters_code")),
    )
    with op.batch_alter_table("case_clusters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_clusters_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("road", sa.String(length=200), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_checkpoints_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("code", name=op.f("uq_checkpoints_code")),
    )
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkpoints_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "treatment_facilities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=True),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_treatment_facilities_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_facilities")),
        sa.UniqueConstraint("code", name=op.f("uq_treatment_facilities_code")),
    )
    with op.batch_alter_table("treatment_facilities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_facilities_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "zone_levels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("computed_level", sa.SmallInteger(), nullable=True),
        sa.Column("new_cases_7d", sa.Integer(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("rate_per_100k", sa.Float(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("override_reason", sa.String(length=300), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_zone_levels_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone_levels")),
    )
    with op.batch_alter_table("zone_levels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zone_levels_day"), ["day"], unique=False)
        batch_op.create_index("ix_zone_levels_unit_day", ["unit_code", "day"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("reference_time", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reference_kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("isolation_place", sa.String(length=16), nullable=False),
        sa.Column("isolated_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("sample_id", sa.String(length=64), nullable=True),
        sa.Column("from_contact_id", sa.Uuid(), nullable=True),
        sa.Column("cluster_id", sa.Uuid(), nullable=True),
        sa.Column("facility_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("traced_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["case_clusters.id"], name=op.f("fk_cases_cluster_id_case_clusters")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["treatment_facilities.id"],
            name=op.f("fk_cases_facility_id_treatment_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_cases_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_cases_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("code", name=op.f("uq_cases_code")),
        sa.UniqueConstraint("sample_id", name=op.f("uq_cases_sample_id")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_facility_id"), ["facility_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_from_contact_id"), ["from_contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_cases_unit_opened", ["unit_code", "opened_at"], unique=False)

    op.create_table(
        "checkpoint_passages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checkpoint_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("vehicle_plate", sa.String(length=16), nullable=False),
        sa.Column("vehicle_type", sa.String(length=16), nullable=False),
        sa.Column("origin_unit_code", sa.String(length=16), nullable=True),
        sa.Column("destination_unit_code", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("officer", sa.String(length=64), nullable=False),
        sa.Column("received_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_checkpoint_passages_checkpoint_id_checkpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["destination_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_checkpoint_passages_destination_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["origin_unit_code"],
            ["admin_units.code"],
            name=op.f("fk_checkpoint_passages_origin_unit_code_admin_units"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_checkpoint_passages_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoint_passages")),
    )
    with op.batch_alter_table("checkpoint_passages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkpoint_passages_checkpoint_at", ["checkpoint_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_checkpoint_passages_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index("ix_checkpoint_passages_person_at", ["person_id", "at"], unique=False)

    op.create_table(
        "case_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("degree", sa.SmallInteger(), nullable=False),
        sa.Column("via_contact_id", sa.Uuid(), nullable=True),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("first_exposure_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_exposure_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("converted_case_id", sa.Uuid(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_contacts_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["converted_case_id"],
            ["cases.id"],
            name=op.f("fk_case_contacts_converted_case_id_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_case_contacts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_case_contacts_unit_code_admin_units")
        ),
        sa.ForeignKeyConstraint(
            ["via_contact_id"],
            ["case_contacts.id"],
            name=op.f("fk_case_contacts_via_contact_id_case_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_contacts")),
        sa.UniqueConstraint(
            "case_id", "person_id", name=op.f("uq_case_contacts_case_id_person_id")
        ),
    )
    with op.batch_alter_table("case_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_contacts_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_contacts_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "lockdowns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("starts_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_lockdowns_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["admin_units.code"], name=op.f("fk_lockdowns_unit_code_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lockdowns")),
        sa.UniqueConstraint("code", name=op.f("uq_lockdowns_code")),
    )
    with op.batch_alter_table("lockdowns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lockdowns_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "case_exposures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("via", sa.String(length=12), nullable=False),
        sa.Column("source_person_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("vehicle_plate", sa.String(length=16), nullable=False),
        sa.Column("start", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overlap_minutes", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["case_contacts.id"],
            name=op.f("fk_case_exposures_contact_id_case_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_case_exposures_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["source_person_id"],
            ["persons.id"],
            name=op.f("fk_case_exposures_source_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_case_exposures_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_exposures")),
        sa.UniqueConstraint("contact_id", "key", name=op.f("uq_case_exposures_contact_id_key")),
    )
    with op.batch_alter_table("case_exposures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_exposures_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "lockdown_areas",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lockdown_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("text_folded", sa.String(length=200), nullable=False),
        sa.Column("added_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lockdown_id"], ["lockdowns.id"], name=op.f("fk_lockdown_areas_lockdown_id_lockdowns")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_lockdown_areas_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lockdown_areas")),
    )
    with op.batch_alter_table("lockdown_areas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lockdown_areas_lockdown_id"), ["lockdown_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lockdown_areas_unit_code"), ["unit_code"], unique=False
        )

    op.create_table(
        "lockdown_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lockdown_id", sa.Uuid(), nullable=False),
        sa.Column("at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["lockdown_id"],
            ["lockdowns.id"],
            name=op.f("fk_lockdown_changes_lockdown_id_lockdowns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lockdown_changes")),
    )
    with op.batch_alter_table("lockdown_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lockdown_changes_lockdown_id"), ["lockdown_id"], unique=False
        )

    op.create_table(
        "quarantine_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("place", sa.String(length=12), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("starts_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["case_contacts.id"],
            name=op.f("fk_quarantine_orders_contact_id_case_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_quarantine_orders_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["admin_units.code"],
            name=op.f("fk_quarantine_orders_unit_code_admin_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_orders")),
    )
    with op.batch_alter_table("quarantine_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_orders_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_quarantine_orders_unit_status", ["unit_code", "status"], unique=False
        )
        batch_op.create_index(
            "uq_quarantine_orders_open_person",
            ["person_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "quarantine_health_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("checked_at", phongdich.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["quarantine_orders.id"],
            name=op.f("fk_quarantine_health_checks_order_id_quarantine_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_health_checks")),
        sa.UniqueConstraint(
            "order_id", "day", name=op.f("uq_quarantine_health_checks_order_id_day")
        ),
    )
    op.create_table(
        "quarantine_tests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("day_number", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=True),
        sa.Column("tested_at", phongdich.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["quarantine_orders.id"],
            name=op.f("fk_quarantine_tests_order_id_quarantine_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_tests")),
        sa.UniqueConstraint("order_id", "due_on", name=op.f("uq_quarantine_tests_order_id_due_on")),
    )
    with op.batch_alter_table("quarantine_tests", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_tests_due", ["status", "due_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_quarantine_tests_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantine_tests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_tests_order_id"))
        batch_op.drop_index("ix_quarantine_tests_due")

    op.drop_table("quarantine_tests")
    op.drop_table("quarantine_health_checks")
    with op.batch_alter_table("quarantine_orders", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_quarantine_orders_open_person",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_quarantine_orders_unit_status")
        batch_op.drop_index(batch_op.f("ix_quarantine_orders_person_id"))

    op.drop_table("quarantine_orders")
    with op.batch_alter_table("lockdown_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lockdown_changes_lockdown_id"))

    op.drop_table("lockdown_changes")
    with op.batch_alter_table("lockdown_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lockdown_areas_unit_code"))
        batch_op.drop_index(batch_op.f("ix_lockdown_areas_lockdown_id"))

    op.drop_table("lockdown_areas")
    with op.batch_alter_table("case_exposures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_exposures_contact_id"))

    op.drop_table("case_exposures")
    with op.batch_alter_table("lockdowns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lockdowns_unit_code"))

    op.drop_table("lockdowns")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("case_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_contacts_unit_code"))
        batch_op.drop_index(batch_op.f("ix_case_contacts_person_id"))

    op.drop_table("case_contacts")
    with op.batch_alter_table("checkpoint_passages", schema=None) as batch_op:
        batch_op.drop_index("ix_checkpoint_passages_person_at")
        batch_op.drop_index(batch_op.f("ix_checkpoint_passages_group_id"))
        batch_op.drop_index("ix_checkpoint_passages_checkpoint_at")

    op.drop_table("checkpoint_passages")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_unit_opened")
        batch_op.drop_index(batch_op.f("ix_cases_person_id"))
        batch_op.drop_index(batch_op.f("ix_cases_from_contact_id"))
        batch_op.drop_index(batch_op.f("ix_cases_facility_id"))
        batch_op.drop_index(batch_op.f("ix_cases_cluster_id"))

    op.drop_table("cases")
    with op.batch_alter_table("zone_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_zone_levels_unit_day")
        batch_op.drop_index(batch_op.f("ix_zone_levels_day"))

    op.drop_table("zone_levels")
    with op.batch_alter_table("treatment_facilities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_facilities_unit_code"))

    op.drop_table("treatment_facilities")
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoints_unit_code"))

    op.drop_table("checkpoints")
    with op.batch_alter_table("case_clusters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_clusters_unit_code"))

    op.drop_table("case_clusters")
    op.drop_table("tracing_policies")
