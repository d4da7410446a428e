"""Element REO per facility, day, role and product form, kept in step with the ledger for the value chain.

Valuing a batch is linear in its per-element REO (value = factor(form) · Σ_e REO_e · price_e), so summing the
per-element REO of what each facility made (role 'out': extraction and processing outputs) and consumed (role
'in': processing inputs, the consumed share) per UTC day and form loses nothing the value chain needs, and the
value chain then reads this small table instead of decoding every batch's composition. The import hook adds each
import's rows inside its transaction; `rebuild` recomputes the table from the whole ledger (the migration's
backfill, and the reference the tests compare the hook against)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from restrat.catalog.service import ELEMENTS
from restrat.ledger.consumers import Written
from restrat.store.bulk import add_rows

TABLE = "industry_value_day"
EL_COLUMNS = tuple(f"{e.lower()}_kg" for e in ELEMENTS)
KEYS = ("facility_id", "day", "role", "form")
VALUE_COLUMNS = ("reo_kg",) + EL_COLUMNS
MADE_SQL = ("SELECT e.facility_id, e.at_epoch_s / 86400, b.form, b.reo_kg, b.comp FROM ledger_batch b "
            "JOIN ledger_event e ON e.id = b.event_id WHERE e.kind IN ('extraction', 'processing')")
USED_SQL = ("SELECT e.facility_id, e.at_epoch_s / 86400, b.form, i.kg / b.gross_kg * b.reo_kg, b.comp "
            "FROM ledger_input i JOIN ledger_event e ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id "
            "WHERE e.kind = 'processing'")


def _unpack(blobs: Iterable[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(-1, len(ELEMENTS)).astype(np.float64)


def aggregate(rows: pd.DataFrame, comp: np.ndarray, role: str) -> pd.DataFrame:
    """Rows (facility_id, day, form, reo_kg) with their REO fractions summed per facility, day and form: REO and
    per-element REO (kg)."""
    if rows.empty:
        return pd.DataFrame(columns=list(KEYS + VALUE_COLUMNS))
    reo = rows.reo_kg.to_numpy(dtype=float)
    el = pd.DataFrame(comp * reo[:, None], columns=list(EL_COLUMNS))
    frame = pd.concat([rows[["facility_id", "day", "form"]].reset_index(drop=True),
                       pd.DataFrame({"reo_kg": reo}), el], axis=1)
    out = frame.groupby(["facility_id", "day", "form"], as_index=False, sort=False).sum()
    out.insert(2, "role", role)
    return out[list(KEYS + VALUE_COLUMNS)]


def _upsert(conn: Connection, frame: pd.DataFrame) -> None:
    """Add the rows to the table's running totals."""
    if frame.empty:
        return
    columns = {c: frame[c].to_numpy() for c in KEYS + VALUE_COLUMNS}
    columns["facility_id"] = columns["facility_id"].astype(np.int64)
    columns["day"] = columns["day"].astype(np.int64)
    add_rows(conn, TABLE, KEYS, VALUE_COLUMNS, columns)


def on_import(*, session: object, written: Written) -> None:
    """Ledger consumer: add this import's made and consumed element REO per facility, day and form."""
    ev = written.events
    kind = ev.kind.to_numpy()
    producing = np.isin(kind, ("extraction", "processing"))
    if not producing.any():
        return
    # event ids are one contiguous, ascending range per import: a position lookup, no join
    first = int(ev.event_id.iloc[0])
    parts = []
    for frame, comp, role, kinds in ((written.outputs, written.out_comp, "out", producing),
                                     (written.inputs, written.in_comp, "in", kind == "processing")):
        if frame.empty:
            continue
        at = frame.event_id.to_numpy(dtype=np.int64) - first
        keep = kinds[at]
        if not keep.any():
            continue
        at = at[keep]
        rows = pd.DataFrame({"facility_id": ev.facility_id.to_numpy()[at], "day": ev.at_epoch_s.to_numpy()[at] // 86400,
                             "form": frame.form.to_numpy()[keep], "reo_kg": frame.reo_kg.to_numpy(dtype=float)[keep]})
        parts.append(aggregate(rows, comp[keep], role))
    if parts:
        _upsert(session.connection(), pd.concat(parts, ignore_index=True))  # type: ignore[attr-defined]


def rebuild(conn: Connection) -> int:
    """Recompute the table from the whole ledger (one pass over its produced and consumed batches); rows written."""
    conn.execute(text(f"DELETE FROM {TABLE}"))
    written = 0
    for sql, role in ((MADE_SQL, "out"), (USED_SQL, "in")):
        rows = conn.execute(text(sql)).all()
        if not rows:
            continue
        cols = list(zip(*rows, strict=True))
        frame = pd.DataFrame({"facility_id": cols[0], "day": cols[1], "form": cols[2], "reo_kg": cols[3]})
        agg = aggregate(frame, _unpack([bytes(b) for b in cols[4]]), role)
        _upsert(conn, agg)
        written += len(agg)
    return written
