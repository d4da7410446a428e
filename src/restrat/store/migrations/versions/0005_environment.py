"""environment: emission limits, outlets, submission workspace, official monitoring values

Revision ID: 0005_environment
Revises: 0002
Create Date: 2026-11-29 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_environment"
down_revision = "0002"
branch_labels = ("environment",)
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "env_limit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard", sa.String(length=80), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("pollutant", sa.String(length=40), nullable=False),
        sa.Column("medium", sa.String(length=8), nullable=False),
        sa.Column("facility_class", sa.String(length=12), nullable=False),
        sa.Column("discharge", sa.String(length=20), nullable=False),
        sa.Column("process", sa.String(length=40), nullable=False),
        sa.Column("limit_low", sa.Float(), nullable=True),
        sa.Column("limit_high", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("superseded_by_load", sa.Integer(), nullable=True),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("loaded_by", sa.String(length=80), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
                           name=op.f("ck_env_limit_dates_ordered")),
        sa.CheckConstraint("limit_low IS NOT NULL OR limit_high IS NOT NULL", name=op.f("ck_env_limit_has_bound")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_limit")),
    )
    op.create_index("ix_env_limit_lookup", "env_limit", ["pollutant", "medium"], unique=False)
    op.create_table(
        "env_outlet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("medium", sa.String(length=8), nullable=False),
        sa.Column("discharge", sa.String(length=20), nullable=False),
        sa.Column("process", sa.String(length=40), nullable=False),
        sa.Column("facility_class", sa.String(length=12), nullable=False),
        sa.Column("special_area", sa.Boolean(), nullable=False),
        sa.Column("mn", sa.String(length=40), nullable=True),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["facility_id"], ["facility.id"], name=op.f("fk_env_outlet_facility_id_facility")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_outlet")),
        sa.UniqueConstraint("facility_id", "code", name="facility_code"),
        sa.UniqueConstraint("mn", name=op.f("uq_env_outlet_mn")),
    )
    op.create_index(op.f("ix_env_outlet_facility_id"), "env_outlet", ["facility_id"], unique=False)
    op.create_table(
        "env_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_new", sa.Integer(), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("promoted_at", sa.DateTime(), nullable=True),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_submission")),
    )
    op.create_table(
        "env_workspace",
        sa.Column("id", BigId, nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("pollutant", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("at_s", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("flag", sa.String(length=4), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["env_submission.id"], ondelete="CASCADE",
                                name=op.f("fk_env_workspace_submission_id_env_submission")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_workspace")),
    )
    op.create_index(op.f("ix_env_workspace_submission_id"), "env_workspace", ["submission_id"], unique=False)
    op.create_table(
        "env_value",
        sa.Column("id", BigId, nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("pollutant", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("at_s", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("flag", sa.String(length=4), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("substitution_rule", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["outlet_id"], ["env_outlet.id"], name=op.f("fk_env_value_outlet_id_env_outlet")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_value")),
        sa.UniqueConstraint("outlet_id", "pollutant", "period", "at_s", name="series_time"),
    )
    op.create_index("ix_env_value_outlet_time", "env_value", ["outlet_id", "at_s"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_env_value_outlet_time", table_name="env_value")
    op.drop_table("env_value")
    op.drop_index(op.f("ix_env_workspace_submission_id"), table_name="env_workspace")
    op.drop_table("env_workspace")
    op.drop_table("env_submission")
    op.drop_index(op.f("ix_env_outlet_facility_id"), table_name="env_outlet")
    op.drop_table("env_outlet")
    op.drop_index("ix_env_limit_lookup", table_name="env_limit")
    op.drop_table("env_limit")
