"""Anomaly scan over the whole ledger (pure: tables in, findings out), set-wise with numpy and pandas.

Each rule returns findings with the columns of `COLUMNS`: the kind, the rule in words, the events involved,
the facility where it shows, and its size with unit. The rules and thresholds are described in
docs/ledger-anomalies.md; `ScanParams` holds the thresholds so a regulator can tune them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from restrat.catalog.service import ELEMENTS
from restrat.ledger import kinds as K
from restrat.quota.amounts import in_force
from restrat.store.bulk import lookup

COLUMNS = ["kind", "rule", "event_uids", "facility_code", "size", "unit"]
HEAVY = [ELEMENTS.index(e) for e in ("Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y")]
MAX_UIDS = 50  # events named per finding; the size covers all of them


@dataclass(frozen=True)
class ScanParams:
    """Thresholds of the scan (documented in docs/ledger-anomalies.md)."""

    gain_tolerance: float = 0.01  # an element may come out of processing up to 1% above what went in
    gain_floor_kg: float = 0.5  # ... plus this many kg REO (measurement noise on trace elements)
    rock_heavy_share_max: float = 0.08  # heavy rare earths above 8% of REO is not a rock-type (LREE) ore
    transfer_tolerance: float = 0.005  # receipts within 0.5% of the mass shipped ...
    transfer_floor_kg: float = 1.0  # ... or 1 kg
    transit_grace_days: float = 30.0  # shipments younger than this at the time of the scan are in transit
    stock_tolerance: float = 0.01  # counts within 1% of the book stock ...
    stock_floor_kg: float = 10.0  # ... or 10 kg REO


@dataclass
class LedgerTables:
    """The ledger as flat tables: what every rule reads."""

    events: pd.DataFrame  # id, kind, facility_id, partner_id, at, ref_id, declared_kg, quota_ref (and uid, or uid_of)
    batches: pd.DataFrame  # id, event_id, facility_id, gross_kg, reo_kg (row order matches comp)
    comp: np.ndarray  # (len(batches), 17) REO fractions
    inputs: pd.DataFrame  # event_id, batch_id, kg
    facilities: pd.DataFrame  # id, code, stage, ore_type
    quotas: pd.DataFrame  # id, code, facility_id, year, kind, tonnes_reo (as allocated)
    # dated changes of those allocations: target_id, change_id, effective_on, tonnes_reo (from that day)
    quota_changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["target_id", "change_id", "effective_on", "tonnes_reo"]))
    # Event ids -> event uids, for the events the findings name; reading a million uids would cost more than
    # the whole scan, so load_tables leaves them in the database.
    uid_of: Callable[[list[int]], dict[int, str]] | None = None


def _rows(session: Session, sql: str) -> list[tuple[Any, ...]]:
    """Rows from the DBAPI cursor, without SQLAlchemy's per-row objects."""
    cur = session.connection().connection.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


def _numbers(session: Session, sql: str, names: list[str]) -> pd.DataFrame:
    """A numeric query as float64 columns (NULL becomes NaN), converted in one C pass."""
    rows = _rows(session, sql)
    data = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    return pd.DataFrame(data, columns=names)


def load_tables(*, session: Session) -> LedgerTables:
    """Read the ledger, registry and quota tables needed by the scan."""
    kind_case = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(K.KINDS))
    events = _numbers(session, f"SELECT id, CASE kind {kind_case} ELSE -1 END, facility_id, partner_facility_id, "
                               "at_epoch_s, ref_event_id, declared_kg FROM ledger_event ORDER BY id",
                      ["id", "kind", "facility_id", "partner_id", "at", "ref_id", "declared_kg"])
    for col in ("id", "facility_id", "at"):
        events[col] = events[col].astype(np.int64)
    names = np.array(list(K.KINDS) + ["?"], dtype=object)
    events["kind"] = names[events["kind"].to_numpy(dtype=np.int64)]
    refs = dict(_rows(session, "SELECT id, quota_ref FROM ledger_event WHERE kind = 'extraction'"))
    events["quota_ref"] = pd.Series(refs, dtype=object).reindex(events["id"].to_numpy()).to_numpy()
    batches = _numbers(session, "SELECT id, event_id, facility_id, gross_kg, reo_kg FROM ledger_batch ORDER BY id",
                       ["id", "event_id", "facility_id", "gross_kg", "reo_kg"])
    for col in ("id", "event_id", "facility_id"):
        batches[col] = batches[col].astype(np.int64)
    blobs = b"".join(r[0] for r in _rows(session, "SELECT comp FROM ledger_batch ORDER BY id"))
    comp = np.frombuffer(blobs, dtype="<f4").reshape(-1, len(ELEMENTS)).astype(np.float64)
    inputs = _numbers(session, "SELECT event_id, batch_id, kg FROM ledger_input ORDER BY id",
                      ["event_id", "batch_id", "kg"])
    for col in ("event_id", "batch_id"):
        inputs[col] = inputs[col].astype(np.int64)
    facilities = pd.DataFrame(_rows(session, "SELECT id, code, stage, ore_type FROM facility"),
                              columns=["id", "code", "stage", "ore_type"])
    quotas = pd.DataFrame(_rows(session, "SELECT id, code, facility_id, year, kind, tonnes_reo FROM quota_allocation"),
                          columns=["id", "code", "facility_id", "year", "kind", "tonnes_reo"])
    quota_changes = pd.DataFrame(_rows(session, "SELECT target_id, id, effective_on, tonnes_reo FROM quota_change "
                                                "WHERE target = 'allocation'"),
                                 columns=["target_id", "change_id", "effective_on", "tonnes_reo"])

    def uid_of(ids: list[int]) -> dict[int, str]:
        return {int(i): u for i, u in lookup(session, "SELECT id, uid FROM ledger_event WHERE id IN {keys}", ids)}

    return LedgerTables(events=events, batches=batches, comp=comp, inputs=inputs, facilities=facilities,
                        quotas=quotas, quota_changes=quota_changes, uid_of=uid_of)


def _findings(kind: str, rule: str | Iterable[str], positions: Iterable[list[int]], facility: Iterable[Any],
              size: Iterable[float], unit: str) -> pd.DataFrame:
    """Findings of one rule; events are named by position until scan() resolves them to event ids once."""
    pos = list(positions)
    rules = [rule] * len(pos) if isinstance(rule, str) else list(rule)
    return pd.DataFrame({"kind": kind, "rule": rules, "event_uids": pos, "facility_code": list(facility),
                         "size": np.asarray(list(size), dtype=float), "unit": unit}, columns=COLUMNS)


class _Scan:
    """Shared lookups of one scan; each rule is a method returning findings."""

    def __init__(self, t: LedgerTables, p: ScanParams, as_of: int) -> None:
        self.t, self.p, self.as_of = t, p, as_of
        ev = t.events
        self.ev_pos = pd.Series(np.arange(len(ev)), index=ev["id"].to_numpy())
        self.batch_pos = pd.Series(np.arange(len(t.batches)), index=t.batches["id"].to_numpy())
        self.code = t.facilities.set_index("id")["code"]
        self.kind = ev["kind"].to_numpy(dtype=object)
        self.fac = ev["facility_id"].to_numpy()
        self.at = ev["at"].to_numpy(dtype=np.int64)
        b = t.batches
        self.b_ev = self.ev_pos.reindex(b["event_id"].to_numpy()).to_numpy()  # producing event position
        self.b_reo = b["reo_kg"].to_numpy(dtype=float)
        self.b_gross = b["gross_kg"].to_numpy(dtype=float)
        self.b_fac = b["facility_id"].to_numpy()
        i = t.inputs
        self.i_ev = self.ev_pos.reindex(i["event_id"].to_numpy()).to_numpy()
        self.i_b = self.batch_pos.reindex(i["batch_id"].to_numpy()).to_numpy()
        self.i_kg = i["kg"].to_numpy(dtype=float)
        self.i_reo = self.i_kg / self.b_gross[self.i_b] * self.b_reo[self.i_b]

    def codes(self, facility_ids: np.ndarray) -> np.ndarray:
        return self.code.reindex(facility_ids).to_numpy(dtype=object)

    def _element_sums(self, pos: np.ndarray, weights: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
        """(n, 17) sums of weights x composition rows grouped by pos."""
        out = np.zeros((n, len(ELEMENTS)))
        for e in range(len(ELEMENTS)):
            out[:, e] = np.bincount(pos, weights=weights * self.t.comp[rows, e], minlength=n)
        return out

    def quota(self) -> list[pd.DataFrame]:
        """Extraction without a valid quota of the mine for that year, and the extraction that crosses it."""
        x = np.flatnonzero(self.kind == K.EXTRACTION)
        if not len(x):
            return []
        reo = np.bincount(self.b_ev, weights=self.b_reo, minlength=len(self.kind))[x]
        ref = self.t.events["quota_ref"].to_numpy(dtype=object)[x]
        year = pd.to_datetime(self.at[x], unit="s", utc=True).year.to_numpy()
        q = self.t.quotas.set_index("code")
        q_fac = q["facility_id"].reindex(ref).to_numpy(dtype=float)
        q_year = q["year"].reindex(ref).to_numpy(dtype=float)
        q_kind = q["kind"].reindex(ref).to_numpy(dtype=object)
        valid = (q_fac == self.fac[x]) & (q_year == year) & (q_kind == "mining")
        missing = pd.isna(ref)
        why = np.where(missing, "extraction reported without a quota id",
                       "quota id is not a mining quota of this mine for the year of extraction")
        out = [_findings("no_quota", why[~valid], ([int(u)] for u in x[~valid]), self.codes(self.fac[x][~valid]),
                         reo[~valid], "kg REO")]
        v = pd.DataFrame({"ref": ref[valid], "at": self.at[x][valid], "pos": x[valid], "reo": reo[valid]})
        v = v.sort_values(["ref", "at", "pos"], kind="stable")
        v["cum"] = v.groupby("ref", sort=False)["reo"].cumsum()
        # the amount in force on each extraction's day: a dated change (a cut or a raise) counts from its day on
        v["limit"] = in_force(pd.DataFrame({
            "id": q["id"].reindex(v["ref"]).to_numpy(), "tonnes_reo": q["tonnes_reo"].reindex(v["ref"]).to_numpy(),
            "on": pd.to_datetime(v["at"].to_numpy(), unit="s").normalize()}), self.t.quota_changes) * 1000.0
        over = v[v["cum"] > v["limit"] * (1 + 1e-9)]
        if len(over):
            g = over.groupby("ref", sort=False)
            pos = g["pos"].agg(list)
            excess = (over["cum"] - over["limit"]).groupby(over["ref"], sort=False).last()
            limit_t = g["limit"].last() / 1000
            out.append(_findings("over_quota", [f"extraction beyond quota {r} ({lt:,.0f} t REO)"
                                                for r, lt in zip(pos.index, limit_t, strict=True)],
                                 (list(ps[:MAX_UIDS]) for ps in pos),
                                 self.codes(self.fac[[ps[0] for ps in pos]]), excess.to_numpy(), "kg REO"))
        return out

    def origin(self) -> list[pd.DataFrame]:
        """Rock-type mines declaring the heavy rare earth signature of ionic clays (the laundering pattern)."""
        ore = self.t.facilities.set_index("id")["ore_type"]
        x = np.flatnonzero((self.kind == K.EXTRACTION) & (ore.reindex(self.fac).to_numpy(dtype=object) == "rock"))
        if not len(x):
            return []
        bsel = np.flatnonzero(np.isin(self.b_ev, x))
        local = pd.Series(np.arange(len(x)), index=x).reindex(self.b_ev[bsel]).to_numpy()
        el = self._element_sums(local, self.b_reo[bsel], bsel, len(x))
        total = el.sum(axis=1)
        heavy = el[:, HEAVY].sum(axis=1)
        share = np.divide(heavy, total, out=np.zeros_like(heavy), where=total > 0)
        bad = share > self.p.rock_heavy_share_max
        return [_findings("origin_mismatch",
                          [f"rock-type mine declares {s:.0%} heavy rare earths (Gd-Lu, Y) in its REO; rock ores "
                           f"carry under {self.p.rock_heavy_share_max:.0%}" for s in share[bad]],
                          ([int(u)] for u in x[bad]), self.codes(self.fac[x][bad]), heavy[bad], "kg REO heavy")]

    def gain(self) -> list[pd.DataFrame]:
        """Processing whose outputs carry more of an element than its inputs brought in."""
        x = np.flatnonzero(self.kind == K.PROCESSING)
        if not len(x):
            return []
        local = pd.Series(np.arange(len(x)), index=x)
        isel = np.flatnonzero(np.isin(self.i_ev, x))
        ein = self._element_sums(local.reindex(self.i_ev[isel]).to_numpy(), self.i_reo[isel], self.i_b[isel], len(x))
        osel = np.flatnonzero(np.isin(self.b_ev, x))
        eout = self._element_sums(local.reindex(self.b_ev[osel]).to_numpy(), self.b_reo[osel], osel, len(x))
        excess = eout - ein * (1 + self.p.gain_tolerance) - self.p.gain_floor_kg
        bad = (excess > 0).any(axis=1)
        gained = np.where(excess > 0, eout - ein, 0.0)
        rules = [", ".join(f"{ELEMENTS[e]} +{row[e]:,.1f} kg" for e in np.flatnonzero(row > 0)[:6])
                 for row in gained[bad]]
        rules = [f"processing outputs carry more than its inputs brought in ({r})" for r in rules]
        return [_findings("element_gain", rules, ([int(u)] for u in x[bad]), self.codes(self.fac[x][bad]),
                          gained[bad].sum(axis=1), "kg REO")]

    def transfers(self) -> list[pd.DataFrame]:
        """Shipments never received, and receipts that differ from the mass shipped."""
        s = np.flatnonzero(self.kind == K.SHIPMENT)
        if not len(s):
            return []
        shipped = np.bincount(self.b_ev, weights=self.b_gross, minlength=len(self.kind))
        r = np.flatnonzero(self.kind == K.RECEIPT)
        r_ship = self.ev_pos.reindex(self.t.events["ref_id"].to_numpy()[r]).to_numpy()
        received = self.t.events["declared_kg"].to_numpy(dtype=float)[r]
        got = pd.DataFrame({"ship": r_ship, "kg": received, "pos": r}).groupby("ship").agg(
            kg=("kg", "sum"), uids=("pos", list))
        grace = self.p.transit_grace_days * 86400
        never = s[~np.isin(s, got.index.to_numpy()) & (self.at[s] < self.as_of - grace)]
        out = [_findings("unreceived_transfer",
                         f"shipment not received within {self.p.transit_grace_days:g} days",
                         ([int(u)] for u in never), self.codes(self.fac[never]), shipped[never], "kg")]
        got = got[got.index.isin(s)]
        ship_kg = shipped[got.index.to_numpy()]
        diff = ship_kg - got["kg"].to_numpy()
        bad = np.abs(diff) > np.maximum(self.p.transfer_tolerance * ship_kg, self.p.transfer_floor_kg)
        sp = got.index.to_numpy()[bad]
        partner = self.t.events["partner_id"].to_numpy()[sp]
        out.append(_findings("transfer_mismatch",
                             [f"received {k:,.1f} kg of {q:,.1f} kg shipped" for k, q in
                              zip(got["kg"].to_numpy()[bad], ship_kg[bad], strict=True)],
                             ([int(i), *u] for i, u in zip(sp, got["uids"].to_numpy()[bad], strict=True)),
                             self.codes(partner), diff[bad], "kg"))
        return out

    def consumption(self) -> list[pd.DataFrame]:
        """Batches consumed beyond their mass, and material consumed where the ledger never put it."""
        if not len(self.i_ev):
            return []
        c = pd.DataFrame({"b": self.i_b, "ev": self.i_ev, "at": self.at[self.i_ev], "kg": self.i_kg})
        c = c.sort_values(["b", "at", "ev"], kind="stable")
        c["cum"] = c.groupby("b", sort=False)["kg"].cumsum()
        gross = self.b_gross[c["b"].to_numpy()]
        over = c[c["cum"].to_numpy() > gross * (1 + 1e-6) + 1e-6]
        out = []
        if len(over):
            g = over.groupby("b", sort=False)
            evs = g["ev"].agg(list)
            excess = g["cum"].max().to_numpy() - self.b_gross[evs.index.to_numpy()]
            out.append(_findings("double_consumption", "batch consumed beyond its mass (consumed twice)",
                                 (list(e[:MAX_UIDS]) for e in evs),
                                 self.codes(self.fac[[e[0] for e in evs]]), excess, "kg"))
        # Custody: an input must be held where it is consumed (shipments move batches to their destination).
        elsewhere = self.b_fac[self.i_b] != self.fac[self.i_ev]
        if elsewhere.any():
            e = pd.DataFrame({"ev": self.i_ev[elsewhere], "reo": self.i_reo[elsewhere]}).groupby("ev")["reo"].sum()
            pos = e.index.to_numpy()
            out.append(_findings("unknown_origin", "consumes material the ledger holds at another facility "
                                                   "(no shipment brought it here)",
                                 ([int(u)] for u in pos), self.codes(self.fac[pos]), e.to_numpy(), "kg REO"))
        mines = set(self.t.facilities.loc[self.t.facilities["stage"] == "mining", "id"])
        x = np.flatnonzero((self.kind == K.EXTRACTION) & ~np.isin(self.fac, list(mines)))
        if len(x):
            reo = np.bincount(self.b_ev, weights=self.b_reo, minlength=len(self.kind))[x]
            out.append(_findings("unknown_origin", "extraction reported at a facility that is not a mine",
                                 ([int(u)] for u in x), self.codes(self.fac[x]), reo, "kg REO"))
        return out

    def stock(self) -> list[pd.DataFrame]:
        """Stock counts that differ from the custody book: REO of the batches the ledger holds at the facility
        (produced there or shipped to it) up to the count, less what was consumed of them. Consumption counts
        against the holder, so a missing receipt or an unrecorded source is reported once, by its own rule."""
        k = np.flatnonzero(self.kind == K.STOCK_COUNT)
        if not len(k):
            return []
        fac = np.concatenate([self.b_fac, self.b_fac[self.i_b]])
        at = np.concatenate([self.at[self.b_ev], self.at[self.i_ev]])
        delta = np.concatenate([self.b_reo, -self.i_reo])
        keep = np.isin(fac, np.unique(self.fac[k]))
        fac, at, delta = fac[keep], at[keep], delta[keep]
        base_at = self.at.min()
        key = fac.astype(np.int64) << 36 | (at - base_at)
        order = np.argsort(key, kind="stable")
        key, cum = key[order], np.cumsum(delta[order])
        kfac = self.fac[k].astype(np.int64) << 36
        start = np.searchsorted(key, kfac, side="left")
        end = np.searchsorted(key, kfac | (self.at[k] - base_at), side="right")
        book = np.where(end > start, cum[np.maximum(end - 1, 0)] - np.where(start > 0, cum[start - 1], 0.0), 0.0)
        declared = self.t.events["declared_kg"].to_numpy(dtype=float)[k]
        diff = declared - book
        bad = np.abs(diff) > np.maximum(self.p.stock_tolerance * np.abs(book), self.p.stock_floor_kg)
        return [_findings("stock_discrepancy", [f"declared {d:,.1f} kg REO, custody book {b:,.1f} kg REO"
                                                for d, b in zip(declared[bad], book[bad], strict=True)],
                          ([int(u)] for u in k[bad]), self.codes(self.fac[k][bad]), diff[bad], "kg REO")]


RULES = ("quota", "origin", "gain", "transfers", "consumption", "stock")


def scan(tables: LedgerTables, params: ScanParams | None = None, *, as_of: dt.datetime | None = None,
         rules: tuple[str, ...] = RULES) -> pd.DataFrame:
    """The findings of the rules (default all) as of a moment (default now), one table with the columns of
    COLUMNS."""
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rules {sorted(unknown)}; choose from {RULES}")
    if tables.events.empty:
        return pd.DataFrame(columns=COLUMNS)
    moment = as_of or dt.datetime.now(dt.UTC)
    s = _Scan(tables, params or ScanParams(), int(moment.timestamp()))
    parts = [f for rule in rules for f in getattr(s, rule)() if len(f)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    found = pd.concat(parts, ignore_index=True)
    ids = tables.events["id"].to_numpy()
    wanted = sorted({int(ids[p]) for ps in found["event_uids"] for p in ps})
    uid = tables.uid_of(wanted) if tables.uid_of else dict(zip(ids.tolist(), tables.events["uid"], strict=True))
    found["event_uids"] = [[uid[int(ids[p])] for p in ps] for ps in found["event_uids"]]
    return found


def score(findings: pd.DataFrame, truth: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall and precision of findings against ground truth: a finding matches a truth record of the same kind
    that names one of its events."""
    by_kind: dict[str, dict[str, Any]] = {}
    truth_hit = np.zeros(len(truth), dtype=bool)
    find_hit = np.zeros(len(findings), dtype=bool)
    index: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(truth):
        for uid in t["event_ids"]:
            index.setdefault((t["kind"], uid), []).append(i)
    for j, (kind, uids) in enumerate(zip(findings["kind"], findings["event_uids"], strict=True)):
        for uid in uids:
            for i in index.get((kind, uid), []):
                truth_hit[i] = find_hit[j] = True
    kinds = sorted({t["kind"] for t in truth} | set(findings["kind"]))
    t_kind = np.array([t["kind"] for t in truth], dtype=object)
    f_kind = findings["kind"].to_numpy(dtype=object)
    for k in kinds:
        nt, nf = int((t_kind == k).sum()), int((f_kind == k).sum())
        by_kind[k] = {"truth": nt, "findings": nf,
                      "recall": round(float(truth_hit[t_kind == k].mean()), 4) if nt else None,
                      "precision": round(float(find_hit[f_kind == k].mean()), 4) if nf else None}
    return {"truth": len(truth), "findings": len(findings), "matched_truth": int(truth_hit.sum()),
            "matched_findings": int(find_hit.sum()),
            "recall": round(float(truth_hit.mean()), 4) if len(truth) else 1.0,
            "precision": round(float(find_hit.mean()), 4) if len(findings) else 1.0, "by_kind": by_kind}
