"""Plotly figure specifications for the quota pages: allocations by group, quota against use, optimiser result."""

from __future__ import annotations

from typing import Any

import pandas as pd

from restrat.web.charts import COLORWAY, FONT

GROUP_COLOURS = {"China Northern Rare Earth (CNRE)": "#8c564b", "China Rare Earth Group (CREG)": "#1f77b4",
                 "China Southern Rare Earth": "#2ca02c", "Chinalco Rare Earth": "#9467bd",
                 "Minmetals Rare Earth": "#e377c2", "Xiamen Tungsten": "#ff7f0e",
                 "Guangdong Rare Earth Group": "#17becf"}


def charted(groups: pd.DataFrame) -> pd.Series:
    """Which published group rows the chart can stack: not batch '1+2' (a cumulative figure overlapping batches 1 and
    2), not share-only rows, not a consolidation that is no registered group (it would count its members twice)."""
    return groups["tonnes_reo"].notna() & (groups["batch"] != "1+2") & groups["group_id"].notna()


def group_bars(groups: pd.DataFrame) -> pd.DataFrame:
    """One figure per year, batch and group: the group's 'total' row where published, else rock + ionic."""
    g = groups[charted(groups)]
    totals = g[g["ore_type"] == "total"].groupby(["year", "batch", "group_name_en"])["tonnes_reo"].sum()
    parts = g[g["ore_type"] != "total"].groupby(["year", "batch", "group_name_en"])["tonnes_reo"].sum()
    merged = totals.combine_first(parts).reset_index()
    return merged.sort_values(["year", "batch"])


def group_chart(bars: pd.DataFrame, title: str) -> dict[str, Any]:
    """Stacked bars of the published group allocations per year and batch."""
    bars = bars.assign(x=bars["year"].astype(str) + "<br>batch " + bars["batch"].astype(str))
    order = list(dict.fromkeys(bars["x"]))
    traces = []
    for name, part in bars.groupby("group_name_en", sort=False):
        traces.append({"type": "bar", "name": name, "x": part["x"].tolist(), "y": part["tonnes_reo"].tolist(),
                       "marker": {"color": GROUP_COLOURS.get(name)},
                       "hovertemplate": "%{x}: %{y:,.0f} t REO<extra>" + name + "</extra>"})
    layout = {"font": FONT, "barmode": "stack", "height": 400, "colorway": COLORWAY,
              "margin": {"l": 70, "r": 10, "t": 30, "b": 40}, "title": {"text": title, "font": {"size": 13}},
              "xaxis": {"categoryorder": "array", "categoryarray": order, "tickangle": 0},
              "yaxis": {"title": {"text": "t REO"}, "tickformat": ",d", "gridcolor": "#eee"},
              "legend": {"orientation": "v", "x": 1.01, "y": 1}}
    return {"data": traces, "layout": layout}


def balance_chart(balances: pd.DataFrame) -> dict[str, Any]:
    """Share of quota used per facility (%), so small and large quotas read on one axis; red above 100%, a facility
    without quota drawn at the top in grey. Hover gives the tonnes."""
    b = balances.sort_values(["kind", "facility"])
    pct = b["used_pct"].where(b["quota_t_reo"] > 0)
    top = float(max(110.0, pct.max() if pct.notna().any() else 0.0)) * 1.05
    colour = pd.Series("#2e7d32", index=b.index).mask(b["used_t_reo"] > b["quota_t_reo"].fillna(0), "#c62828")
    colour = colour.mask(b["quota_t_reo"].isna(), "#757575").mask(b["status"] == "near limit", "#f9a825")
    traces = []
    for kind, label in (("mining", "mining quota"), ("smelting_separation", "separation quota")):
        sel = (b["kind"] == kind).to_numpy()
        if not sel.any():
            continue
        part = b[sel]
        traces.append({
            "type": "bar", "name": label, "x": part["facility"].tolist(),
            "y": pct[sel].fillna(top).round(1).tolist(), "marker": {"color": colour[sel].tolist()},
            "customdata": [[q, u, s] for q, u, s in zip(part["quota_t_reo"].fillna(0).round(1),
                                                        part["used_t_reo"].round(1), part["status"], strict=True)],
            "hovertemplate": "%{x} (" + label + "): used %{customdata[1]:,.1f} of %{customdata[0]:,.1f} t REO "
                             "(%{customdata[2]})<extra></extra>"})
    layout = {"font": FONT, "height": 360, "bargap": 0.2, "showlegend": False,
              "margin": {"l": 60, "r": 10, "t": 10, "b": 110},
              "xaxis": {"tickangle": -60, "tickfont": {"size": 9}},
              "yaxis": {"title": {"text": "% of quota used"}, "range": [0, top], "gridcolor": "#eee"},
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100, "y1": 100,
                          "line": {"color": "#c62828", "dash": "dash", "width": 1}}]}
    return {"data": traces, "layout": layout}


def optimiser_chart(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The optimiser's allocation by group beside last year's quota of the same facilities."""
    names = [g["group"] for g in groups]
    traces = [
        {"type": "bar", "name": "Last year", "x": names, "y": [g["last_year_t_reo"] for g in groups],
         "marker": {"color": "#9e9e9e"}, "hovertemplate": "%{x}: %{y:,.0f} t REO last year<extra></extra>"},
        {"type": "bar", "name": "Allocated", "x": names, "y": [g["allocated_t_reo"] for g in groups],
         "marker": {"color": "#1f77b4"}, "hovertemplate": "%{x}: %{y:,.0f} t REO allocated<extra></extra>"},
    ]
    layout = {"font": FONT, "barmode": "group", "height": 320, "margin": {"l": 70, "r": 10, "t": 10, "b": 60},
              "yaxis": {"title": {"text": "t REO"}, "tickformat": ",d", "gridcolor": "#eee"},
              "legend": {"orientation": "h", "y": 1.05, "yanchor": "bottom", "x": 0}}
    return {"data": traces, "layout": layout}
