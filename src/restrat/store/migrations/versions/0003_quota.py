"""quota: plans, dated changes, allocation tree (batch, parent), usage balances, infractions, ledger cursor

Revision ID: 0003_quota
Revises: 0002
Create Date: 2026-11-29 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_quota"
down_revision = "0002"
branch_labels = ("quota",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ore_type", sa.String(length=12), nullable=False),
        sa.Column("batch", sa.String(length=12), nullable=False),
        sa.Column("tonnes_reo", sa.Float(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.CheckConstraint("tonnes_reo >= 0", name=op.f("ck_quota_plan_tonnes_nonneg")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_plan")),
        sa.UniqueConstraint("year", "kind", "ore_type", "batch", name=op.f("uq_quota_plan_year")),
    )
    op.create_index(op.f("ix_quota_plan_year"), "quota_plan", ["year"], unique=False)
    op.create_table(
        "quota_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=12), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("tonnes_reo", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.CheckConstraint("tonnes_reo >= 0", name=op.f("ck_quota_change_tonnes_nonneg")),
        sa.CheckConstraint("target IN ('plan', 'allocation')", name=op.f("ck_quota_change_target_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_change")),
    )
    op.create_index(op.f("ix_quota_change_target_id"), "quota_change", ["target_id"], unique=False)
    op.create_table(
        "quota_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("used_g", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["facility_id"], ["facility.id"], name=op.f("fk_quota_usage_facility_id_facility")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_usage")),
        sa.UniqueConstraint("facility_id", "year", "kind", name=op.f("uq_quota_usage_facility_id")),
    )
    op.create_table(
        "quota_infraction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("infraction", sa.String(length=20), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("limit_kg", sa.Float(), nullable=False),
        sa.Column("used_kg", sa.Float(), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["facility_id"], ["facility.id"],
                                name=op.f("fk_quota_infraction_facility_id_facility")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_infraction")),
        sa.UniqueConstraint("key", name=op.f("uq_quota_infraction_key")),
    )
    op.create_index(op.f("ix_quota_infraction_facility_id"), "quota_infraction", ["facility_id"], unique=False)
    op.create_table(
        "quota_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_cursor")),
    )
    op.bulk_insert(sa.table("quota_cursor", sa.column("id", sa.Integer()), sa.column("last_event_id", sa.BigInteger())),
                   [{"id": 1, "last_event_id": 0}])
    with op.batch_alter_table("quota_allocation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch", sa.String(length=12), server_default="all", nullable=False))
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("username", sa.String(length=80), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_quota_allocation_parent_id_quota_allocation"), "quota_allocation",
                                    ["parent_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("quota_allocation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_quota_allocation_parent_id_quota_allocation"), type_="foreignkey")
        batch_op.drop_column("username")
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("batch")
    op.drop_table("quota_cursor")
    op.drop_index(op.f("ix_quota_infraction_facility_id"), table_name="quota_infraction")
    op.drop_table("quota_infraction")
    op.drop_table("quota_usage")
    op.drop_index(op.f("ix_quota_change_target_id"), table_name="quota_change")
    op.drop_table("quota_change")
    op.drop_index(op.f("ix_quota_plan_year"), table_name="quota_plan")
    op.drop_table("quota_plan")
