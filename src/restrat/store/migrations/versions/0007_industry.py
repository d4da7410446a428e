"""industry and association: production per facility and day (backfilled from the ledger), member price
submissions of the trade association

Revision ID: 0007_industry
Revises: 0002
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_industry"
down_revision = "0002"
branch_labels = ("industry",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "industry_production_day",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("reo_kg", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("facility_id", "day", name=op.f("pk_industry_production_day")),
    )
    # a ledger imported before this table existed: one grouped pass; later imports keep it up to date
    op.execute("INSERT INTO industry_production_day (facility_id, day, reo_kg) "
               "SELECT e.facility_id, e.at_epoch_s / 86400, SUM(b.reo_kg) FROM ledger_event e "
               "JOIN ledger_batch b ON b.event_id = e.id WHERE e.kind IN ('extraction', 'processing') "
               "GROUP BY e.facility_id, e.at_epoch_s / 86400")
    op.create_table(
        "association_price_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.Column("price_date", sa.Date(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("volume_t", sa.Float(), nullable=False),
        sa.Column("data_status", sa.String(length=20), nullable=False),
        sa.Column("submitted_by", sa.String(length=80), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("price > 0", name=op.f("ck_association_price_submission_price_positive")),
        sa.CheckConstraint("volume_t > 0", name=op.f("ck_association_price_submission_volume_positive")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"],
                                name=op.f("fk_association_price_submission_enterprise_id_enterprise")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_association_price_submission")),
        sa.UniqueConstraint("enterprise_id", "product", "price_date", "currency",
                            name=op.f("uq_association_price_submission_enterprise_id")),
    )
    op.create_index(op.f("ix_association_price_submission_enterprise_id"), "association_price_submission",
                    ["enterprise_id"], unique=False)
    op.create_index(op.f("ix_association_price_submission_product"), "association_price_submission", ["product"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_association_price_submission_product"), table_name="association_price_submission")
    op.drop_index(op.f("ix_association_price_submission_enterprise_id"), table_name="association_price_submission")
    op.drop_table("association_price_submission")
    op.drop_table("industry_production_day")
