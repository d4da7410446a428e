"""Plotly figures of the environment pages: exceedance map, score ranking, a series against its limit with the
episodes marked, compliance by pollutant, residue inventory."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from restrat.web.charts import FONT, _clean

LEVEL_COLOURS = {"suspension": "#b3261e", "fine": "#e8710a", "warning": "#f2c94c"}


def exceedance_map(frame: pd.DataFrame) -> dict[str, Any]:
    """Monitored facilities on a map of China: size by exceedance episodes, colour by environmental score."""
    size = [8 + min(22.0, 3 * math.sqrt(e)) for e in frame.episodes]
    levels = [lv if isinstance(lv, str) else "none" for lv in frame.level]
    text = [f"<b>{r.facility}</b> {r.facility_name}<br>score {r.score:.0f} · {r.episodes} episodes · "
            f"{r.exceeded:,} of {r.evaluated:,} values over the limit<br>escalation level: {lv}"
            for r, lv in zip(frame.itertuples(), levels, strict=True)]
    trace = {"type": "scattergeo", "mode": "markers", "lat": [float(v) for v in frame.lat],
             "lon": [float(v) for v in frame.lon], "text": text, "hovertemplate": "%{text}<extra></extra>",
             "marker": {"size": size, "color": [_clean(float(s)) for s in frame.score], "cmin": 0, "cmax": 100,
                        "colorscale": [[0, "#b3261e"], [0.5, "#f2c94c"], [1, "#2e7d32"]], "opacity": 0.85,
                        "line": {"width": 0.8, "color": "#333"},
                        "colorbar": {"title": {"text": "score"}, "thickness": 12, "len": 0.7}}}
    layout = {"font": FONT, "height": 440, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
              "geo": {"projection": {"type": "natural earth", "scale": 3.4}, "center": {"lon": 110, "lat": 31},
                      "resolution": 110, "showland": True, "landcolor": "#eef0ea", "showcountries": True,
                      "countrycolor": "#b9bcb4", "showocean": True, "oceancolor": "#f4f8fb", "showframe": False}}
    return {"data": [trace], "layout": layout}


def score_ranking(frame: pd.DataFrame) -> dict[str, Any]:
    """Environmental score per facility as horizontal bars, worst at the top, coloured by escalation level."""
    part = frame.dropna(subset=["score"]).sort_values("score", ascending=False)
    colours = [LEVEL_COLOURS.get(lv, "#2e7d32") if isinstance(lv, str) else "#2e7d32" for lv in part.level]
    trace = {"type": "bar", "orientation": "h", "x": [float(s) for s in part.score], "y": list(part.facility),
             "marker": {"color": colours}, "text": [f"{s:.0f}" for s in part.score], "textposition": "outside",
             "customdata": [lv if isinstance(lv, str) else "none" for lv in part.level],
             "hovertemplate": "%{y}: score %{x:.1f} (level %{customdata})<extra></extra>"}
    layout = {"font": FONT, "height": max(220, 28 * len(part) + 70), "margin": {"l": 110, "r": 30, "t": 10, "b": 40},
              "xaxis": {"range": [0, 105], "title": {"text": "environmental score (0-100)"}, "gridcolor": "#eee"}}
    return {"data": [trace], "layout": layout}


def _times(seconds: pd.Series | np.ndarray) -> list[str]:
    return pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s").strftime("%Y-%m-%d %H:%M").tolist()


def series_chart(values: pd.DataFrame, episodes: pd.DataFrame, *, title: str, averaging_s: int) -> dict[str, Any]:
    """Averaged values of one series with the limit in force as a step line and each episode shaded."""
    shape = "hv"
    exceed = values.exceed.to_numpy(bool)
    label = {0: "each value", 3_600: "hourly average", 86_400: "daily average"}.get(averaging_s, "average")
    traces = [
        {"type": "scatter", "mode": "lines+markers" if len(values) < 200 else "lines", "name": label,
         "x": _times(values.t), "y": [_clean(float(v)) for v in values.value], "line": {"color": "#1f77b4",
                                                                                      "width": 1.3, "shape": shape},
         "marker": {"size": 4}, "hovertemplate": "%{x}: %{y:.3g}<extra>" + label + "</extra>"},
        {"type": "scatter", "mode": "markers", "name": "over the limit", "x": _times(values.t[exceed]),
         "y": [float(v) for v in values.value[exceed]], "marker": {"color": "#b3261e", "size": 6},
         "hovertemplate": "%{x}: %{y:.3g} (over the limit)<extra></extra>"},
    ]
    for col, name, dash in (("high", "upper limit", "solid"), ("low", "lower limit", "dot")):
        if values[col].notna().any():
            traces.append({"type": "scatter", "mode": "lines", "name": name, "x": _times(values.t),
                           "y": [_clean(float(v)) for v in values[col]],
                           "line": {"color": "#b3261e", "width": 2, "dash": dash, "shape": shape},
                           "hovertemplate": "%{x}: " + name + " %{y:.3g}<extra></extra>"})
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": s, "x1": e, "y0": 0, "y1": 1,
               "fillcolor": "rgba(179,38,30,0.12)", "line": {"width": 0}, "layer": "below"}
              for s, e in zip(_times(episodes.start), _times(episodes.end), strict=True)]
    layout = {"font": FONT, "height": 360, "margin": {"l": 60, "r": 10, "t": 36, "b": 40}, "shapes": shapes,
              "title": {"text": title, "font": {"size": 13}, "x": 0.01}, "hovermode": "x unified",
              "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
              "yaxis": {"gridcolor": "#eee", "rangemode": "tozero"}, "xaxis": {"type": "date"}}
    return {"data": traces, "layout": layout}


def compliance_bars(series: pd.DataFrame) -> dict[str, Any]:
    """Compliance rate per outlet and pollutant (evaluated series only)."""
    part = series[series.evaluated > 0].sort_values("compliance_rate", ascending=False)
    labels = [f"{r.outlet} {r.pollutant}" for r in part.itertuples()]
    rate = [float(v) * 100 for v in part.compliance_rate]
    trace = {"type": "bar", "orientation": "h", "x": rate, "y": labels,
             "marker": {"color": ["#2e7d32" if v >= 99.999 else "#e8710a" if v >= 95 else "#b3261e" for v in rate]},
             "customdata": [[int(a), int(b)] for a, b in zip(part.exceeded, part.evaluated, strict=True)],
             "hovertemplate": "%{y}: %{x:.1f}% compliant (%{customdata[0]} of %{customdata[1]} over)<extra></extra>"}
    layout = {"font": FONT, "height": max(200, 24 * len(part) + 60), "margin": {"l": 170, "r": 10, "t": 10, "b": 40},
              "xaxis": {"range": [min(rate + [90]) - 2, 100.5], "title": {"text": "% of values within the limit"},
                        "gridcolor": "#eee"}}
    return {"data": [trace], "layout": layout}


def residue_bars(inventory: pd.DataFrame) -> dict[str, Any]:
    """Th/U-bearing residue held per facility (t), largest first."""
    part = inventory.sort_values("inventory_kg").tail(30)
    trace = {"type": "bar", "orientation": "h", "x": [float(v) / 1000 for v in part.inventory_kg],
             "y": list(part.facility), "marker": {"color": "#bcbd22"},
             "hovertemplate": "%{y}: %{x:,.1f} t residue<extra></extra>"}
    layout = {"font": FONT, "height": max(220, 22 * len(part) + 60), "margin": {"l": 120, "r": 10, "t": 10, "b": 40},
              "xaxis": {"title": {"text": "t residue held (gross)"}, "gridcolor": "#eee"}}
    return {"data": [trace], "layout": layout}
