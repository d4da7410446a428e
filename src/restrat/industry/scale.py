"""Scale effects of a merger from a cost-curve assumption (pure, set-wise).

Unit cost per tonne REO falls with an owner's scale in a stage by a constant elasticity (a power law):

    c(S) = c_ref · (S / S_ref)^(−ε)

with ε, S_ref and c_ref per stage from `industry/data/cost_curve.csv`, all ILLUSTRATIVE assumptions. A merger
pools the parties' scale in each stage: before, each party produces at its own c(S_i); after, the merged owner at
c(ΣS_i). The change is measured on the parties' combined volume, so it holds whether the merged owner runs its
plants as one or only shares what the curve stands for (procurement, overheads, reagent recovery)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from restrat.errors import InputError, Problem

COLUMNS = ("stage", "elasticity", "reference_scale_t_reo", "reference_unit_cost_usd_per_t_reo", "status", "reason")


def read_cost_curve(path: Path) -> pd.DataFrame:
    """The cost curve per stage, checked: elasticity in [0, 1), positive reference scale and cost, one row per
    stage; bad rows raise InputError naming row, field and rule."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError([Problem(field=c, rule="column missing") for c in missing], source=str(path))
    num = {c: pd.to_numeric(raw[c], errors="coerce") for c in COLUMNS[1:4]}
    problems = []
    checks = [(num["elasticity"].isna() | (num["elasticity"] < 0) | (num["elasticity"] >= 1), "elasticity",
               "must be a number from 0 up to (not including) 1"),
              (num["reference_scale_t_reo"].isna() | (num["reference_scale_t_reo"] <= 0), "reference_scale_t_reo",
               "must be a number above 0"),
              (num["reference_unit_cost_usd_per_t_reo"].isna() | (num["reference_unit_cost_usd_per_t_reo"] <= 0),
               "reference_unit_cost_usd_per_t_reo", "must be a number above 0"),
              (raw.stage.duplicated(), "stage", "appears more than once")]
    for bad, field, rule in checks:
        problems += [Problem(row=int(i) + 2, field=field, rule=rule, value=raw.at[i, field])
                     for i in raw.index[bad.to_numpy()]]
    if problems:
        raise InputError(problems, source=str(path))
    return raw.assign(**{c: v.astype(float) for c, v in num.items()})


def unit_cost(scale: np.ndarray, *, elasticity: np.ndarray, ref_scale: np.ndarray, ref_cost: np.ndarray
              ) -> np.ndarray:
    """c(S) = c_ref · (S / S_ref)^(−ε), USD per t REO."""
    return ref_cost * np.power(scale / ref_scale, -elasticity)


def scale_effects(frame: pd.DataFrame, *, by: list[str], owners: list[str], curve: pd.DataFrame,
                  owner: str = "owner", value: str = "value") -> pd.DataFrame:
    """Per cell of `by`: the parties' combined volume, their volume-weighted unit cost before (each at its own
    scale per stage) and after (the merged scale per stage), the change in percent and the yearly saving in USD.
    Stages without a cost curve are left out (`uncosted_t` says how much)."""
    keys = list(by)
    parties = frame[frame[owner].isin(owners)]
    per = parties.groupby(keys + ["stage", owner], as_index=False, observed=True)[value].sum()
    per = per[per[value] > 0].merge(curve, on="stage", how="left")
    costed = per[per.elasticity.notna()].copy()
    cols = keys + ["parties_t", "uncosted_t", "unit_cost_pre_usd_per_t", "unit_cost_post_usd_per_t",
                   "unit_cost_change_pct", "annual_saving_usd"]
    if costed.empty:
        return pd.DataFrame(columns=cols)
    args = {"elasticity": costed.elasticity.to_numpy(), "ref_scale": costed.reference_scale_t_reo.to_numpy(),
            "ref_cost": costed.reference_unit_cost_usd_per_t_reo.to_numpy()}
    v = costed[value].to_numpy(dtype=float)
    merged = costed.groupby(keys + ["stage"], observed=True)[value].transform("sum").to_numpy(dtype=float)
    costed["cost_pre"] = v * unit_cost(v, **args)
    costed["cost_post"] = v * unit_cost(merged, **args)
    costed["costed_t"] = v
    grouping = keys or (lambda _: 0)
    g = costed.groupby(grouping, observed=True)[["costed_t", "cost_pre", "cost_post"]].sum()
    total = per.groupby(grouping, observed=True)[value].sum()
    out = pd.DataFrame({"parties_t": total, "uncosted_t": total - g.costed_t.reindex(total.index, fill_value=0.0),
                        "unit_cost_pre_usd_per_t": g.cost_pre / g.costed_t,
                        "unit_cost_post_usd_per_t": g.cost_post / g.costed_t,
                        "annual_saving_usd": g.cost_pre - g.cost_post})
    out["unit_cost_change_pct"] = 100.0 * (out.unit_cost_post_usd_per_t / out.unit_cost_pre_usd_per_t - 1.0)
    out = out.reset_index() if keys else out.reset_index(drop=True)
    return out[cols]
