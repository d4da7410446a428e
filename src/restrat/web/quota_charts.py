"""Plotly figure specifications for the quota pages: allocations by group, quota against use, optimiser result."""

from __future__ import annotations

from typing import Any

import pandas as pd

from restrat.web.charts import COLORWAY, FONT

GROUP_COLOURS = {"China Northern Rare Earth (CNRE)": "#8c564b", "China Rare Earth Group (CREG)": "#1f77b4",
                 "China Southern Rare Earth": "#2ca02c", "Chinalco Rare Earth": "#9467bd",
                 "Minmetals Rare Earth": "#e377c2", "Xiamen Tungsten": "#ff7f0e",
                 "Guangdong Rare Earth Group": "#17becf"}


def group_bars(groups: pd.DataFrame) -> pd.DataFrame:
    """One figure per year, batch and group: the group's 'total' row where published, else rock + ionic. Batch
    '1+2' (a cumulative figure overlapping batches 1 and 2) and share-only rows are left out."""
    g = groups[groups["tonnes_reo"].notna() & (groups["batch"] != "1+2")]
    totals = g[g["ore_type"] == "total"].groupby(["year", "batch", "group_name_en"])["tonnes_reo"].sum()
    parts = g[g["ore_type"] != "total"].groupby(["year", "batch", "group_name_en"])["tonnes_reo"].sum()
    merged = totals.combine_first(parts).reset_index()
    merged["status"] = "seen"
    return merged.sort_values(["year", "batch"])


def group_chart(bars: pd.DataFrame, title: str) -> dict[str, Any]:
    """Stacked bars of the published group allocations per year and batch."""
    bars = bars.assign(x=bars["year"].astype(str) + " batch " + bars["batch"].astype(str))
    order = list(dict.fromkeys(bars["x"]))
    traces = []
    for name, part in bars.groupby("group_name_en", sort=False):
        traces.append({"type": "bar", "name": name, "x": part["x"].tolist(), "y": part["tonnes_reo"].tolist(),
                       "marker": {"color": GROUP_COLOURS.get(name)},
                       "hovertemplate": "%{x}: %{y:,.0f} t REO<extra>" + name + "</extra>"})
    layout = {"font": FONT, "barmode": "stack", "height": 400, "colorway": COLORWAY,
              "margin": {"l": 70, "r": 10, "t": 30, "b": 90}, "title": {"text": title, "font": {"size": 13}},
              "xaxis": {"categoryorder": "array", "categoryarray": order, "tickangle": -40},
              "yaxis": {"title": {"text": "t REO"}, "tickformat": ",d", "gridcolor": "#eee"},
              "legend": {"orientation": "h", "y": -0.35}}
    return {"data": traces, "layout": layout}


def balance_chart(balances: pd.DataFrame) -> dict[str, Any]:
    """Quota against use per facility (t REO): quota as an outline bar, use filled, red where over the quota."""
    b = balances.sort_values(["kind", "facility"])
    over = b["used_t_reo"] > b["quota_t_reo"].fillna(0)
    traces = [
        {"type": "bar", "name": "Quota", "x": b["facility"].tolist(), "y": b["quota_t_reo"].fillna(0).tolist(),
         "marker": {"color": "rgba(0,0,0,0)", "line": {"color": "#444", "width": 1.2}},
         "hovertemplate": "%{x}: quota %{y:,.1f} t REO<extra></extra>"},
        {"type": "bar", "name": "Used", "x": b["facility"].tolist(), "y": b["used_t_reo"].tolist(),
         "marker": {"color": ["#c62828" if o else "#2e7d32" for o in over]},
         "customdata": b["status"].tolist(),
         "hovertemplate": "%{x}: used %{y:,.1f} t REO (%{customdata})<extra></extra>"},
    ]
    layout = {"font": FONT, "barmode": "overlay", "height": 380, "bargap": 0.25,
              "margin": {"l": 70, "r": 10, "t": 10, "b": 120},
              "xaxis": {"tickangle": -60, "tickfont": {"size": 9}},
              "yaxis": {"title": {"text": "t REO"}, "tickformat": ",.0f", "gridcolor": "#eee"},
              "legend": {"orientation": "h", "y": 1.05, "yanchor": "bottom", "x": 0}}
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
