"""Plotly figure specifications (plain dicts for Plotly.js) built from service results."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

STAGE_COLOURS = {
    "mining": "#8c564b", "separation": "#1f77b4", "metal": "#7f7f7f", "alloy": "#9467bd",
    "material": "#d62728", "product": "#2ca02c", "recycling": "#17becf", "waste": "#bcbd22",
}
STATUS_LABELS = {"thirdparty_approx": "third-party, approximate location", "illustrative": "ILLUSTRATIVE",
                 "registered": "registered"}
# Twenty distinct colours, so no two of the producing countries share one.
COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
            "#dbdb8d", "#9edae5"]
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def _clean(value: Any) -> Any:
    """JSON has no NaN: missing numbers go to null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def facility_map(frame: pd.DataFrame, stages: list[tuple[str, str]]) -> dict[str, Any]:
    """One scattergeo trace per chain stage (in chain order) with name, enterprise, capacity and data status."""
    traces = []
    for code, name in stages:
        part = frame[frame.stage == code] if len(frame) else frame
        if not len(part):
            continue
        capacity = [_clean(c) for c in part.capacity_t_reo_per_year]
        hover_cap = [f"{c:,.0f} t REO/yr" if c is not None else "not known" for c in capacity]
        status = [STATUS_LABELS.get(s, s) for s in part.data_status]
        size = [7 + min(11.0, math.sqrt(c) / 15) if c else 7 for c in capacity]
        traces.append({
            "type": "scattergeo", "mode": "markers", "name": name,
            "lat": [float(v) for v in part.lat], "lon": [float(v) for v in part.lon],
            "customdata": [list(r) for r in zip(part.code, part.enterprise_name, hover_cap, status, strict=True)],
            "text": list(part.name),
            "hovertemplate": "<b>%{text}</b> (%{customdata[0]})<br>%{customdata[1]}<br>capacity %{customdata[2]}"
                             "<br>data: %{customdata[3]}<extra>" + name + "</extra>",
            "marker": {"size": size, "color": STAGE_COLOURS.get(code, "#444"), "opacity": 0.8,
                       "line": {"width": 0.6, "color": "#fff"}},
        })
    china = {"geo.center.lon": 110, "geo.center.lat": 31, "geo.projection.scale": 3.4}
    world = {"geo.center.lon": 30, "geo.center.lat": 0, "geo.projection.scale": 1}
    layout = {
        "font": FONT, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "height": 500,
        "legend": {"orientation": "h", "y": -0.02, "x": 0.5, "xanchor": "center", "yanchor": "top"},
        "geo": {"projection": {"type": "natural earth", "scale": 1, "rotation": {"lon": 30}},
                "resolution": 110, "showland": True, "landcolor": "#eef0ea", "showcountries": True,
                "countrycolor": "#b9bcb4", "showocean": True, "oceancolor": "#f4f8fb", "coastlinecolor": "#9aa0a6",
                "showframe": False},
        "updatemenus": [{"type": "buttons", "direction": "right", "x": 0.01, "y": 0.99, "xanchor": "left",
                         "yanchor": "top", "bgcolor": "#fff", "bordercolor": "#ccc", "font": {"size": 11},
                         "buttons": [{"label": "World", "method": "relayout", "args": [world]},
                                     {"label": "China", "method": "relayout", "args": [china]}]}],
    }
    return {"data": traces, "layout": layout}


def quota_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Annual national mining and separation quotas as grouped bars; recalled values hatched and labelled."""
    kinds = (("mining", "Mining quota", "#8c564b"), ("smelting_separation", "Smelting and separation quota",
                                                      "#1f77b4"))
    traces = []
    for kind, label, colour in kinds:
        part = [r for r in rows if r["kind"] == kind and r["ore_type"] == "total" and r["batch"] == "all"
                and r["tonnes_reo"] is not None]
        traces.append({
            "type": "bar", "name": label, "x": [r["year"] for r in part], "y": [r["tonnes_reo"] for r in part],
            "customdata": [r["status"] for r in part],
            "text": ["recalled" if r["status"] == "recalled" else "" for r in part],
            "textposition": "outside", "textfont": {"color": "#b3261e", "size": 10},
            "hovertemplate": "%{x}: %{y:,.0f} t REO (%{customdata})<extra>" + label + "</extra>",
            "marker": {"color": colour,
                       "opacity": [0.45 if r["status"] == "recalled" else 1 for r in part],
                       "pattern": {"shape": ["/" if r["status"] == "recalled" else "" for r in part],
                                   "fgcolor": "#b3261e", "solidity": 0.35}},
        })
    layout = {"font": FONT, "barmode": "group", "height": 380, "margin": {"l": 70, "r": 10, "t": 10, "b": 40},
              "yaxis": {"title": {"text": "t REO"}, "tickformat": ",d", "gridcolor": "#eee"},
              "xaxis": {"dtick": 1, "tickangle": -45},
              "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}}
    return {"data": traces, "layout": layout}


def production_chart(frame: pd.DataFrame) -> dict[str, Any]:
    """Mine production by country over years (lines); world total left out so countries stay readable."""
    countries = frame[~frame.country.str.startswith("World")]
    order = countries.groupby("country").mine_production_t_reo.max().sort_values(ascending=False).index
    traces = []
    for country in order:
        part = countries[countries.country == country].sort_values("data_year")
        if not (part.mine_production_t_reo > 0).any():
            continue  # all-zero producers only crowd the legend; the table below still lists them
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": country,
            "x": [int(y) for y in part.data_year], "y": [_clean(float(v)) for v in part.mine_production_t_reo],
            "customdata": ["estimated" if e else "reported" for e in part.estimated],
            "hovertemplate": "%{x}: %{y:,.0f} t REO (%{customdata})<extra>" + country + "</extra>",
        })
    layout = {"font": FONT, "height": 420, "margin": {"l": 70, "r": 10, "t": 10, "b": 40}, "colorway": COLORWAY,
              "yaxis": {"title": {"text": "t REO"}, "tickformat": ",d", "gridcolor": "#eee"},
              "xaxis": {"dtick": 1}, "hovermode": "closest",
              # China's output dwarfs every other producer's; a log axis lets the smaller ones be read.
              "updatemenus": [{"type": "buttons", "direction": "right", "x": 0, "y": 1.08, "xanchor": "left",
                               "yanchor": "bottom", "bgcolor": "#fff", "bordercolor": "#ccc", "font": {"size": 11},
                               "buttons": [{"label": scale.capitalize(), "method": "relayout",
                                            "args": [{"yaxis.type": scale}]} for scale in ("linear", "log")]}]}
    layout["margin"]["t"] = 40
    return {"data": traces, "layout": layout}


def reserves_chart(frame: pd.DataFrame) -> dict[str, Any]:
    """Reserves by country from one edition as horizontal bars, largest on top."""
    part = frame.dropna(subset=["reserves_t_reo"])
    part = part[~part.country.str.startswith("World")].sort_values("reserves_t_reo")
    trace = {"type": "bar", "orientation": "h", "x": [float(v) for v in part.reserves_t_reo],
             "y": list(part.country), "marker": {"color": "#1f77b4"},
             "customdata": list(part.raw_value),
             "hovertemplate": "%{y}: %{x:,.0f} t REO (as published: %{customdata})<extra></extra>"}
    layout = {"font": FONT, "height": max(260, 24 * len(part) + 60), "margin": {"l": 140, "r": 10, "t": 10, "b": 40},
              "xaxis": {"title": {"text": "t REO"}, "tickformat": ",d", "gridcolor": "#eee"}}
    return {"data": [trace], "layout": layout}
