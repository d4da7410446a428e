"""Lineage of a batch: back to its mines with per-element proportional shares through blending (mass-balance)
nodes, forward to exports, products, disposals and stocks. One indexed query per generation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.errors import InputError, NotFound, Problem
from restrat.ledger import kinds as K

ORIGIN_KINDS = {K.EXTRACTION, K.IMPORT}
MAX_GENERATIONS = 200

_UP = text(
    "SELECT i.event_id, i.batch_id, i.kg, b.code, b.event_id, b.facility_id, b.form, b.gross_kg, b.reo_kg, b.comp, "
    "pe.kind, pe.uid, pe.at_epoch_s, pe.facility_id, pe.country "
    "FROM ledger_input i JOIN ledger_batch b ON b.id = i.batch_id JOIN ledger_event pe ON pe.id = b.event_id "
    "WHERE i.event_id IN :ids ORDER BY i.id").bindparams(bindparam("ids", expanding=True))
_DOWN_USES = text(
    "SELECT i.batch_id, i.event_id, i.kg, e.kind, e.uid, e.at_epoch_s, e.facility_id, e.country "
    "FROM ledger_input i JOIN ledger_event e ON e.id = i.event_id WHERE i.batch_id IN :ids ORDER BY i.id"
).bindparams(bindparam("ids", expanding=True))
_DOWN_TOTALS = text(
    "SELECT i.event_id, SUM(i.kg * b.reo_kg / b.gross_kg) FROM ledger_input i JOIN ledger_batch b ON b.id = i.batch_id "
    "WHERE i.event_id IN :ids GROUP BY i.event_id").bindparams(bindparam("ids", expanding=True))
_DOWN_OUTPUTS = text(
    "SELECT id, code, event_id, facility_id, form, gross_kg, reo_kg, comp FROM ledger_batch WHERE event_id IN :ids "
    "ORDER BY id").bindparams(bindparam("ids", expanding=True))
_START = text(
    "SELECT b.id, b.code, b.event_id, b.facility_id, b.form, b.gross_kg, b.reo_kg, b.comp, e.kind, e.uid, "
    "e.at_epoch_s, e.facility_id, e.country FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id "
    "WHERE b.code = :code")


def _vec(comp: bytes, reo_kg: float) -> np.ndarray:
    return np.frombuffer(comp, dtype="<f4").astype(np.float64) * reo_kg


@dataclass
class Trace:
    """The lineage graph of one batch and what it summarises to."""

    batch: str
    direction: str
    nodes: dict[int, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)
    origins: dict[int, np.ndarray] = field(default_factory=dict)  # origin batch id -> REO kg per element
    unattributed: np.ndarray = field(default_factory=lambda: np.zeros(len(ELEMENTS)))
    ends: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def origin_mix(self, facilities: dict[int, dict[str, Any]]) -> dict[str, Any]:
        """Origin shares by mine, country and ore type, overall and per element."""
        total = sum((v for v in self.origins.values()), np.zeros(len(ELEMENTS))) + self.unattributed
        grand = float(total.sum()) or 1.0
        by: dict[str, dict[str, np.ndarray]] = {"mine": defaultdict(lambda: np.zeros(len(ELEMENTS))),
                                                "country": defaultdict(lambda: np.zeros(len(ELEMENTS))),
                                                "ore_type": defaultdict(lambda: np.zeros(len(ELEMENTS)))}
        for bid, vec in self.origins.items():
            node = self.nodes[bid]
            fac = facilities.get(node["facility_id"], {})
            imported = node["produced_by"]["kind"] == K.IMPORT
            by["mine"][fac.get("code", "?") if not imported else f"import:{node['produced_by']['country']}"] += vec
            by["country"][node["produced_by"]["country"] if imported else fac.get("country", "?")] += vec
            by["ore_type"]["imported" if imported else fac.get("ore_type", "?")] += vec
        if self.unattributed.sum() > 0:
            for key in by:
                by[key]["unknown (gained in processing)"] += self.unattributed
        out: dict[str, Any] = {"total_reo_kg": float(total.sum())}
        for key, groups in by.items():
            rows = []
            for name, vec in sorted(groups.items(), key=lambda kv: -kv[1].sum()):
                per_el = {el: float(vec[i] / total[i]) for i, el in enumerate(ELEMENTS) if total[i] > 0 and vec[i] > 0}
                rows.append({key: name, "reo_kg": float(vec.sum()), "share": float(vec.sum() / grand),
                             "share_by_element": per_el})
            out[f"by_{key}"] = rows
        return out


def _node(row: Any, *, bid: int) -> dict[str, Any]:
    return {"id": bid, "code": row.code, "facility_id": row.facility_id, "form": row.form, "gross_kg": row.gross_kg,
            "reo_kg": row.reo_kg, "composition": np.frombuffer(row.comp, dtype="<f4").astype(float).round(6).tolist(),
            "produced_by": {"event_id": row.event_id, "kind": row.kind, "uid": row.uid, "at_epoch_s": row.at_epoch_s,
                            "facility_id": row.event_facility_id, "country": row.country}}


class _Row:
    __slots__ = ("code", "event_id", "facility_id", "form", "gross_kg", "reo_kg", "comp", "kind", "uid", "at_epoch_s",
                 "event_facility_id", "country")

    def __init__(self, *values: Any) -> None:
        for k, v in zip(self.__slots__, values, strict=True):
            setattr(self, k, v)


def trace(*, session: Session, batch: str, direction: str = "up", max_nodes: int = 20_000) -> Trace:
    """The lineage of a batch: 'up' to its origins, 'down' to where it went, or 'both'."""
    if direction not in ("up", "down", "both"):
        raise InputError(Problem(field="direction", rule="must be 'up', 'down' or 'both'", value=direction))
    start = session.execute(_START, {"code": batch}).first()
    if start is None:
        raise NotFound("batch", batch)
    bid = int(start[0])
    result = Trace(batch=batch, direction=direction)
    result.nodes[bid] = _node(_Row(*start[1:]), bid=bid)
    if direction in ("up", "both"):
        _up(session, result, bid, max_nodes)
    if direction in ("down", "both"):
        _down(session, result, bid, max_nodes)
    return result


def _up(session: Session, result: Trace, start: int, max_nodes: int) -> None:
    frontier: dict[int, np.ndarray] = {start: _vec(_comp(result, start), result.nodes[start]["reo_kg"])}
    for _ in range(MAX_GENERATIONS):
        by_event: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
        for bid, vec in frontier.items():
            produced = result.nodes[bid]["produced_by"]
            if produced["kind"] in ORIGIN_KINDS:
                result.origins[bid] = result.origins.get(bid, 0) + vec
            else:
                by_event[produced["event_id"]].append((bid, vec))
        if not by_event:
            return
        rows = session.execute(_UP, {"ids": list(by_event)}).all()
        inputs: dict[int, list[Any]] = defaultdict(list)
        for r in rows:
            inputs[r[0]].append(r)
        nxt: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(len(ELEMENTS)))
        for event_id, targets in by_event.items():
            ins = inputs.get(event_id, [])
            if not ins:
                for _bid, vec in targets:
                    result.unattributed += vec
                continue
            contrib = np.array([_vec(r[9], r[8] * r[2] / r[7]) for r in ins])  # REO kg per element consumed
            totals = contrib.sum(axis=0)
            for out_bid, vec in targets:
                with np.errstate(divide="ignore", invalid="ignore"):
                    shares = np.where(totals > 0, contrib / totals, 0.0)
                attributed = shares * vec
                result.unattributed += np.where(totals > 0, 0.0, vec)
                for r, att in zip(ins, attributed, strict=True):
                    if att.sum() <= 0:
                        continue
                    in_bid = int(r[1])
                    if in_bid not in result.nodes:
                        result.nodes[in_bid] = _node(_Row(r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                                                          r[12], r[13], r[14]), bid=in_bid)
                    result.edges.append({"from": in_bid, "to": out_bid, "event_id": event_id, "kg": float(r[2]),
                                         "reo_kg": float(att.sum()), "direction": "up"})
                    nxt[in_bid] += att
        if len(result.nodes) > max_nodes:
            result.truncated = True
            return
        frontier = dict(nxt)


def _comp(result: Trace, bid: int) -> bytes:
    return np.asarray(result.nodes[bid]["composition"], dtype="<f4").tobytes()


def _down(session: Session, result: Trace, start: int, max_nodes: int) -> None:
    frontier: dict[int, float] = {start: float(result.nodes[start]["reo_kg"])}  # REO kg of the start batch carried
    for _ in range(MAX_GENERATIONS):
        uses = session.execute(_DOWN_USES, {"ids": list(frontier)}).all()
        used: dict[int, float] = defaultdict(float)
        events: dict[int, Any] = {}
        carried_in: dict[int, float] = defaultdict(float)
        for batch_id, event_id, kg, kind, uid, at, fac, country in uses:
            node = result.nodes[batch_id]
            part = kg / node["gross_kg"]
            used[batch_id] += part
            carried_in[event_id] += frontier[batch_id] * min(part, 1.0)
            events[event_id] = (kind, uid, at, fac, country, batch_id, kg)
        for bid, carried in frontier.items():
            left = 1.0 - used.get(bid, 0.0)
            if left > 1e-9:
                node = result.nodes[bid]
                result.ends.append({"batch_id": bid, "kind": "in_stock", "facility_id": node["facility_id"],
                                    "reo_kg": carried * left, "event_uid": None, "country": None})
        if not events:
            return
        processing = [e for e, v in events.items() if v[0] not in (K.EXPORT, K.DISPOSAL)]
        for e, (kind, uid, at, fac, country, _bid, _kg) in events.items():
            if kind in (K.EXPORT, K.DISPOSAL):
                result.ends.append({"batch_id": None, "kind": kind, "facility_id": fac, "country": country,
                                    "reo_kg": carried_in[e], "event_uid": uid, "at_epoch_s": at})
        if not processing:
            return
        totals = dict(session.execute(_DOWN_TOTALS, {"ids": processing}).all())
        outputs = session.execute(_DOWN_OUTPUTS, {"ids": processing}).all()
        nxt: dict[int, float] = defaultdict(float)
        produced: dict[int, float] = defaultdict(float)
        for oid, code, event_id, fac, form, gross, reo, comp in outputs:
            kind, uid, at, efac, country, _b, _kg = events[event_id]
            share = carried_in[event_id] / totals[event_id] if totals.get(event_id) else 0.0
            carried = reo * min(share, 1.0)
            if oid not in result.nodes:
                result.nodes[oid] = _node(_Row(code, event_id, fac, form, gross, reo, comp, kind, uid, at, efac,
                                               country), bid=oid)
            for batch_id, e2, kg, *_rest in uses:
                if e2 == event_id:
                    result.edges.append({"from": batch_id, "to": oid, "event_id": event_id, "kg": float(kg),
                                         "reo_kg": carried, "direction": "down"})
            nxt[oid] += carried
            produced[event_id] += carried
        for e in processing:
            lost = carried_in[e] - produced.get(e, 0.0)
            if lost > 1e-9 and events[e][0] == K.PROCESSING:
                result.ends.append({"batch_id": None, "kind": "process_loss", "facility_id": events[e][3],
                                    "country": None, "reo_kg": lost, "event_uid": events[e][1]})
        if len(result.nodes) > max_nodes:
            result.truncated = True
            return
        frontier = dict(nxt)


def facility_lookup(*, session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Code, name, stage, country and ore type of the given facilities."""
    if not ids:
        return {}
    stmt = text("SELECT id, code, name, stage, country, ore_type FROM facility WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    return {r[0]: {"code": r[1], "name": r[2], "stage": r[3], "country": r[4], "ore_type": r[5]}
            for r in session.execute(stmt, {"ids": sorted(ids)})}


def to_dict(t: Trace, *, session: Session) -> dict[str, Any]:
    """A JSON-ready view of a trace with facility names and origin shares."""
    fac_ids = {n["facility_id"] for n in t.nodes.values()} | {e["facility_id"] for e in t.ends if e["facility_id"]}
    facilities = facility_lookup(session=session, ids=fac_ids)
    nodes = []
    for n in t.nodes.values():
        f = facilities.get(n["facility_id"], {})
        nodes.append({**n, "facility": f.get("code"), "facility_name": f.get("name"), "stage": f.get("stage"),
                      "composition": dict(zip(ELEMENTS, n["composition"], strict=True))})
    merged: dict[tuple[int, int], dict[str, Any]] = {}
    for e in t.edges:
        key = (e["from"], e["to"])
        if key in merged:
            merged[key]["reo_kg"] += e["reo_kg"]
        else:
            merged[key] = dict(e)
    codes = {n["id"]: n["code"] for n in t.nodes.values()}
    edges = [{**e, "from_batch": codes[e["from"]], "to_batch": codes[e["to"]]} for e in merged.values()]
    out: dict[str, Any] = {"batch": t.batch, "direction": t.direction, "truncated": t.truncated, "nodes": nodes,
                           "edges": edges}
    if t.direction in ("up", "both"):
        out["origin"] = t.origin_mix(facilities)
    if t.direction in ("down", "both"):
        dest: dict[str, float] = defaultdict(float)
        for e in t.ends:
            fac_code = facilities.get(e["facility_id"], {}).get("code")
            label = {"export": f"exported to {e['country']}", "disposal": "disposed",
                     "process_loss": f"process loss at {fac_code}",
                     "in_stock": f"in stock at {fac_code}"}[e["kind"]]
            dest[label] += e["reo_kg"]
        out["destinations"] = [{"destination": k, "reo_kg": v} for k, v in sorted(dest.items(), key=lambda kv: -kv[1])]
    return out
