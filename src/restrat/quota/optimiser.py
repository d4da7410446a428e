"""Quota allocation as a linear programme solved by HiGHS, built from arrays (no loop over facilities).

    maximise    sum_f score_f * x_f                      (x_f: t REO allocated to facility f)
    subject to  sum_{f of ore type o} x_f = T_o           for each ore type o (mining: rock, ionic; separation: total)
                sum_{f in group g} x_f >= s_g * T         for each group with a minimum share s_g
                lo_f <= x_f <= hi_f

    hi_f = min(capacity_f, (1 + max_change) * last_f if f held quota last year,
               (1 - penalty_reduction) * last_f if f was penalised last year)
    lo_f = (1 - max_change) * last_f if f held quota last year, else 0 (never above hi_f)

    score_f = sum_k weight_k * value_fk, value in [0, 1], a criterion's neutral value where a facility has none.

The duals are the shadow prices: the row dual of an ore-type row is what one more tonne of that quota adds to the
score; a column's reduced cost is what one more tonne of its bound would add."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from restrat.errors import InputError, Problem

POLICY_FILE = Path(__file__).parent / "data" / "allocation_policy.yaml"
CRITERIA = ("technology_level", "recovery_rate", "environmental_compliance")
TOL = 1e-7


@dataclass
class Policy:
    weights: dict[str, float]
    neutral: dict[str, float]
    max_change: float
    penalty_reduction: float
    ionic_share: float | None
    min_group_share: dict[str, float]
    source: str


def load_policy(path: Path | None = None, **overrides: Any) -> Policy:
    """The allocation policy from a YAML file (default: the shipped, illustrative one), with overrides applied."""
    raw = yaml.safe_load((path or POLICY_FILE).read_text())
    score = raw.get("score", {})
    unknown = set(score) - set(CRITERIA)
    if unknown:
        raise InputError(Problem(field="score", rule=f"unknown criteria; known: {list(CRITERIA)}",
                                 value=sorted(unknown)))
    policy = Policy(weights={k: float(score.get(k, {}).get("weight", 0.0)) for k in CRITERIA},
                    neutral={k: float(score.get(k, {}).get("neutral", 0.5)) for k in CRITERIA},
                    max_change=float(raw.get("max_change", 0.2)),
                    penalty_reduction=float(raw.get("penalty_reduction", 0.0)),
                    ionic_share=raw.get("ionic_share"), min_group_share=dict(raw.get("min_group_share") or {}),
                    source=str(path or POLICY_FILE.name))
    for k, v in overrides.items():
        if v is not None:
            setattr(policy, k, v)
    checks = [("max_change", policy.max_change), ("penalty_reduction", policy.penalty_reduction)]
    checks += [("ionic_share", policy.ionic_share)] if policy.ionic_share is not None else []
    checks += [(f"min_group_share.{g}", s) for g, s in policy.min_group_share.items()]
    bad = [Problem(field=f, rule="must be a number from 0 to 1", value=v) for f, v in checks
           if not isinstance(v, int | float) or not 0 <= float(v) <= 1]
    if bad:
        raise InputError(bad)
    return policy


def scores(facilities: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, dict[str, int]]:
    """Score per tonne of each facility, and how many facilities took each criterion's neutral value."""
    total = np.zeros(len(facilities))
    neutral_used = {}
    for k in CRITERIA:
        v = facilities[k].to_numpy(dtype=float) if k in facilities else np.full(len(facilities), np.nan)
        neutral_used[k] = int(np.isnan(v).sum())
        total += policy.weights[k] * np.where(np.isnan(v), policy.neutral[k], np.clip(v, 0, 1))
    return total, neutral_used


def bounds(facilities: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bound of each facility's allocation and which rule sets the upper one."""
    cap = facilities["capacity_t"].to_numpy(dtype=float)
    last = facilities["last_t"].fillna(0).to_numpy(dtype=float)
    pen = facilities["penalised"].fillna(False).to_numpy(dtype=bool)
    held = last > 0
    stab_hi = np.where(held, (1 + policy.max_change) * last, np.inf)
    pen_hi = np.where(pen & held, (1 - policy.penalty_reduction) * last, np.inf)
    hi = np.minimum.reduce([cap, stab_hi, pen_hi])
    why = np.where(hi == pen_hi, "penalty cap", np.where(hi == stab_hi, "stability cap", "capacity"))
    lo = np.minimum(np.where(held, (1 - policy.max_change) * last, 0.0), hi)
    return lo, hi, why


@dataclass
class Allocation:
    facilities: pd.DataFrame  # code, group, ore_type, capacity_t, last_t, score, lo, hi, x, reduced_cost, binding
    rows: pd.DataFrame  # name, kind, rhs, activity, dual, binding
    objective: float
    seconds: float
    explanations: list[str] = field(default_factory=list)


def _row_specs(facilities: pd.DataFrame, targets: dict[str, float], min_share: dict[str, float], total: float
               ) -> tuple[list[str], list[str], np.ndarray, np.ndarray, sp.csc_matrix]:
    """Names, kinds, bounds and the sparse matrix of the constraint rows, built from indicator arrays."""
    n = len(facilities)
    ore = facilities["ore_type"].to_numpy(dtype=object)
    group = facilities["group"].fillna("").to_numpy(dtype=object)
    names, kinds, lower, upper, row_of = [], [], [], [], []
    for o, t in targets.items():
        names.append(o)
        kinds.append("ore")
        lower.append(t)
        upper.append(t)
        row_of.append(np.ones(n, dtype=bool) if o == "total" else ore == o)
    for g, s in min_share.items():
        names.append(g)
        kinds.append("group")
        lower.append(s * total)
        upper.append(np.inf)
        row_of.append(group == g)
    mask = np.vstack(row_of) if row_of else np.zeros((0, n), dtype=bool)
    r, c = np.nonzero(mask)
    a = sp.csc_matrix((np.ones(len(r)), (r, c)), shape=(len(names), n))
    return names, kinds, np.array(lower, dtype=float), np.array(upper, dtype=float), a


def conflicts(facilities: pd.DataFrame, lo: np.ndarray, hi: np.ndarray, targets: dict[str, float],
              min_share: dict[str, float], total: float) -> list[Problem]:
    """Constraint conflicts that make the programme infeasible, found by sums over the bounds."""
    ore = facilities["ore_type"].to_numpy(dtype=object)
    group = facilities["group"].fillna("").to_numpy(dtype=object)
    out = []
    for o, t in targets.items():
        sel = np.ones(len(ore), dtype=bool) if o == "total" else ore == o
        h, low, cap = hi[sel].sum(), lo[sel].sum(), facilities["capacity_t"].to_numpy(dtype=float)[sel].sum()
        if h < t - TOL:
            out.append(Problem(field="total" if o == "total" else f"{o} quota",
                               rule=f"{o}: {t:,.0f} t REO asked but the {int(sel.sum())} eligible facilities can take "
                                    f"at most {h:,.0f} t (capacity {cap:,.0f} t, less stability and penalty caps)",
                               value=round(t, 3)))
        if low > t + TOL:
            out.append(Problem(field="total" if o == "total" else f"{o} quota",
                               rule=f"{o}: {t:,.0f} t REO asked but stability floors (last year's quota less the "
                                    f"maximum change) already need {low:,.0f} t", value=round(t, 3)))
    if sum(min_share.values()) > 1 + TOL:
        out.append(Problem(field="min_group_share", rule=f"minimum group shares add up to "
                                                         f"{sum(min_share.values()):.0%}, more than the whole total",
                           value=min_share))
    for g, s in min_share.items():
        sel = group == g
        if not sel.any():
            out.append(Problem(field="min_group_share", rule=f"group {g} has no eligible facility", value=g))
        elif hi[sel].sum() < s * total - TOL:
            out.append(Problem(field="min_group_share",
                               rule=f"group {g} must get {s:.0%} ({s * total:,.0f} t) but its facilities can take at "
                                    f"most {hi[sel].sum():,.0f} t", value=s))
    return out


@cache
def _mute_banner() -> None:
    """HiGHS prints a banner on file descriptor 1 when the first instance in a process is made, which would spoil
    `--json` output; that first instance is made with descriptor 1 on the null device, once per process."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _highs() -> highspy.Highs:
    """A silent HiGHS instance."""
    _mute_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # A handful of rows over thousands of bounded columns: presolve finds nothing to remove and, measured on 5,000
    # facilities, takes more than half the time (0.39 s with it, 0.15 s without, same optimum).
    h.setOptionValue("presolve", "off")
    return h


def solve(*, facilities: pd.DataFrame, targets: dict[str, float], policy: Policy) -> Allocation:
    """Allocate the targets (t REO per ore type, or 'total') among the facilities (code, group, ore_type,
    capacity_t, last_t, penalised and the score criteria); raises InputError naming conflicting constraints."""
    started = time.perf_counter()
    total = float(sum(targets.values()))
    bad = [Problem(field=f"{o} quota" if o != "total" else "total", rule="must be a finite number, zero or more",
                   value=t) for o, t in targets.items() if not np.isfinite(t) or t < 0]
    if bad:
        raise InputError(bad)
    score, _ = scores(facilities, policy)
    lo, hi, why = bounds(facilities, policy)
    found = conflicts(facilities, lo, hi, targets, policy.min_group_share, total)
    if found:
        raise InputError(found, source="infeasible allocation")
    names, kinds, rlo, rhi, a = _row_specs(facilities, targets, policy.min_group_share, total)
    h = _highs()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(facilities), len(names)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = score, lo, hi
    lp.row_lower_, lp.row_upper_ = rlo, np.where(np.isinf(rhi), highspy.kHighsInf, rhi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise InputError(Problem(field="constraints", rule="the constraints conflict in combination (HiGHS: "
                                 f"{h.modelStatusToString(status)}): stability floors, group minimum shares and the "
                                 "ore-type split cannot all hold; relax max_change or a minimum share",
                                 value=targets), source="infeasible allocation")
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    rc = np.asarray(sol.col_dual)
    fac = facilities.assign(score=score, lo=lo, hi=hi, x=x, reduced_cost=rc)
    at_hi = (x >= hi - TOL) & (rc > TOL)
    at_lo = (x <= lo + TOL) & (rc < -TOL) & (lo > 0)
    fac["binding"] = np.where(at_hi, why, np.where(at_lo, "stability floor", ""))
    activity = a @ x if len(names) else np.zeros(0)
    dual = np.asarray(sol.row_dual)
    rows = pd.DataFrame({"name": names, "kind": kinds, "rhs": rlo, "activity": activity, "dual": dual})
    rows["binding"] = (rows["kind"] == "ore") | ((np.abs(rows["activity"] - rows["rhs"]) <= 1e-6 * (1 + rows["rhs"]))
                                                 & (np.abs(rows["dual"]) > TOL))
    result = Allocation(facilities=fac, rows=rows, objective=float(h.getInfo().objective_function_value),
                        seconds=time.perf_counter() - started)
    result.explanations = explain(result)
    return result


def explain(result: Allocation) -> list[str]:
    """Plain-words reading of the binding constraints and their shadow prices."""
    fac, out = result.facilities, []
    basic = fac[(fac["x"] > fac["lo"] + TOL) & (fac["x"] < fac["hi"] - TOL)]
    label = {"rock": "rock-type", "ionic": "ionic-clay", "total": "separation"}
    for r in result.rows.itertuples():
        if r.kind == "ore":
            sel = basic if r.name == "total" else basic[basic["ore_type"] == r.name]
            because = (f"it would go to {sel.iloc[0]['code']} (score {sel.iloc[0]['score']:.3f}), the facility with "
                       "room left between its bounds" if len(sel) else
                       "every facility of this ore type sits at a bound; the value is the best score among those "
                       "with room above")
            out.append(f"Each extra tonne of {label.get(r.name, r.name)} quota is worth {r.dual:.3f} score points, "
                       f"because {because}.")
        elif r.binding:
            out.append(f"The minimum share of group {r.name} binds ({r.rhs:,.0f} t): it costs {-r.dual:.3f} score "
                       f"points per tonne, because its facilities score below those the total would otherwise go to.")
    for kind in ("capacity", "stability cap", "penalty cap", "stability floor"):
        part = fac[fac["binding"] == kind]
        if part.empty:
            continue
        top = part.loc[part["reduced_cost"].abs().idxmax()]
        what = {"capacity": "at capacity", "stability cap": "held at last year's quota plus the maximum change",
                "penalty cap": "held below last year's quota because of last year's infraction (Order No. 71)",
                "stability floor": "kept at last year's quota less the maximum change"}[kind]
        verb = "would add" if kind != "stability floor" else "costs"
        out.append(f"{len(part)} facilities are {what}. One more tonne of that bound at {top['code']} {verb} "
                   f"{abs(top['reduced_cost']):.3f} score points.")
    return out
