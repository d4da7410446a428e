"""Set-wise validation of an import (pure): frames and the database context in, problems and a write plan out.

Hard rules refuse the whole import (malformed values, unknown references, impossible dates, transfers that
change the material). Truthful but irregular records (consumption beyond a batch's mass, element gain in
processing, over-quota extraction, unreceived transfers) are accepted and left to the anomaly scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from restrat.errors import Problem
from restrat.ledger import kinds as K
from restrat.ledger.format import EventFrames, arrow_strings

COMPOSITION_TOLERANCE = 1e-3
MAX_PROBLEMS = 1000
# kind -> (min inputs, max inputs, min outputs, max outputs)
ARITY = {K.EXTRACTION: (0, 0, 1, None), K.PROCESSING: (1, None, 1, None), K.SHIPMENT: (1, 1, 1, 1),
         K.RECEIPT: (0, 0, 0, 0), K.IMPORT: (0, 0, 1, None), K.EXPORT: (1, None, 0, 0),
         K.DISPOSAL: (1, None, 0, 0), K.STOCK_COUNT: (0, 0, 0, 0), K.CORRECTION: (0, 0, 0, 0)}


@dataclass
class Context:
    """What the database knows about the references of an import."""

    facilities: pd.DataFrame  # index code; columns id
    forms: set[str]
    batches: pd.DataFrame  # index code; columns id, facility_id, at, gross_kg: existing batches the import consumes
    events: pd.DataFrame  # index uid; columns id, kind, partner_facility_id, at: existing events it references
    taken_batch_codes: set[str] = field(default_factory=set)  # output codes already in the ledger


@dataclass
class Plan:
    """Resolved references for the rows that will be written."""

    facility_id: np.ndarray
    partner_id: np.ndarray  # -1 where none
    ref_kind: np.ndarray  # 'db' / 'file' / '' per event
    ref_index: np.ndarray  # existing event id (db) or file position (file); -1 where none
    in_source: np.ndarray  # 'db' or 'file' per input
    in_ref: np.ndarray  # existing batch id (db) or output position in this file (file)
    out_facility_id: np.ndarray


class _Collector:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.items: list[Problem] = []

    def add(self, mask: np.ndarray, field_name: str, rule: str, values: object = None, *,
            ev: np.ndarray | None = None) -> None:
        """Record a problem for every event position set in mask (or for ev positions of the masked items)."""
        if len(self.items) >= MAX_PROBLEMS:
            return
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        positions = ev[idx] if ev is not None else idx
        vals = None if values is None else np.asarray(values, dtype=object)[idx]
        for k, pos in enumerate(positions[: MAX_PROBLEMS - len(self.items)]):
            self.items.append(Problem(row=int(self.rows[pos]), field=field_name, rule=rule,
                                      value=None if vals is None else vals[k]))


def _position(values: pd.Series, keys: pd.Series | pd.Index) -> np.ndarray:
    """For each value, the position of the first equal key; -1 where none is equal or the value is missing. A hash
    lookup in Arrow: pandas' reindex on strings first turns every value into a Python object."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    if not len(keys):
        return np.full(len(values), -1, dtype=np.int64)
    found = pc.index_in(arrow_strings(values), value_set=arrow_strings(keys), skip_nulls=True)
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def _pick(source: pd.Series, pos: np.ndarray, *, missing: float = np.nan) -> np.ndarray:
    """source's values at pos as float64, missing where pos is -1."""
    vals = source.to_numpy(dtype=float)
    return np.where(pos >= 0, vals[np.maximum(pos, 0)] if len(vals) else missing, missing)


def _blank(values: pd.Series) -> np.ndarray:
    return (values.isna() | values.astype("string").str.len().eq(0)).to_numpy(dtype=bool)


def check(frames: EventFrames, ctx: Context) -> tuple[list[Problem], Plan | None]:
    """Every broken hard rule of the import, and the plan to write it when there is none."""
    ev, ins, outs = frames.events, frames.inputs, frames.outputs
    n = len(ev)
    p = _Collector(ev["row"].to_numpy())

    uid_blank = _blank(ev["uid"])
    p.add(uid_blank, "event_id", "is required")
    p.add(~uid_blank & ev["uid"].fillna("").str.len().gt(80).to_numpy(), "event_id", "must be at most 80 characters",
          ev["uid"])
    p.add((~uid_blank & ev["uid"].duplicated(keep="first").to_numpy()), "event_id", "appears twice in this file",
          ev["uid"])
    kind = ev["kind"].fillna("")
    kind_ok = kind.isin(list(ARITY)).to_numpy()
    p.add(~kind_ok, "kind", f"must be one of {list(ARITY)}", kind)
    p.add(ev["at"].to_numpy() == np.iinfo(np.int64).min, "time", "must be an ISO 8601 date-time", ev["time"])

    fac_codes = ev["facility"].fillna("")
    fac_id = _pick(ctx.facilities["id"], _position(ev["facility"], ctx.facilities.index))
    p.add(_blank(ev["facility"]), "facility", "is required")
    p.add(~_blank(ev["facility"]) & np.isnan(fac_id), "facility", "unknown facility (not in the registry)", fac_codes)
    partner = ev["partner_facility"]
    partner_id = _pick(ctx.facilities["id"], _position(partner, ctx.facilities.index))
    has_partner = ~_blank(partner)
    p.add(has_partner & np.isnan(partner_id), "partner_facility", "unknown facility (not in the registry)", partner)
    p.add((kind == K.SHIPMENT).to_numpy() & ~has_partner, "partner_facility", "a shipment names its destination")

    n_in = np.bincount(ins["ev"].to_numpy(), minlength=n) if len(ins) else np.zeros(n, dtype=np.int64)
    n_out = np.bincount(outs["ev"].to_numpy(), minlength=n) if len(outs) else np.zeros(n, dtype=np.int64)
    for k, (lo_in, hi_in, lo_out, hi_out) in ARITY.items():
        is_k = (kind == k).to_numpy()
        p.add(is_k & (n_in < lo_in), "inputs", f"a {k} event needs at least {lo_in} input batch(es)")
        if hi_in is not None:
            p.add(is_k & (n_in > hi_in), "inputs", f"a {k} event takes at most {hi_in} input batch(es)")
        p.add(is_k & (n_out < lo_out), "outputs", f"a {k} event needs at least {lo_out} output batch(es)")
        if hi_out is not None:
            p.add(is_k & (n_out > hi_out), "outputs", f"a {k} event produces at most {hi_out} output batch(es)")

    # Inputs: positive mass, known batch (earlier in this file or already in the ledger), not produced later.
    in_ev = ins["ev"].to_numpy()
    in_kg = ins["kg"].to_numpy(dtype=float)
    p.add(~(in_kg > 0) | ~np.isfinite(in_kg), "inputs.mass_kg", "must be a positive number of kg", in_kg, ev=in_ev)
    out_pos = _position(ins["batch"], outs["batch"])
    file_ref = np.where(out_pos >= 0, out_pos, np.nan)
    db_pos = _position(ins["batch"], ctx.batches.index)
    db_ref = _pick(ctx.batches["id"], db_pos)
    known = ~np.isnan(file_ref) | ~np.isnan(db_ref)
    p.add(~known, "inputs.batch", "unknown batch (not produced in this file nor in the ledger)", ins["batch"], ev=in_ev)
    at = ev["at"].to_numpy()
    prod_at = np.full(len(ins), np.iinfo(np.int64).min, dtype=np.int64)
    from_file = ~np.isnan(file_ref)
    prod_at[from_file] = at[outs["ev"].to_numpy()[file_ref[from_file].astype(np.int64)]]
    from_db = ~from_file & ~np.isnan(db_ref)
    prod_at[from_db] = ctx.batches["at"].to_numpy(dtype=np.int64)[db_pos[from_db]]
    p.add(known & (prod_at > at[in_ev]), "inputs.batch", "consumed before the event that produced it",
          ins["batch"], ev=in_ev)
    producer = outs["ev"].to_numpy()[np.where(from_file, file_ref, 0).astype(np.int64)] if len(outs) else in_ev + 1
    self_loop = from_file & (producer == in_ev)
    p.add(self_loop, "inputs.batch", "an event cannot consume its own output", ins["batch"], ev=in_ev)

    # Outputs: code, form, mass, grade, composition.
    out_ev = outs["ev"].to_numpy()
    ob = outs["batch"].fillna("")
    p.add(_blank(outs["batch"]), "outputs.batch", "is required", ev=out_ev)
    p.add(ob.str.len().gt(80).to_numpy(), "outputs.batch", "must be at most 80 characters", ob, ev=out_ev)
    p.add((ob.ne("") & ob.duplicated(keep="first")).to_numpy(), "outputs.batch",
          "batch code produced twice in this file", ob, ev=out_ev)
    if ctx.taken_batch_codes:
        p.add(ob.isin(ctx.taken_batch_codes).to_numpy(), "outputs.batch", "batch code already in the ledger", ob,
              ev=out_ev)
    p.add(~outs["form"].fillna("").isin(ctx.forms).to_numpy(), "outputs.form", "unknown product form (see catalog)",
          outs["form"], ev=out_ev)
    okg = outs["kg"].to_numpy(dtype=float)
    p.add(~(okg > 0) | ~np.isfinite(okg), "outputs.mass_kg", "must be a positive number of kg", okg, ev=out_ev)
    grade = outs["grade"].to_numpy(dtype=float)
    p.add(~((grade > 0) & (grade <= 1)), "outputs.reo_grade", "must be in (0, 1]", grade, ev=out_ev)
    comp = frames.out_comp
    comp_sum = comp.sum(axis=1) if len(comp) else np.zeros(0)
    p.add(np.isnan(comp_sum), "outputs.composition", "is required", ev=out_ev)
    p.add((comp < 0).any(axis=1) if len(comp) else np.zeros(0, bool), "outputs.composition",
          "fractions must not be negative", ev=out_ev)
    p.add(~np.isnan(comp_sum) & (np.abs(comp_sum - 1) > COMPOSITION_TOLERANCE), "outputs.composition",
          f"fractions must sum to 1 (within {COMPOSITION_TOLERANCE})", np.round(comp_sum, 6), ev=out_ev)

    # A shipment moves material: its output is its input, same mass, grade and composition.
    ship = (kind == K.SHIPMENT).to_numpy()
    ship_in = ship[in_ev] & known
    if ship_in.any():
        s_ev = in_ev[ship_in]
        o_idx = pd.Series(np.arange(len(outs)), index=out_ev).groupby(level=0).first().reindex(s_ev).to_numpy()
        ok = ~np.isnan(o_idx)
        s_ev, o_idx, kg_in = s_ev[ok], o_idx[ok].astype(np.int64), in_kg[ship_in][ok]
        p.add(np.abs(okg[o_idx] - kg_in) > 1e-6 * np.maximum(kg_in, 1), "outputs.mass_kg",
              "a shipment's output mass must equal the mass shipped", okg[o_idx], ev=s_ev)

    # Receipts and corrections reference an event in this file or in the ledger.
    ref = ev["shipment_event"].where(kind == K.RECEIPT, ev["corrects"])
    needs_ref = kind.isin([K.RECEIPT, K.CORRECTION]).to_numpy()
    ref_field = np.where((kind == K.RECEIPT).to_numpy(), "shipment_event", "corrects")
    ref_pos = _position(ref, ev["uid"])
    ref_file = np.where(ref_pos >= 0, ref_pos, np.nan)
    ref_db_pos = _position(ref, ctx.events.index)
    ref_db = _pick(ctx.events["id"], ref_db_pos)
    ref_known = ~np.isnan(ref_file) | ~np.isnan(ref_db)
    for fname in ("shipment_event", "corrects"):
        sel = needs_ref & (ref_field == fname)
        p.add(sel & _blank(ref), fname, "is required")
        p.add(sel & ~_blank(ref) & ~ref_known, fname, "unknown event (not in this file nor in the ledger)", ref)
    ref_kind_file = kind.to_numpy()[np.where(np.isnan(ref_file), 0, ref_file).astype(np.int64)]
    ref_kind_db = np.where(ref_db_pos >= 0, ctx.events["kind"].to_numpy(dtype=object)[np.maximum(ref_db_pos, 0)]
                           if len(ctx.events) else None, None)
    ref_kinds = np.where(~np.isnan(ref_file), ref_kind_file, ref_kind_db)
    is_receipt = (kind == K.RECEIPT).to_numpy()
    p.add(is_receipt & ref_known & (ref_kinds != K.SHIPMENT), "shipment_event", "must reference a shipment", ref)
    ref_at = np.where(~np.isnan(ref_file), at[np.where(np.isnan(ref_file), 0, ref_file).astype(np.int64)],
                      _pick(ctx.events["at"], ref_db_pos, missing=0).astype(np.int64))
    p.add(is_receipt & ref_known & (ref_at > at), "time", "a receipt cannot precede its shipment", ev["time"])
    rkg = ev["received_kg"].to_numpy(dtype=float)
    p.add(is_receipt & ~(rkg > 0), "received_kg", "a receipt states the positive gross kg received", rkg)
    is_count = (kind == K.STOCK_COUNT).to_numpy()
    skg = ev["stock_reo_kg"].to_numpy(dtype=float)
    p.add(is_count & ~(skg >= 0), "stock_reo_kg", "a stock count states the REO kg on hand (>= 0)", skg)
    scomp = frames.stock_comp
    ssum = scomp.sum(axis=1) if len(scomp) else np.zeros(0)
    p.add(is_count & ~np.isnan(ssum) & (np.abs(ssum - 1) > COMPOSITION_TOLERANCE), "stock_composition",
          f"fractions must sum to 1 (within {COMPOSITION_TOLERANCE})", np.round(ssum, 6))
    p.add((kind.isin([K.IMPORT, K.EXPORT]).to_numpy()) & _blank(ev["country"]), "country",
          "imports name their origin and exports their destination country")

    problems = sorted(p.items, key=lambda q: (q.row or 0, q.field))
    if problems:
        return problems, None
    out_fac = np.where(ship[out_ev], partner_id[out_ev], fac_id[out_ev]).astype(np.int64)
    plan = Plan(
        facility_id=fac_id.astype(np.int64),
        partner_id=np.where(np.isnan(partner_id), -1, partner_id).astype(np.int64),
        ref_kind=np.where(~np.isnan(ref_file) & needs_ref, "file", np.where(~np.isnan(ref_db) & needs_ref, "db", "")),
        ref_index=np.where(~np.isnan(ref_file) & needs_ref, ref_file,
                           np.where(~np.isnan(ref_db) & needs_ref, ref_db, -1)).astype(np.int64),
        in_source=np.where(from_file, "file", "db"),
        in_ref=np.where(from_file, file_ref, db_ref).astype(np.int64),
        out_facility_id=out_fac,
    )
    return [], plan
