"""Production per facility and day, kept in step with the ledger: the import hook adds each import's extraction
and processing outputs inside the import's transaction (see restrat.ledger.consumers)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from restrat.ledger.consumers import Written

PRODUCING = ("extraction", "processing")
UPSERT = ("INSERT INTO industry_production_day (facility_id, day, reo_kg) VALUES ({m}, {m}, {m}) "
          "ON CONFLICT (facility_id, day) DO UPDATE SET reo_kg = industry_production_day.reo_kg + excluded.reo_kg")


def on_import(*, session: Session, written: Written) -> None:
    """Add the REO each facility made in this import to its daily totals: one upsert per facility and day, sent
    as one prepared statement through the driver (SQLite and PostgreSQL share the ON CONFLICT form)."""
    ev = written.events
    made = ev[ev.kind.isin(PRODUCING) & (ev.reo_out_kg > 0)]
    if made.empty:
        return
    daily = made.assign(day=made.at_epoch_s // 86400).groupby(["facility_id", "day"]).reo_out_kg.sum()
    rows = zip(daily.index.get_level_values(0).tolist(), daily.index.get_level_values(1).tolist(),
               daily.tolist(), strict=True)
    conn = session.connection()
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.executemany(UPSERT.format(m=mark), rows)
    finally:
        cur.close()
