"""ledger: the event's facility references are checked by the importer, not per row by the database

The importer refuses an event whose facility or partner is not in the registry, set-wise, before it writes
anything. The foreign keys repeated that check row by row, which was the largest single cost of storing an event
(1.4 s of a 1M-event import on SQLite). Facilities are never deleted.

Revision ID: 0013_ledger_event_references
Revises: 0002
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013_ledger_event_references"
down_revision = "0002"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (("fk_ledger_event_facility_id_facility", "facility_id"),
                ("fk_ledger_event_partner_facility_id_facility", "partner_facility_id"))


def upgrade() -> None:
    with op.batch_alter_table("ledger_event") as batch_op:
        for name, _column in FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("ledger_event") as batch_op:
        for name, column in FOREIGN_KEYS:
            batch_op.create_foreign_key(name, "facility", [column], ["id"])
