"""Material balances per facility and period, per element, and national flows between chain stages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.errors import NotFound
from restrat.ledger import kinds as K

IN_CATEGORIES = {K.EXTRACTION: "extracted", K.PROCESSING: "produced", K.IMPORT: "imported", K.SHIPMENT: "received"}
OUT_CATEGORIES = {K.PROCESSING: "processed", K.SHIPMENT: "shipped", K.EXPORT: "exported", K.DISPOSAL: "disposed"}


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _vectors(reo: np.ndarray, comps: list[bytes]) -> np.ndarray:
    if not comps:
        return np.zeros((0, len(ELEMENTS)))
    return np.frombuffer(b"".join(bytes(c) for c in comps), dtype="<f4").reshape(-1, len(ELEMENTS)) * reo[:, None]


def facility_flows(*, session: Session, facility_id: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Every arrival (+) and consumption (-) of material at a facility with time, category and REO kg per element.
    Shipments count at the destination when received (never-received shipments stay in transit)."""
    arrivals = session.execute(text(
        "SELECT COALESCE(r.at_epoch_s, e.at_epoch_s), e.kind, b.reo_kg, b.comp, "
        "CASE WHEN e.kind = 'shipment' AND r.id IS NULL THEN 1 ELSE 0 END "
        "FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id "
        "LEFT JOIN ledger_event r ON r.kind = 'receipt' AND r.ref_event_id = e.id AND r.facility_id = b.facility_id "
        "WHERE b.facility_id = :f"), {"f": facility_id}).all()
    arrivals = [a for a in arrivals if not a[4]]
    uses = session.execute(text(
        "SELECT e.at_epoch_s, e.kind, i.kg / b.gross_kg * b.reo_kg, b.comp FROM ledger_input i "
        "JOIN ledger_event e ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id WHERE e.facility_id = :f"),
        {"f": facility_id}).all()
    frame = pd.DataFrame({
        "at": [a[0] for a in arrivals] + [u[0] for u in uses],
        "category": [IN_CATEGORIES[a[1]] for a in arrivals] + [OUT_CATEGORIES[u[1]] for u in uses],
        "sign": [1.0] * len(arrivals) + [-1.0] * len(uses),
    })
    vec = np.vstack([_vectors(np.array([a[2] for a in arrivals], dtype=float), [a[3] for a in arrivals]),
                     _vectors(np.array([u[2] for u in uses], dtype=float), [u[3] for u in uses])])
    return frame, vec * frame["sign"].to_numpy()[:, None]


def balance(*, session: Session, facility: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Opening stock + inputs - outputs - losses = closing stock, per element, for a facility and period
    [start, end), with declared stock counts in the period against the book stock."""
    row = session.execute(text("SELECT id, name, stage FROM facility WHERE code = :c"), {"c": facility}).first()
    if row is None:
        raise NotFound("facility", facility)
    fid = int(row[0])
    frame, vec = facility_flows(session=session, facility_id=fid)
    t0, t1 = _epoch(start), _epoch(end)
    at = frame["at"].to_numpy()
    opening = vec[at < t0].sum(axis=0)
    in_period = (at >= t0) & (at < t1)
    lines: dict[str, np.ndarray] = {}
    for cat in list(IN_CATEGORIES.values()) + list(OUT_CATEGORIES.values()):
        lines[cat] = vec[in_period & (frame["category"].to_numpy() == cat)].sum(axis=0)
    loss = -(lines["processed"] + lines["produced"])  # processed is negative
    closing = opening + vec[in_period].sum(axis=0)
    counts = session.execute(text(
        "SELECT uid, at_epoch_s, declared_kg FROM ledger_event WHERE kind = 'stock_count' AND facility_id = :f "
        "AND at_epoch_s >= :a AND at_epoch_s < :b ORDER BY at_epoch_s"), {"f": fid, "a": t0, "b": t1}).all()
    checks = []
    for uid, at_s, declared in counts:
        book = float(vec[at <= at_s].sum())
        checks.append({"event_uid": uid, "at": dt.datetime.fromtimestamp(at_s, dt.UTC).isoformat(),
                       "declared_reo_kg": declared, "book_reo_kg": book, "difference_reo_kg": declared - book})
    table = []
    for i, el in enumerate(ELEMENTS):
        entry = {"element": el, "opening_kg": opening[i]}
        entry.update({f"{k}_kg": abs(v[i]) for k, v in lines.items()})
        entry.update({"process_loss_kg": loss[i], "closing_kg": closing[i]})
        if any(abs(v) > 1e-9 for k, v in entry.items() if k != "element"):
            table.append(entry)
    totals = {k: float(sum(r[k] for r in table)) for k in (table[0].keys() if table else []) if k != "element"}
    return {"facility": facility, "name": row[1], "stage": row[2], "start": start.isoformat(), "end": end.isoformat(),
            "identity": "opening + extracted + imported + received + produced - processed - shipped - exported "
                        "- disposed = closing; process loss = processed - produced",
            "elements": table, "totals": totals, "stock_counts": checks}


def national_flows(*, session: Session, year: int | None = None) -> pd.DataFrame:
    """REO tonnes moving between chain stages (Sankey links): extraction, shipments, imports, exports, disposals
    and process losses, optionally for one year."""
    where, params = "", {}
    if year is not None:
        where = " AND e.at_epoch_s >= :a AND e.at_epoch_s < :b"
        params = {"a": _epoch(dt.date(year, 1, 1)), "b": _epoch(dt.date(year + 1, 1, 1))}
    q = {
        "extraction": "SELECT 'deposits', f.stage, SUM(b.reo_kg) FROM ledger_event e JOIN ledger_batch b "
                      "ON b.event_id = e.id JOIN facility f ON f.id = e.facility_id WHERE e.kind = 'extraction'"
                      f"{where} GROUP BY f.stage",
        "import": "SELECT 'imports', f.stage, SUM(b.reo_kg) FROM ledger_event e JOIN ledger_batch b "
                  "ON b.event_id = e.id JOIN facility f ON f.id = e.facility_id WHERE e.kind = 'import'"
                  f"{where} GROUP BY f.stage",
        "shipment": "SELECT fs.stage, fd.stage, SUM(b.reo_kg) FROM ledger_event e JOIN ledger_batch b "
                    "ON b.event_id = e.id JOIN facility fs ON fs.id = e.facility_id JOIN facility fd "
                    f"ON fd.id = e.partner_facility_id WHERE e.kind = 'shipment'{where} GROUP BY fs.stage, fd.stage",
        "export": "SELECT f.stage, 'exports', SUM(i.kg / b.gross_kg * b.reo_kg) FROM ledger_event e "
                  "JOIN ledger_input i ON i.event_id = e.id JOIN ledger_batch b ON b.id = i.batch_id "
                  "JOIN facility f ON f.id = e.facility_id "
                  f"WHERE e.kind = 'export'{where} GROUP BY f.stage",
        "disposal": "SELECT f.stage, 'wastes and residues', SUM(i.kg / b.gross_kg * b.reo_kg) FROM ledger_event e "
                    "JOIN ledger_input i ON i.event_id = e.id JOIN ledger_batch b ON b.id = i.batch_id "
                    f"JOIN facility f ON f.id = e.facility_id WHERE e.kind = 'disposal'{where} GROUP BY f.stage",
        "loss_in": "SELECT f.stage, 'process losses', SUM(i.kg / b.gross_kg * b.reo_kg) FROM ledger_event e "
                   "JOIN ledger_input i ON i.event_id = e.id JOIN ledger_batch b ON b.id = i.batch_id "
                   f"JOIN facility f ON f.id = e.facility_id WHERE e.kind = 'processing'{where} GROUP BY f.stage",
        "loss_out": "SELECT f.stage, 'process losses', -SUM(b.reo_kg) FROM ledger_event e JOIN ledger_batch b "
                    "ON b.event_id = e.id JOIN facility f ON f.id = e.facility_id WHERE e.kind = 'processing'"
                    f"{where} GROUP BY f.stage",
    }
    rows = []
    for flow, sql in q.items():
        for src, dst, kg in session.execute(text(sql), params):
            if kg:
                rows.append({"source": src, "target": dst, "flow": "process_loss" if flow.startswith("loss") else flow,
                             "reo_t": float(kg) / 1000})
    df = pd.DataFrame(rows, columns=["source", "target", "flow", "reo_t"])
    df = df.groupby(["source", "target", "flow"], as_index=False)["reo_t"].sum()
    return df[df.reo_t > 1e-9].sort_values("reo_t", ascending=False).reset_index(drop=True)
