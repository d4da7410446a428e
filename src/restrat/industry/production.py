"""Production per facility and day, kept in step with the ledger: the import hook adds each import's extraction
and processing outputs inside the import's transaction (see restrat.ledger.consumers)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from restrat.ledger.consumers import Written
from restrat.store.bulk import add_rows

PRODUCING = ("extraction", "processing")


def on_import(*, session: Session, written: Written) -> None:
    """Add the REO each facility made in this import to its daily totals (one row per facility and day)."""
    ev = written.events
    made = ev[ev.kind.isin(PRODUCING) & (ev.reo_out_kg > 0)]
    if made.empty:
        return
    daily = made.assign(day=made.at_epoch_s // 86400).groupby(["facility_id", "day"]).reo_out_kg.sum()
    add_rows(session.connection(), "industry_production_day", ("facility_id", "day"), ("reo_kg",),
             {"facility_id": daily.index.get_level_values(0).to_numpy(dtype="int64"),
              "day": daily.index.get_level_values(1).to_numpy(dtype="int64"), "reo_kg": daily.to_numpy(dtype=float)})
