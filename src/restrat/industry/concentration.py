"""Concentration maths, pure and set-wise: shares, HHI and CR-n per market cell, and merger screening.

A market cell is one combination of the `by` columns (for example stage and year). Shares are in percent, so the
HHI runs from near 0 to 10,000 (one owner)."""

from __future__ import annotations

import pandas as pd

ALL = "_all"


def _cells(frame: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The frame with a constant cell column when no dimension is asked for (the whole market is one cell)."""
    if by:
        return frame, list(by)
    return frame.assign(**{ALL: "all"}), [ALL]


def shares(frame: pd.DataFrame, *, by: list[str], owner: str = "owner", value: str = "value") -> pd.DataFrame:
    """Each owner's value and share (percent) in each cell, largest first; owners with nothing are left out."""
    frame, keys = _cells(frame, by)
    g = frame.groupby(keys + [owner], as_index=False, observed=True)[value].sum()
    g = g[g[value] > 0]
    g["share_pct"] = 100.0 * g[value] / g.groupby(keys, observed=True)[value].transform("sum")
    g = g.sort_values(keys + ["share_pct", owner], ascending=[True] * len(keys) + [False, True])
    g["rank"] = g.groupby(keys, observed=True).cumcount() + 1
    return g.reset_index(drop=True)


def concentration(frame: pd.DataFrame, *, by: list[str], owner: str = "owner", value: str = "value",
                  n: int = 4) -> pd.DataFrame:
    """HHI, CR-n, owner count, total and the leading owner per cell."""
    s = shares(frame, by=by, owner=owner, value=value)
    keys = list(by) or [ALL]
    s["sq"] = s.share_pct ** 2
    s["top_n"] = s.share_pct.where(s["rank"] <= n, 0.0)
    out = s.groupby(keys, as_index=False, observed=True).agg(
        total=(value, "sum"), owners=(owner, "size"), hhi=("sq", "sum"), cr_n=("top_n", "sum"))
    leaders = s[s["rank"] == 1][keys + [owner, "share_pct"]].rename(
        columns={owner: "leader", "share_pct": "leader_share_pct"})
    out = out.merge(leaders, on=keys, how="left")
    out["n"] = n
    return out.drop(columns=[ALL]) if not by else out


def merge_owners(frame: pd.DataFrame, *, owners: list[str], into: str, owner: str = "owner") -> pd.DataFrame:
    """The frame with every listed owner's rows assigned to `into` (a merger or a new group)."""
    return frame.assign(**{owner: frame[owner].where(~frame[owner].isin(owners), into)})


def screen_merger(frame: pd.DataFrame, *, by: list[str], owners: list[str], into: str,
                  rule: pd.Series, owner: str = "owner", value: str = "value", n: int = 4) -> pd.DataFrame:
    """HHI and CR-n before and after merging owners into `into`, per cell, with the screening rule applied:
    `highly_concentrated` (post HHI above the rule's level), `significant_increase` (delta above its level) and
    `presumed_harmful` (both, or the merged share above the rule's share level with a significant increase)."""
    keys = list(by)
    pre = concentration(frame, by=keys, owner=owner, value=value, n=n)
    merged = merge_owners(frame, owners=owners, into=into, owner=owner)
    post = concentration(merged, by=keys, owner=owner, value=value, n=n)
    post_shares = shares(merged, by=keys, owner=owner, value=value)
    party = post_shares[post_shares[owner] == into]
    cols = ["hhi", "cr_n", "owners", "leader", "leader_share_pct"]
    if keys:
        out = pre[keys + ["total"] + cols].merge(post[keys + cols], on=keys, suffixes=("_pre", "_post"))
        out = out.merge(party[keys + ["share_pct"]].rename(columns={"share_pct": "merged_share_pct"}), on=keys,
                        how="left")
    else:
        out = pd.concat([pre[["total"] + cols].add_suffix("_pre").rename(columns={"total_pre": "total"}),
                         post[cols].add_suffix("_post")], axis=1)
        out["merged_share_pct"] = float(party.share_pct.iloc[0]) if len(party) else float("nan")
    out["merged_share_pct"] = out.merged_share_pct.fillna(0.0)
    out["delta_hhi"] = out.hhi_post - out.hhi_pre
    out["highly_concentrated"] = out.hhi_post > float(rule.highly_concentrated_hhi_above)
    out["significant_increase"] = out.delta_hhi > float(rule.significant_delta_above)
    share_level = pd.to_numeric(pd.Series([rule.share_presumption_pct_above]), errors="coerce").iloc[0]
    by_share = (out.merged_share_pct > share_level) if pd.notna(share_level) else False
    out["presumed_harmful"] = out.significant_increase & (out.highly_concentrated | by_share)
    out["guideline"] = rule.guideline
    return out
