"""Plotly figures of the market model (plain dicts): prices over time, supply by country, indicators against the
baseline, fan charts of sweeps. Used by the market pages and by the HTML report of `restrat simulate`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from restrat.web.charts import COLORWAY, FONT

KEY_ELEMENTS = ["Nd", "Pr", "Dy", "Tb", "La", "Ce", "Sm", "Gd", "Y"]
MARKET_STYLE = {"china": ("China domestic", "#d62728", "solid"),
                "rest_of_world": ("Rest of world", "#1f77b4", "solid"),
                "united_states": ("United States", "#2ca02c", "dot")}
METRIC_LABELS = {
    "china_mine_share": "China's share of mining", "china_separation_share": "China's share of separation",
    "world_mined_t": "World mine output (t REO)", "china_exports_t": "Exports from China's plants (t)",
    "revenue_china_separators_musd": "Revenue, China's separators (M USD)",
    "revenue_outside_separators_musd": "Revenue, separators outside China (M USD)",
    "producer_surplus_musd": "Producer surplus (M USD)", "consumer_spend_musd": "Consumers' spending (M USD)",
    "consumer_surplus_musd": "Consumer surplus (M USD)", "emissions_kt_co2e": "Emissions (kt CO2e)",
    "world_stock_t": "Stocks held (t)", "substituted_t": "Demand met by substitutes (t)",
    "depletion_share:China": "China's reserves extracted (share)",
}


def _grid(n: int, cols: int) -> tuple[int, dict[str, Any]]:
    rows = math.ceil(n / cols)
    layout: dict[str, Any] = {"grid": {"rows": rows, "columns": cols, "pattern": "independent",
                                       "ygap": 0.45, "xgap": 0.12}}
    return rows, layout


def _axis_names(i: int) -> tuple[str, str, str, str]:
    suffix = "" if i == 0 else str(i + 1)
    return f"x{suffix}", f"y{suffix}", f"xaxis{suffix}", f"yaxis{suffix}"


def prices(markets: pd.DataFrame, baseline: pd.DataFrame | None = None,
           elements: list[str] | None = None) -> dict[str, Any]:
    """Small multiples: one panel per element, price in China and outside, the baseline dashed grey."""
    elements = elements or [e for e in KEY_ELEMENTS if markets.loc[markets.element == e,
                                                                   "price_usd_per_kg"].notna().any()]
    rows, layout = _grid(len(elements), 3)
    traces = []
    for i, el in enumerate(elements):
        xa, ya, xk, yk = _axis_names(i)
        part = markets[markets.element == el]
        for mk, (label, colour, dash) in MARKET_STYLE.items():
            seg = part[part.market == mk]
            traces.append({"type": "scatter", "mode": "lines", "x": seg.year.tolist(),
                           "y": [None if pd.isna(v) else round(float(v), 3) for v in seg.price_usd_per_kg],
                           "name": label, "legendgroup": mk, "showlegend": i == 0, "xaxis": xa, "yaxis": ya,
                           "line": {"color": colour, "dash": dash, "width": 2},
                           "hovertemplate": f"{el} {label} %{{x}}: %{{y:,.2f}} USD/kg<extra></extra>"})
        if baseline is not None:
            seg = baseline[(baseline.element == el) & (baseline.market == "rest_of_world")]
            traces.append({"type": "scatter", "mode": "lines", "x": seg.year.tolist(),
                           "y": [None if pd.isna(v) else round(float(v), 3) for v in seg.price_usd_per_kg],
                           "name": "Baseline (rest of world)", "legendgroup": "baseline", "showlegend": i == 0,
                           "xaxis": xa, "yaxis": ya, "line": {"color": "#888", "dash": "dash", "width": 1.5},
                           "hovertemplate": f"{el} baseline %{{x}}: %{{y:,.2f}} USD/kg<extra></extra>"})
        layout[xk] = {"showgrid": False}
        layout[yk] = {"title": {"text": f"{el} USD/kg", "font": {"size": 11}}, "rangemode": "tozero"}
    layout.update({"font": FONT, "height": 230 * rows + 60, "margin": {"l": 60, "r": 10, "t": 10, "b": 40},
                   "legend": {"orientation": "h", "y": -0.08}, "colorway": COLORWAY})
    return {"data": traces, "layout": layout}


def supply_by_country(supply: pd.DataFrame) -> dict[str, Any]:
    """Stacked areas of mine output by country over the years."""
    by = supply.groupby(["country", "year"]).mined_t.sum().reset_index()
    order = by.groupby("country").mined_t.sum().sort_values(ascending=False)
    order = order[order > 0].index.tolist()
    traces = [{"type": "scatter", "mode": "lines", "stackgroup": "one", "name": c,
               "x": by[by.country == c].year.tolist(), "y": by[by.country == c].mined_t.round(0).tolist(),
               "hovertemplate": f"{c} %{{x}}: %{{y:,.0f}} t REO<extra></extra>"} for c in order]
    return {"data": traces, "layout": {"font": FONT, "height": 380, "colorway": COLORWAY,
                                       "margin": {"l": 70, "r": 10, "t": 10, "b": 40},
                                       "yaxis": {"title": {"text": "t REO mined"}},
                                       "legend": {"orientation": "v"}}}


def indicators(summary: pd.DataFrame, baseline: pd.DataFrame | None = None,
               metrics: list[str] | None = None) -> dict[str, Any]:
    """Small multiples of scenario indicators, each against the baseline."""
    metrics = metrics or ["china_mine_share", "china_separation_share", "revenue_china_separators_musd",
                          "revenue_outside_separators_musd", "consumer_spend_musd", "consumer_surplus_musd",
                          "producer_surplus_musd", "world_stock_t", "emissions_kt_co2e", "depletion_share:China"]
    rows, layout = _grid(len(metrics), 3)
    traces = []
    for i, m in enumerate(metrics):
        xa, ya, xk, yk = _axis_names(i)
        seg = summary[summary.metric == m]
        traces.append({"type": "scatter", "mode": "lines", "x": seg.year.tolist(), "y": seg.value.round(4).tolist(),
                       "name": "Scenario", "legendgroup": "s", "showlegend": i == 0, "xaxis": xa, "yaxis": ya,
                       "line": {"color": "#d62728", "width": 2}})
        if baseline is not None:
            seg = baseline[baseline.metric == m]
            traces.append({"type": "scatter", "mode": "lines", "x": seg.year.tolist(),
                           "y": seg.value.round(4).tolist(), "name": "Baseline", "legendgroup": "b",
                           "showlegend": i == 0, "xaxis": xa, "yaxis": ya,
                           "line": {"color": "#888", "dash": "dash", "width": 1.5}})
        layout[xk] = {"showgrid": False}
        layout[yk] = {"title": {"text": METRIC_LABELS.get(m, m), "font": {"size": 10}}}
    layout.update({"font": FONT, "height": 230 * rows + 60, "margin": {"l": 70, "r": 10, "t": 10, "b": 40},
                   "legend": {"orientation": "h", "y": -0.08}})
    return {"data": traces, "layout": layout}


def fan(bands: pd.DataFrame, *, title: str, unit: str) -> dict[str, Any]:
    """A fan chart: 5-95 and 25-75 percentile bands around the median over the years."""
    x = bands.year.tolist()

    def band(lo: str, hi: str, colour: str, name: str) -> list[dict[str, Any]]:
        return [{"type": "scatter", "mode": "lines", "x": x, "y": bands[hi].round(4).tolist(), "line": {"width": 0},
                 "showlegend": False, "hoverinfo": "skip"},
                {"type": "scatter", "mode": "lines", "x": x, "y": bands[lo].round(4).tolist(), "fill": "tonexty",
                 "fillcolor": colour, "line": {"width": 0}, "name": name}]

    traces = band("p5", "p95", "rgba(31,119,180,0.18)", "5-95%") + band("p25", "p75", "rgba(31,119,180,0.38)",
                                                                         "25-75%")
    traces.append({"type": "scatter", "mode": "lines", "x": x, "y": bands.p50.round(4).tolist(), "name": "median",
                   "line": {"color": "#1f77b4", "width": 2}})
    return {"data": traces, "layout": {"font": FONT, "height": 300, "title": {"text": title, "font": {"size": 13}},
                                       "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
                                       "yaxis": {"title": {"text": unit}, "rangemode": "tozero"}}}


def comparison(summaries: dict[str, pd.DataFrame], metric: str) -> dict[str, Any]:
    """One indicator across several stored runs."""
    traces = [{"type": "scatter", "mode": "lines", "name": name, "x": s[s.metric == metric].year.tolist(),
               "y": s[s.metric == metric].value.round(4).tolist()} for name, s in summaries.items()]
    return {"data": traces, "layout": {"font": FONT, "height": 300, "colorway": COLORWAY,
                                       "title": {"text": METRIC_LABELS.get(metric, metric), "font": {"size": 13}},
                                       "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
                                       "legend": {"orientation": "h", "y": -0.2}}}
