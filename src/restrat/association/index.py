"""Reference price index and disclosure control, pure and set-wise.

A cell is one product, currency and month. The index of a cell is the volume-weighted trimmed mean: sort the
cell's submissions by price, lay their volumes end to end on [0, 1], cut `trim_pct` of volume off each tail and
take the mean price over the central band, each submission weighted by the part of its volume inside the band.
It is robust (a price in the trimmed tails moves it not at all) and, while no member holds more than the band's
width of the volume, it always mixes at least two members' prices.

Disclosure control: a cell is suppressed when fewer than `min_contributors` distinct members contribute or one
member holds more than `dominance_pct` percent of its volume (the p% dominance rule). A suppressed cell publishes
nothing but the fact that it is suppressed."""

from __future__ import annotations

import numpy as np
import pandas as pd

CELL = ["product", "currency", "period"]
RULE_COLUMNS = ["min_contributors", "dominance_pct", "trim_pct"]
PUBLISHED = CELL + ["suppressed", "contributors", "volume_t", "index_price"]


def with_rules(subs: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Submissions with the disclosure rule in force at the start of their month (rules are dated rows)."""
    subs = subs.assign(period_start=pd.to_datetime(subs.period + "-01")).sort_values("period_start")
    dated = rules.assign(effective=pd.to_datetime(rules.effective_date)).sort_values("effective")
    out = pd.merge_asof(subs, dated[["effective"] + RULE_COLUMNS], left_on="period_start", right_on="effective")
    return out.drop(columns=["effective", "period_start"])


def cells(subs: pd.DataFrame) -> pd.DataFrame:
    """Every cell with contributors, volume, top member share, trimmed-mean index and whether it is suppressed
    (and why: for the regulator's eyes, never published)."""
    if subs.empty:
        return pd.DataFrame(columns=CELL + ["contributors", "volume_t", "top_share_pct", "index_price",
                                            "suppressed", "reason"])
    s = subs.sort_values(CELL + ["price"]).reset_index(drop=True)
    g = s.groupby(CELL, sort=False)
    total = g.volume_t.transform("sum")
    hi = g.volume_t.cumsum() / total
    lo = hi - s.volume_t / total
    t = s.trim_pct / 100.0
    s["w"] = (np.minimum(hi, 1 - t) - np.maximum(lo, t)).clip(lower=0)
    s["wp"] = s.w * s.price
    member = s.groupby(CELL + ["enterprise_id"], as_index=False).volume_t.sum()
    top = member.groupby(CELL).volume_t.max()
    out = s.groupby(CELL).agg(contributors=("enterprise_id", "nunique"), volume_t=("volume_t", "sum"),
                              wp=("wp", "sum"), w=("w", "sum"), min_contributors=("min_contributors", "first"),
                              dominance_pct=("dominance_pct", "first"))
    out["top_share_pct"] = 100.0 * top / out.volume_t
    out["index_price"] = out.wp / out.w
    few = out.contributors < out.min_contributors
    dominant = out.top_share_pct > out.dominance_pct
    out["suppressed"] = few | dominant
    out["reason"] = np.select([few, dominant], ["fewer contributors than the minimum",
                                                "one member's volume share above the dominance limit"], default="")
    return out.drop(columns=["wp", "w"]).reset_index()


def published(table: pd.DataFrame) -> pd.DataFrame:
    """The cells as published: a suppressed cell shows no figure at all (not even its contributor count)."""
    out = table[PUBLISHED].copy()
    shown = ~out.suppressed.astype(bool)
    out["contributors"] = out.contributors.astype("Int64").where(shown)
    for col in ("volume_t", "index_price"):
        out[col] = out[col].astype(float).where(shown)
    return out.sort_values(CELL).reset_index(drop=True)


def stability(pub: pd.DataFrame) -> pd.DataFrame:
    """Per product and currency, from published cells only: months published and suppressed, latest index and the
    coefficient of variation of the monthly index (price index stability)."""
    cols = ["product", "currency", "months_published", "months_suppressed", "latest_period", "latest_index",
            "mean_index", "cv_pct"]
    if pub.empty:
        return pd.DataFrame(columns=cols)
    shown = pub[~pub.suppressed]
    g = pub.groupby(["product", "currency"])
    out = pd.DataFrame({"months_published": g.suppressed.apply(lambda s: int((~s).sum())),
                        "months_suppressed": g.suppressed.apply(lambda s: int(s.sum()))})
    gs = shown.groupby(["product", "currency"]).index_price
    out["mean_index"] = gs.mean()
    out["cv_pct"] = 100.0 * gs.std(ddof=0) / gs.mean()
    latest = shown.sort_values("period").groupby(["product", "currency"]).last()
    out["latest_period"] = latest.period
    out["latest_index"] = latest.index_price
    return out.reset_index()[cols]
