"""The three wastes and radioactive residues, read set-wise with SQL from the ledger and the monitoring record.

Solid wastes and residues come from the ledger (which this module only reads): batches of the waste forms
(`residue`: thorium/uranium-bearing residue from cracking; `tailings`) produced by extraction and processing,
consumed by `disposal` events; scrap (`scrap`) produced along the chain and consumed by processing at recycling
facilities. Waste water and waste gas come from monitoring: stream volumes from the flow series and pollutant
loads from concentration x flow of the same outlet and period.

The ledger records residue masses, not their thorium and uranium content; the inventory is therefore a mass of
residue, and the activity is not estimated.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

WASTE_FORMS = ("residue", "tailings")
RADIOACTIVE_FORMS = ("residue",)
SCRAP_FORMS = ("scrap",)
FLOW_POLLUTANTS = ("water_flow", "gas_flow")
_FORMS = "('residue', 'tailings', 'scrap')"
# hours a value stands for, by reporting period (a flow in m3/h times hours gives m3)
_HOURS = "CASE c.period WHEN 'minute' THEN 1.0 / 60 WHEN 'hour' THEN 1.0 WHEN 'day' THEN 24.0 ELSE 0 END"


def _epoch(day: dt.date) -> int:
    return int((dt.datetime.combine(day, dt.time()) - dt.datetime(1970, 1, 1)).total_seconds())


def _frame(session: Session, sql: str, params: dict, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(session.execute(text(sql), params).all(), columns=columns)


def solid_wastes(*, session: Session, year: int) -> pd.DataFrame:
    """Per facility and waste form in a year: generated and disposed kg (gross) and kg REO."""
    span = {"a": _epoch(dt.date(year, 1, 1)), "b": _epoch(dt.date(year + 1, 1, 1))}
    made = _frame(session, f"""
        SELECT e.facility_id, b.form, SUM(b.gross_kg), SUM(b.reo_kg) FROM ledger_batch b
        JOIN ledger_event e ON e.id = b.event_id
        WHERE e.kind IN ('extraction', 'processing') AND b.form IN {_FORMS}
          AND e.at_epoch_s >= :a AND e.at_epoch_s < :b GROUP BY e.facility_id, b.form""", span,
        ["facility_id", "form", "generated_kg", "generated_reo_kg"])
    gone = _frame(session, f"""
        SELECT e.facility_id, b.form, SUM(i.kg), SUM(i.kg * b.reo_kg / NULLIF(b.gross_kg, 0)) FROM ledger_input i
        JOIN ledger_event e ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id
        WHERE e.kind = 'disposal' AND b.form IN {_FORMS} AND e.at_epoch_s >= :a AND e.at_epoch_s < :b
        GROUP BY e.facility_id, b.form""", span, ["facility_id", "form", "disposed_kg", "disposed_reo_kg"])
    out = made.merge(gone, on=["facility_id", "form"], how="outer").fillna(0.0)
    return _with_codes(session, out)


def residue_inventory(*, session: Session, on: dt.date) -> pd.DataFrame:
    """Radioactive (thorium/uranium-bearing) residue held at each facility at the end of a day: residue batches
    that ended there (produced or received) less what was consumed by anything but disposal (processed,
    shipped or exported); residue disposed into the facility's storage stays in its inventory."""
    until = {"b": _epoch(on + dt.timedelta(days=1))}
    forms = "('" + "', '".join(RADIOACTIVE_FORMS) + "')"
    df = _frame(session, f"""
        SELECT b.facility_id, SUM(b.gross_kg) AS held,
               SUM(COALESCE(used.kg, 0)) AS moved, SUM(COALESCE(disp.kg, 0)) AS disposed
        FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id
        LEFT JOIN (SELECT i.batch_id, SUM(i.kg) AS kg FROM ledger_input i JOIN ledger_event x ON x.id = i.event_id
                   WHERE x.kind <> 'disposal' AND x.at_epoch_s < :b GROUP BY i.batch_id) used ON used.batch_id = b.id
        LEFT JOIN (SELECT i.batch_id, SUM(i.kg) AS kg FROM ledger_input i JOIN ledger_event x ON x.id = i.event_id
                   WHERE x.kind = 'disposal' AND x.at_epoch_s < :b GROUP BY i.batch_id) disp ON disp.batch_id = b.id
        WHERE b.form IN {forms} AND e.at_epoch_s < :b GROUP BY b.facility_id""", until,
        ["facility_id", "received_or_made_kg", "moved_on_kg", "disposed_in_storage_kg"])
    df["inventory_kg"] = df.received_or_made_kg - df.moved_on_kg
    return _with_codes(session, df).sort_values("inventory_kg", ascending=False).reset_index(drop=True)


def recycling(*, session: Session, year: int) -> dict[str, float | None]:
    """Scrap generated and recycled (kg REO) in a year, the recycling rate of scrap into the chain
    (recycled / generated) and the recovery rate of recycling plants (REO out / REO of scrap in)."""
    span = {"a": _epoch(dt.date(year, 1, 1)), "b": _epoch(dt.date(year + 1, 1, 1))}
    generated = session.execute(text("""
        SELECT COALESCE(SUM(b.reo_kg), 0) FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id
        WHERE e.kind IN ('processing', 'import') AND b.form = 'scrap' AND e.at_epoch_s >= :a AND e.at_epoch_s < :b"""),
        span).scalar_one()
    used = session.execute(text("""
        SELECT COALESCE(SUM(i.kg * b.reo_kg / NULLIF(b.gross_kg, 0)), 0) FROM ledger_input i
        JOIN ledger_event e ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id
        JOIN facility f ON f.id = e.facility_id
        WHERE e.kind = 'processing' AND f.stage = 'recycling' AND b.form = 'scrap'
          AND e.at_epoch_s >= :a AND e.at_epoch_s < :b"""), span).scalar_one()
    recovered = session.execute(text("""
        SELECT COALESCE(SUM(o.reo_kg), 0) FROM ledger_batch o JOIN ledger_event e ON e.id = o.event_id
        JOIN facility f ON f.id = e.facility_id
        WHERE e.kind = 'processing' AND f.stage = 'recycling' AND o.form NOT IN ('residue', 'tailings', 'scrap')
          AND e.at_epoch_s >= :a AND e.at_epoch_s < :b"""), span).scalar_one()
    generated, used, recovered = float(generated), float(used), float(recovered)
    return {"scrap_generated_reo_kg": generated, "scrap_recycled_reo_kg": used,
            "recycling_rate": used / generated if generated > 0 else None,
            "recovered_reo_kg": recovered, "recovery_rate": recovered / used if used > 0 else None}


def streams(*, session: Session, year: int) -> pd.DataFrame:
    """Waste water and waste gas per facility and medium in a year: stream volume (m3, from the flow series) and
    pollutant loads (kg = concentration x flow x hours of each value, where both were reported)."""
    span = {"a": _epoch(dt.date(year, 1, 1)), "b": _epoch(dt.date(year + 1, 1, 1))}
    volume = _frame(session, f"""
        SELECT o.facility_id, o.medium, SUM(c.value * {_HOURS}) FROM env_value c
        JOIN env_outlet o ON o.id = c.outlet_id
        WHERE c.pollutant IN ('water_flow', 'gas_flow') AND c.at_s >= :a AND c.at_s < :b
        GROUP BY o.facility_id, o.medium""", span, ["facility_id", "medium", "volume_m3"])
    loads = _frame(session, f"""
        SELECT o.facility_id, o.medium, c.pollutant,
               SUM(c.value * f.value * {_HOURS} * CASE o.medium WHEN 'water' THEN 1e-3 ELSE 1e-6 END)
        FROM env_value c JOIN env_value f ON f.outlet_id = c.outlet_id AND f.period = c.period AND f.at_s = c.at_s
             AND f.pollutant IN ('water_flow', 'gas_flow')
        JOIN env_outlet o ON o.id = c.outlet_id
        WHERE c.pollutant NOT IN ('water_flow', 'gas_flow', 'ph') AND c.at_s >= :a AND c.at_s < :b
        GROUP BY o.facility_id, o.medium, c.pollutant""", span, ["facility_id", "medium", "pollutant", "load_kg"])
    out = loads.merge(volume, on=["facility_id", "medium"], how="outer")
    return _with_codes(session, out).sort_values(["facility", "medium", "pollutant"]).reset_index(drop=True)


def _with_codes(session: Session, df: pd.DataFrame) -> pd.DataFrame:
    codes = pd.DataFrame(session.execute(text("SELECT id, code, stage, data_status FROM facility")).all(),
                         columns=["facility_id", "facility", "stage", "data_status"])
    return codes.merge(df, on="facility_id", how="inner")
