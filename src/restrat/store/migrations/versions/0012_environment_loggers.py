"""environment: HJ 212 data logger secrets (hashed access passwords) and the listener's event log

Revision ID: 0012_environment_loggers
Revises: 0005_environment
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_environment_loggers"
down_revision = "0005_environment"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "env_logger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mn", sa.String(length=40), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["outlet_id"], ["env_outlet.id"], name=op.f("fk_env_logger_outlet_id_env_outlet")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_logger")),
        sa.UniqueConstraint("mn", name=op.f("uq_env_logger_mn")),
    )
    op.create_index(op.f("ix_env_logger_outlet_id"), "env_logger", ["outlet_id"], unique=False)
    op.create_table(
        "env_logger_event",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("mn", sa.String(length=40), nullable=True),
        sa.Column("qn", sa.String(length=20), nullable=True),
        sa.Column("cn", sa.String(length=8), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("cp", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_env_logger_event")),
    )
    op.create_index(op.f("ix_env_logger_event_at"), "env_logger_event", ["at"], unique=False)
    op.create_index("ix_env_logger_event_mn_at", "env_logger_event", ["mn", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_env_logger_event_mn_at", table_name="env_logger_event")
    op.drop_index(op.f("ix_env_logger_event_at"), table_name="env_logger_event")
    op.drop_table("env_logger_event")
    op.drop_index(op.f("ix_env_logger_outlet_id"), table_name="env_logger")
    op.drop_table("env_logger")
