"""What amount applied on a date: a plan's or an allocation's original figure, or the latest dated change in force
by then. One set-wise query for many rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from restrat.store.bulk import lookup


def in_force(base: pd.DataFrame, changes: pd.DataFrame) -> np.ndarray:
    """t REO of each base row (id, tonnes_reo, on) on its date `on`: the latest change (target_id, change_id,
    effective_on, tonnes_reo) effective by then, else the original tonnes_reo."""
    amount = base["tonnes_reo"].to_numpy(dtype=float).copy()
    if changes.empty or base.empty:
        return amount
    left = pd.DataFrame({"row": np.arange(len(base)), "target_id": base["id"].to_numpy(),
                         "on": pd.to_datetime(base["on"]).to_numpy()})
    ch = changes.assign(effective_on=pd.to_datetime(changes["effective_on"]))
    m = left.merge(ch, on="target_id")
    m = m[m["effective_on"] <= m["on"]].sort_values(["effective_on", "change_id"], kind="stable")
    last = m.groupby("row").tail(1)
    amount[last["row"].to_numpy()] = last["tonnes_reo"].to_numpy(dtype=float)
    return amount


def changes_of(*, session: Session, target: str, ids: list[int]) -> pd.DataFrame:
    """Dated changes of the given plans or allocations."""
    rows = lookup(session, "SELECT target_id, id, effective_on, tonnes_reo FROM quota_change "
                  f"WHERE target = '{'plan' if target == 'plan' else 'allocation'}' AND target_id IN {{keys}}", ids)
    return pd.DataFrame(rows, columns=["target_id", "change_id", "effective_on", "tonnes_reo"])


def facility_limits_kg(*, session: Session, keys: pd.DataFrame) -> np.ndarray:
    """Each key's (facility_id, year, kind, on) quota in kg REO: the facility's allocations of that year and kind in
    force on the date, summed; NaN where the facility holds none."""
    fac_ids = sorted(set(keys["facility_id"].astype(int).tolist()))
    alloc = pd.DataFrame(lookup(session, "SELECT id, facility_id, year, kind, tonnes_reo FROM quota_allocation "
                                "WHERE facility_id IN {keys}", fac_ids),
                         columns=["id", "facility_id", "year", "kind", "tonnes_reo"])
    k = keys.reset_index(drop=True).assign(key_row=lambda d: np.arange(len(d)))
    base = k.merge(alloc, on=["facility_id", "year", "kind"])
    out = np.full(len(k), np.nan)
    if base.empty:
        return out
    base["t"] = in_force(base, changes_of(session=session, target="allocation",
                                           ids=base["id"].astype(int).unique().tolist()))
    summed = base.groupby("key_row")["t"].sum()
    out[summed.index.to_numpy()] = summed.to_numpy() * 1000.0
    return out
