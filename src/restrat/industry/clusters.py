"""Spatial clusters of facilities (DBSCAN on great-circle distance) and chain completeness per cluster (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
# The stages of a complete chain, from ore to end product; recycling and waste feed back or leave it.
CHAIN_STAGES = ["mining", "separation", "metal", "alloy", "material", "product"]
NOISE = -1


def label(frame: pd.DataFrame, *, eps_km: float, min_samples: int) -> pd.DataFrame:
    """Facilities (lat, lon in degrees) with a `cluster` label; -1 marks facilities in no cluster."""
    out = frame.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(cluster=pd.Series(dtype=int))
    coords = np.radians(out[["lat", "lon"]].to_numpy(dtype=float))
    model = DBSCAN(eps=eps_km / EARTH_RADIUS_KM, min_samples=min_samples, metric="haversine",
                   algorithm="ball_tree")
    out["cluster"] = model.fit_predict(coords)
    return out


def summary(labelled: pd.DataFrame, *, chain: list[str]) -> pd.DataFrame:
    """Per cluster: facility count, centre, main region, chain stages present and missing, completeness (share
    of the chain's stages present) and capacity by stage (t REO/yr)."""
    inside = labelled[labelled.cluster != NOISE]
    cols = ["cluster", "facilities", "lat", "lon", "region", "country", "stages_present", "stages_missing",
            "completeness"] + [f"capacity_{s}" for s in chain]
    if inside.empty:
        return pd.DataFrame(columns=cols)
    g = inside.groupby("cluster")
    out = g.agg(facilities=("code", "size"), lat=("lat", "mean"), lon=("lon", "mean"),
                region=("region", lambda s: s.mode().iloc[0]), country=("country", lambda s: s.mode().iloc[0]))
    present = pd.crosstab(inside.cluster, inside.stage).reindex(columns=chain, fill_value=0) > 0
    out["stages_present"] = present.apply(lambda r: ", ".join(r.index[r]), axis=1)
    out["stages_missing"] = present.apply(lambda r: ", ".join(r.index[~r]), axis=1)
    out["completeness"] = present.sum(axis=1) / len(chain)
    cap = inside.pivot_table(index="cluster", columns="stage", values="capacity_t_reo_per_year", aggfunc="sum")
    cap = cap.reindex(columns=chain).fillna(0.0)
    out = out.join(cap.add_prefix("capacity_"))
    return out.reset_index().sort_values(["completeness", "facilities"], ascending=False)[cols].reset_index(
        drop=True)
