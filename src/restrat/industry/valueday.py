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
from sqlalchemy import Connection, bindparam, text

from restrat.catalog.service import ELEMENTS
from restrat.ledger.consumers import Written

TABLE = "industry_value_day"
CHUNK = 30_000  # ids per IN list, within the databases' bound-parameter limits
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
    """Add the rows to the table (one prepared statement through the driver; SQLite and PostgreSQL share the
    ON CONFLICT form)."""
    if frame.empty:
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    cols = KEYS + VALUE_COLUMNS
    sql = (f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))}) "
           f"ON CONFLICT ({', '.join(KEYS)}) DO UPDATE SET "
           + ", ".join(f"{c} = {TABLE}.{c} + excluded.{c}" for c in VALUE_COLUMNS))
    data = [frame[c].to_numpy().tolist() for c in cols]
    data[0] = [int(v) for v in data[0]]
    data[1] = [int(v) for v in data[1]]
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.executemany(sql, list(zip(*data, strict=True)))
    finally:
        cur.close()


def _comps(conn: Connection, ids: np.ndarray, new_range: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted batch ids, their REO fractions): the batches this import wrote (its ids are one contiguous range) by
    one range scan through the driver, older ones by id in chunks."""
    got_ids: list[np.ndarray] = []
    comps: list[np.ndarray] = []
    older = ids
    if new_range is not None:
        cur = conn.connection.dbapi_connection.cursor()
        mark = "%s" if conn.dialect.name == "postgresql" else "?"
        try:
            cur.execute(f"SELECT id, comp FROM ledger_batch WHERE id BETWEEN {mark} AND {mark}", new_range)
            rows = cur.fetchall()
        finally:
            cur.close()
        got_ids.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        comps.append(_unpack(r[1] for r in rows))
        older = ids[(ids < new_range[0]) | (ids > new_range[1])]
    wanted = np.unique(older)
    stmt = text("SELECT id, comp FROM ledger_batch WHERE id IN :keys").bindparams(bindparam("keys", expanding=True))
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(stmt, {"keys": wanted[start:start + CHUNK].tolist()}).all()
        got_ids.append(np.asarray([r[0] for r in rows], dtype=np.int64))
        comps.append(_unpack([bytes(r[1]) for r in rows]))
    if not got_ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(ELEMENTS)))
    all_ids, all_comp = np.concatenate(got_ids), np.concatenate(comps)
    order = np.argsort(all_ids, kind="stable")
    return all_ids[order], all_comp[order]


def on_import(*, session: object, written: Written) -> None:
    """Ledger consumer: add this import's made and consumed element REO per facility, day and form."""
    ev = written.events
    producing = ev[ev.kind.isin(("extraction", "processing"))][["event_id", "facility_id", "at_epoch_s"]]
    if producing.empty:
        return
    conn: Connection = session.connection()  # type: ignore[attr-defined]
    outs = written.outputs.merge(producing, on="event_id", suffixes=("_held", ""))
    ins = written.inputs.merge(producing[producing.event_id.isin(ev.event_id[ev.kind == "processing"])],
                               on="event_id")
    ids = np.concatenate([outs.batch_id.to_numpy(dtype=np.int64), ins.batch_id.to_numpy(dtype=np.int64)])
    if not len(ids):
        return
    new = written.outputs.batch_id
    new_range = (int(new.min()), int(new.max())) if len(new) else None
    known, comp = _comps(conn, ids, new_range)
    parts = []
    for frame, role in ((outs, "out"), (ins, "in")):
        if frame.empty:
            continue
        pos = np.searchsorted(known, frame.batch_id.to_numpy(dtype=np.int64))
        rows = pd.DataFrame({"facility_id": frame.facility_id.to_numpy(), "day": frame.at_epoch_s.to_numpy() // 86400,
                             "form": frame.form.to_numpy(), "reo_kg": frame.reo_kg.to_numpy(dtype=float)})
        parts.append(aggregate(rows, comp[pos], role))
    _upsert(conn, pd.concat(parts, ignore_index=True))


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
