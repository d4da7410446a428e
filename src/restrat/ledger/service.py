"""Ledger services: import, lineage, balances, flows, verification, events, findings and their forwarding.

Access: regulators, analysts and admins see everything; an enterprise sees the events of its own facilities and
traces only batches its facilities produced or hold; the association sees national aggregates only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat.auth import service as auth
from restrat.errors import Forbidden, InputError, Problem
from restrat.ledger import format as fmt
from restrat.ledger import lineage
from restrat.ledger.balances import balance as _balance
from restrat.ledger.balances import national_flows
from restrat.ledger.importer import ImportResult, import_events
from restrat.ledger.verify import VerifyResult
from restrat.ledger.verify import verify as _verify
from restrat.store.bulk import write_rows

FULL_ACCESS = ("regulator", "analyst", "admin")


def import_file(*, session: Session, path: Path, username: str = "cli",
                progress: Callable[[str], None] | None = None) -> ImportResult:
    """Read, validate and append a JSON Lines, Parquet or CSV file of events in one transaction."""
    step = progress or (lambda _m: None)
    step(f"reading {path.name}")
    frames = fmt.read_events(path)
    step(f"validating and writing {len(frames):,} events")
    result = import_events(session=session, frames=frames, source_name=path.name, username=username)
    auth.audit(session=session, username=username, action="import", entity="ledger", entity_key=path.name,
               detail={"new": result.events_new, "skipped": result.events_skipped, "head": result.head_chain_hex})
    return result


def import_records(*, session: Session, records: list[dict[str, Any]], username: str,
                   enterprise_id: int | None = None) -> ImportResult:
    """Append events sent as JSON objects; an enterprise may only report events at its own facilities."""
    frames = fmt.read_records(records)
    if enterprise_id is not None:
        own = {c for (c,) in session.execute(text("SELECT code FROM facility WHERE enterprise_id = :e"),
                                             {"e": enterprise_id})}
        bad = ~frames.events["facility"].isin(own)
        if bad.any():
            rows = frames.events["row"][bad].tolist()
            raise Forbidden(f"events at facilities of other enterprises (rows {rows[:10]}) may not be reported")
    result = import_events(session=session, frames=frames, source_name="api", username=username)
    auth.audit(session=session, username=username, action="import", entity="ledger", entity_key="api",
               detail={"new": result.events_new, "skipped": result.events_skipped})
    return result


def _own_facilities(session: Session, enterprise_id: int) -> set[int]:
    return {i for (i,) in session.execute(text("SELECT id FROM facility WHERE enterprise_id = :e"),
                                         {"e": enterprise_id})}


def check_read(*, role: str, enterprise_id: int | None, session: Session, batch: str | None = None,
               facility: str | None = None) -> None:
    """Raise Forbidden when the role may not read this batch or facility's records."""
    if role in FULL_ACCESS:
        return
    if role != "enterprise" or enterprise_id is None:
        raise Forbidden(f"role '{role}' sees national aggregates only")
    own = _own_facilities(session, enterprise_id)
    if batch is not None:
        row = session.execute(text("SELECT b.facility_id, e.facility_id FROM ledger_batch b JOIN ledger_event e "
                                   "ON e.id = b.event_id WHERE b.code = :c"), {"c": batch}).first()
        if row is not None and not ({row[0], row[1]} & own):
            raise Forbidden(f"batch {batch} was neither produced nor held by your facilities")
    if facility is not None:
        fid = session.execute(text("SELECT id FROM facility WHERE code = :c"), {"c": facility}).scalar()
        if fid is not None and fid not in own:
            raise Forbidden(f"facility {facility} belongs to another enterprise")


def trace(*, session: Session, batch: str, direction: str = "up") -> dict[str, Any]:
    """The lineage of a batch with its origin mix (up) and destinations (down)."""
    return lineage.to_dict(lineage.trace(session=session, batch=batch, direction=direction), session=session)


def balance(*, session: Session, facility: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Per-element material balance of a facility over [start, end)."""
    if end <= start:
        raise InputError(Problem(field="end", rule="must be after start", value=end.isoformat()))
    return _balance(session=session, facility=facility, start=start, end=end)


def flows(*, session: Session, year: int | None = None) -> pd.DataFrame:
    """National REO flows between chain stages (Sankey links), in tonnes."""
    return national_flows(session=session, year=year)


def verify(*, session: Session) -> VerifyResult:
    """Recompute the hash chain over all stored events and report the first break."""
    return _verify(session=session)


def head(*, session: Session) -> dict[str, Any]:
    """The ledger head: last event id and chain hash, to publish with an external witness."""
    row = session.execute(text("SELECT last_event_id, last_batch_id, last_chain, updated_at FROM ledger_head "
                               "WHERE id = 1")).one()
    return {"last_event_id": int(row[0]), "last_batch_id": int(row[1]), "chain_hex": bytes(row[2]).hex(),
            "updated_at": str(row[3])}


def events(*, session: Session, facility: str | None = None, kind: str | None = None, limit: int = 100,
           enterprise_id: int | None = None) -> list[dict[str, Any]]:
    """The newest events, optionally of one facility or kind; an enterprise sees its own facilities only."""
    clauses, params = [], {"n": limit}
    if facility:
        clauses.append("f.code = :fac")
        params["fac"] = facility
    if kind:
        clauses.append("e.kind = :kind")
        params["kind"] = kind
    if enterprise_id is not None:
        clauses.append("f.enterprise_id = :ent")
        params["ent"] = enterprise_id
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = session.execute(text(
        "SELECT e.id, e.uid, e.kind, f.code, p.code, e.at_epoch_s, e.declared_kg, e.quota_ref, e.licence_ref, "
        "e.country, e.import_id FROM ledger_event e JOIN facility f ON f.id = e.facility_id "
        f"LEFT JOIN facility p ON p.id = e.partner_facility_id{where} ORDER BY e.id DESC LIMIT :n"), params).all()
    return [{"id": r[0], "uid": r[1], "kind": r[2], "facility": r[3], "partner_facility": r[4],
             "time": dt.datetime.fromtimestamp(r[5], dt.UTC).isoformat(), "declared_kg": r[6], "quota_ref": r[7],
             "licence_ref": r[8], "country": r[9], "import_id": r[10]} for r in rows]


# Findings other capabilities keep about ledger events, added to every scan: each "module:function" takes the
# session and returns a table with the columns of anomalies.COLUMNS (event uids resolved). Imported when the scan
# runs, as in ledger/consumers.py, so the ledger does not depend on them.
FINDING_SOURCES: tuple[str, ...] = ("restrat.exports.licences:ledger_findings",)


def scan(*, session: Session) -> pd.DataFrame:
    """Run the anomaly scan over the whole ledger (see docs/ledger-anomalies.md), with the findings of
    FINDING_SOURCES (exports flagged against their licence)."""
    from restrat.ledger import anomalies
    from restrat.ledger.consumers import _resolve

    found = anomalies.scan(anomalies.load_tables(session=session))
    parts = [f for f in (found, *(_resolve(t)(session=session) for t in FINDING_SOURCES)) if len(f)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts[0] if parts else found)


_ALERTS_FOR_SCAN = text(
    # Every facility a finding concerns: where it happened, who supplied the batches its events consumed, who
    # consumed their outputs, and where they were shipped. UNION keeps one alert per facility and direction.
    "INSERT INTO ledger_alert (finding_id, facility_id, direction, created_at) "
    "SELECT finding_id, facility_id, direction, CURRENT_TIMESTAMP FROM ("
    " SELECT t.finding_id, pe.facility_id, 'upstream' AS direction FROM tmp_finding_event t"
    " JOIN ledger_event e ON e.uid = t.uid JOIN ledger_input i ON i.event_id = e.id"
    " JOIN ledger_batch b ON b.id = i.batch_id JOIN ledger_event pe ON pe.id = b.event_id"
    " WHERE pe.facility_id <> e.facility_id"
    " UNION SELECT t.finding_id, c.facility_id, 'downstream' FROM tmp_finding_event t"
    " JOIN ledger_event e ON e.uid = t.uid JOIN ledger_batch b ON b.event_id = e.id"
    " JOIN ledger_input i ON i.batch_id = b.id JOIN ledger_event c ON c.id = i.event_id"
    " WHERE c.facility_id <> e.facility_id"
    " UNION SELECT t.finding_id, e.partner_facility_id, 'downstream' FROM tmp_finding_event t"
    " JOIN ledger_event e ON e.uid = t.uid WHERE e.partner_facility_id IS NOT NULL"
    " UNION SELECT id, facility_id, 'at' FROM ledger_finding WHERE scan_id = :s AND facility_id IS NOT NULL"
    ") x")


def record_findings(*, session: Session, findings: pd.DataFrame, username: str) -> dict[str, int]:
    """Store a scan's findings and forward each to the facilities upstream and downstream of its events."""
    scan_id = int(session.execute(text("SELECT COALESCE(MAX(scan_id), 0) + 1 FROM ledger_finding")).scalar_one())
    codes = dict(session.execute(text("SELECT code, id FROM facility")).all())
    uids = [list(u) for u in findings["event_uids"]] if len(findings) else []
    write_rows(session, "ledger_finding", ("scan_id", "kind", "rule", "facility_id", "event_uids", "size", "unit",
                                           "status", "created_at"),
               zip([scan_id] * len(findings), findings["kind"], findings["rule"],
                   [codes.get(c) for c in findings["facility_code"]], [json.dumps(u) for u in uids],
                   findings["size"].astype(float), findings["unit"], ["open"] * len(findings),
                   [dt.datetime.now(dt.UTC).replace(tzinfo=None)] * len(findings), strict=True))
    ids = [r[0] for r in session.execute(text("SELECT id FROM ledger_finding WHERE scan_id = :s ORDER BY id"),
                                         {"s": scan_id})]
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS tmp_finding_event (finding_id INTEGER, uid VARCHAR(80))"))
    session.execute(text("DELETE FROM tmp_finding_event"))
    write_rows(session, "tmp_finding_event", ("finding_id", "uid"),
               ((fid, uid) for fid, event_uids in zip(ids, uids, strict=True) for uid in event_uids))
    alerts = session.execute(_ALERTS_FOR_SCAN, {"s": scan_id}).rowcount
    session.execute(text("DROP TABLE tmp_finding_event"))
    auth.audit(session=session, username=username, action="scan", entity="ledger", entity_key=str(scan_id),
               detail={"findings": len(findings), "alerts": alerts})
    return {"scan_id": scan_id, "findings": len(findings), "alerts": alerts}


def alerts(*, session: Session, facility: str | None = None, enterprise_id: int | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    """Alerts forwarded to facilities (newest first), optionally for one facility or one enterprise's."""
    clauses, params = [], {"n": limit}
    if facility:
        clauses.append("f.code = :fac")
        params["fac"] = facility
    if enterprise_id is not None:
        clauses.append("f.enterprise_id = :ent")
        params["ent"] = enterprise_id
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = session.execute(text(
        "SELECT a.id, f.code, a.direction, x.kind, x.rule, x.size, x.unit, x.event_uids, x.scan_id FROM ledger_alert a "
        f"JOIN facility f ON f.id = a.facility_id JOIN ledger_finding x ON x.id = a.finding_id{where} "
        "ORDER BY a.id DESC LIMIT :n"), params).all()
    return [{"id": r[0], "facility": r[1], "direction": r[2], "kind": r[3], "rule": r[4], "size": r[5], "unit": r[6],
             "event_uids": json.loads(r[7]), "scan_id": r[8]} for r in rows]


# ---- reads for the web pages ----------------------------------------------------------------------------------


def event_counts(*, session: Session, enterprise_id: int | None = None) -> dict[str, int]:
    """Events per kind, most frequent first; an enterprise counts its own facilities only."""
    where, params = "", {}
    if enterprise_id is not None:
        where, params = " JOIN facility f ON f.id = e.facility_id WHERE f.enterprise_id = :ent", {"ent": enterprise_id}
    rows = session.execute(text(f"SELECT e.kind, COUNT(*) FROM ledger_event e{where} GROUP BY e.kind"), params).all()
    return {k: int(n) for k, n in sorted(rows, key=lambda r: -r[1])}


def time_span(*, session: Session) -> tuple[dt.date, dt.date] | None:
    """First and last day with events (UTC), or None for an empty ledger."""
    lo, hi = session.execute(text("SELECT MIN(at_epoch_s), MAX(at_epoch_s) FROM ledger_event")).one()
    if lo is None:
        return None
    return (dt.datetime.fromtimestamp(lo, dt.UTC).date(), dt.datetime.fromtimestamp(hi, dt.UTC).date())


def recent_batches(*, session: Session, code_prefix: str, limit: int = 5,
                   enterprise_id: int | None = None) -> list[dict[str, Any]]:
    """The newest batches whose code starts with code_prefix, as made (the copy a shipment re-codes is left out);
    an enterprise sees batches its facilities produced or hold, the same rule check_read applies to a trace."""
    scope, params = "", {"p": code_prefix.replace("%", "").replace("_", "\\_") + "%", "n": limit}
    if enterprise_id is not None:
        scope = (" AND (b.facility_id IN (SELECT id FROM facility WHERE enterprise_id = :ent) "
                 "OR e.facility_id IN (SELECT id FROM facility WHERE enterprise_id = :ent))")
        params["ent"] = enterprise_id
    rows = session.execute(text(
        "SELECT b.code, b.form, f.code, b.reo_kg, e.at_epoch_s FROM ledger_batch b "
        "JOIN ledger_event e ON e.id = b.event_id JOIN facility f ON f.id = b.facility_id "
        f"WHERE b.code LIKE :p ESCAPE '\\' AND e.kind <> 'shipment'{scope} ORDER BY b.id DESC LIMIT :n"), params).all()
    return [{"code": r[0], "form": r[1], "facility": r[2], "reo_kg": r[3],
             "time": dt.datetime.fromtimestamp(r[4], dt.UTC).isoformat()} for r in rows]


def ledger_facilities(*, session: Session, enterprise_id: int | None = None) -> list[dict[str, Any]]:
    """Facilities that reported events, in chain order, with their event count."""
    where, params = "", {}
    if enterprise_id is not None:
        where, params = " WHERE f.enterprise_id = :ent", {"ent": enterprise_id}
    rows = session.execute(text(
        "SELECT f.code, f.name, f.stage, COUNT(*) FROM ledger_event e JOIN facility f ON f.id = e.facility_id "
        f"LEFT JOIN chain_stage s ON s.code = f.stage{where} GROUP BY f.code, f.name, f.stage, s.position "
        "ORDER BY s.position, f.code"), params).all()
    return [{"code": r[0], "name": r[1], "stage": r[2], "events": int(r[3])} for r in rows]


def latest_findings(*, session: Session, kind: str | None = None, limit: int = 1000,
                    enterprise_id: int | None = None) -> dict[str, Any]:
    """The findings of the newest stored scan: counts per kind (before the kind filter) and the rows, largest
    first; an enterprise sees the findings at its own facilities only."""
    scan = session.execute(text("SELECT scan_id, MIN(created_at), COUNT(*) FROM ledger_finding "
                                "WHERE scan_id = (SELECT MAX(scan_id) FROM ledger_finding) GROUP BY scan_id")).first()
    if scan is None:
        return {"scan_id": None, "created_at": None, "total": 0, "counts": {}, "rows": []}
    scope, params = "", {"s": scan[0], "n": limit}
    if enterprise_id is not None:
        scope = " AND f.enterprise_id = :ent"
        params["ent"] = enterprise_id
    base = f"FROM ledger_finding x LEFT JOIN facility f ON f.id = x.facility_id WHERE x.scan_id = :s{scope}"
    counts = {k: int(n) for k, n in sorted(session.execute(
        text(f"SELECT x.kind, COUNT(*) {base} GROUP BY x.kind"), params).all(), key=lambda r: (-r[1], r[0]))}
    if kind:
        base += " AND x.kind = :kind"
        params["kind"] = kind
    rows = session.execute(text(
        f"SELECT x.id, x.kind, f.code, x.size, x.unit, x.event_uids, x.rule, x.status {base} "
        "ORDER BY x.kind, x.size DESC, x.id LIMIT :n"), params).all()
    return {"scan_id": int(scan[0]), "created_at": str(scan[1]), "total": sum(counts.values()), "counts": counts,
            "rows": [{"id": r[0], "kind": r[1], "facility": r[2], "size": r[3], "unit": r[4],
                      "event_uids": json.loads(r[5]), "rule": r[6], "status": r[7]} for r in rows]}
