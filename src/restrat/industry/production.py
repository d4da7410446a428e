"""Production per facility and day, kept in step with the ledger: the import hook adds each import's extraction
and processing outputs inside the import's transaction (see restrat.ledger.consumers)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from restrat.industry.models import ProductionDay
from restrat.ledger.consumers import Written

PRODUCING = ("extraction", "processing")


def on_import(*, session: Session, written: Written) -> None:
    """Add the REO each facility made in this import to its daily totals (one upsert per facility and day)."""
    ev = written.events
    made = ev[ev.kind.isin(PRODUCING) & (ev.reo_out_kg > 0)]
    if made.empty:
        return
    daily = (made.assign(day=made.at_epoch_s // 86400).groupby(["facility_id", "day"], as_index=False)
             .reo_out_kg.sum().rename(columns={"reo_out_kg": "reo_kg"}))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ProductionDay.__table__)
    stmt = stmt.on_conflict_do_update(index_elements=["facility_id", "day"],
                                      set_={"reo_kg": ProductionDay.__table__.c.reo_kg + stmt.excluded.reo_kg})
    rows = [{"facility_id": int(f), "day": int(d), "reo_kg": float(k)}
            for f, d, k in zip(daily.facility_id, daily.day, daily.reo_kg, strict=True)]
    session.execute(stmt, rows)
