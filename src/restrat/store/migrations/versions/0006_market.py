"""market: stored scenario runs with their prices, volumes and indicators

Revision ID: 0006_market
Revises: 0002
Create Date: 2026-11-29 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_market"
down_revision = "0002"
branch_labels = ("market",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "market_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scenario_toml", sa.Text(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("solve_seconds", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_run")),
    )
    op.create_index(op.f("ix_market_run_scenario"), "market_run", ["scenario"], unique=False)
    op.create_table(
        "market_price",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("draw", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("element", sa.String(length=2), nullable=False),
        sa.Column("market", sa.String(length=30), nullable=False),
        sa.Column("price_usd_per_kg", sa.Float(), nullable=True),
        sa.Column("demand_t", sa.Float(), nullable=False),
        sa.Column("substituted_t", sa.Float(), nullable=False),
        sa.Column("from_china_t", sa.Float(), nullable=False),
        sa.Column("from_outside_t", sa.Float(), nullable=False),
        sa.Column("stock_t", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["market_run.id"], name=op.f("fk_market_price_run_id_market_run"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_price")),
    )
    op.create_index(op.f("ix_market_price_run_id"), "market_price", ["run_id"], unique=False)
    op.create_table(
        "market_metric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("draw", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["market_run.id"], name=op.f("fk_market_metric_run_id_market_run"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_metric")),
    )
    op.create_index(op.f("ix_market_metric_run_id"), "market_metric", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_market_metric_run_id"), table_name="market_metric")
    op.drop_table("market_metric")
    op.drop_index(op.f("ix_market_price_run_id"), table_name="market_price")
    op.drop_table("market_price")
    op.drop_index(op.f("ix_market_run_scenario"), table_name="market_run")
    op.drop_table("market_run")
