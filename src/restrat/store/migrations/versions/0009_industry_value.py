"""industry: element REO made and consumed per facility, day, role and form for the value chain (backfilled from
the ledger)

Revision ID: 0009_industry_value
Revises: 0007_industry
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_industry_value"
down_revision = "0007_industry"
branch_labels = None
depends_on = None

ELEMENT_COLUMNS = ("la_kg", "ce_kg", "pr_kg", "nd_kg", "pm_kg", "sm_kg", "eu_kg", "gd_kg", "tb_kg", "dy_kg",
                   "ho_kg", "er_kg", "tm_kg", "yb_kg", "lu_kg", "y_kg", "sc_kg")


def upgrade() -> None:
    op.create_table(
        "industry_value_day",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=3), nullable=False),
        sa.Column("form", sa.String(length=30), nullable=False),
        sa.Column("reo_kg", sa.Float(), nullable=False),
        *[sa.Column(c, sa.Float(), nullable=False) for c in ELEMENT_COLUMNS],
        sa.PrimaryKeyConstraint("facility_id", "day", "role", "form", name=op.f("pk_industry_value_day")),
    )
    # a ledger imported before this table existed: one pass decoding its compositions; imports keep it up to date
    from restrat.industry import valueday

    valueday.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("industry_value_day")
