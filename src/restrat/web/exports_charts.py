"""Plotly figure specifications for the export control pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from restrat.web.charts import FONT

STATE_COLOURS = {"in_force": "#c0392b", "suspended": "#f0b429"}
LICENCE_COLOURS = {"dual_use_licence": "#c0392b", "technology_prohibited": "#6a2d91", "technology_licence": "#9467bd",
                   "technology_restricted": "#b39ddb", "export_quota_licence": "#1f77b4", "export_licence": "#8fb4d0"}


def timeline(periods: pd.DataFrame, *, on: dt.date) -> dict[str, Any]:
    """One row per item (grouped by element), a bar for each period in force or suspended; a line at the date."""
    far = max(on, dt.date.today()).replace(year=max(on, dt.date.today()).year + 1)
    df = periods.copy()
    df["end"] = df.end.fillna(far)
    df["label"] = df.item_code + df.element.fillna("").map(lambda e: f" ({e})" if e else "")
    order = df.sort_values(["start", "item_code"]).label.drop_duplicates().tolist()
    traces = []
    for state, name in (("in_force", "in force"), ("suspended", "suspended")):
        part = df[df.state == state]
        if part.empty:
            continue
        days = (pd.to_datetime(part.end) - pd.to_datetime(part.start)).dt.days + 1
        traces.append({
            "type": "bar", "orientation": "h", "name": name, "y": part.label.tolist(),
            "base": [d.isoformat() for d in part.start], "x": (days * 86_400_000).tolist(),
            "marker": {"color": STATE_COLOURS[state]},
            "customdata": [[s.isoformat(), e.isoformat() if e != far else "open", m or ""]
                           for s, e, m in zip(part.start, part.end, part.measure_id, strict=True)],
            "hovertemplate": "%{y}<br>%{customdata[0]} to %{customdata[1]}<br>%{customdata[2]}<extra>" + name
                             + "</extra>"})
    return {"data": traces, "layout": {
        "font": FONT, "barmode": "overlay", "height": max(320, 14 * len(order) + 90),
        "margin": {"l": 130, "r": 20, "t": 10, "b": 40},
        "xaxis": {"type": "date", "range": ["2023-01-01", min(far, on + dt.timedelta(days=180)).isoformat()]},
        "yaxis": {"categoryorder": "array", "categoryarray": order[::-1], "tickfont": {"size": 10}},
        "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
        "shapes": [{"type": "line", "x0": on.isoformat(), "x1": on.isoformat(), "yref": "paper", "y0": 0, "y1": 1,
                    "line": {"color": "#222", "width": 1.5, "dash": "dot"}}],
        "annotations": [{"x": on.isoformat(), "y": 1, "yref": "paper", "text": on.isoformat(), "showarrow": False,
                         "yanchor": "bottom", "font": {"size": 11}}]}}


def export_quotas(quotas: pd.DataFrame) -> dict[str, Any]:
    """Annual export quota totals 2005-2014 (seen values solid, recalled ones faded and labelled)."""
    annual = quotas[(quotas.batch == "all") & (quotas.category == "total")]
    traces = []
    for status, colour, name in (("seen", "#1f77b4", "reported (seen)"),
                                 ("recalled", "rgba(192,57,43,0.35)", "RECALLED, unverified")):
        part = annual[annual.status == status]
        if len(part):
            traces.append({"type": "bar", "name": name, "x": part.year.tolist(), "y": part.tonnes.tolist(),
                           "marker": {"color": colour}, "hovertemplate": "%{x}: %{y:,.0f} t<extra>" + name
                           + "</extra>"})
    return {"data": traces, "layout": {"font": FONT, "barmode": "group", "height": 300,
                                       "margin": {"l": 60, "r": 10, "t": 10, "b": 40},
                                       "yaxis": {"title": {"text": "t (as reported)"}},
                                       "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"}}}


def criticality(scores: pd.DataFrame, listed: set[str], min_coverage: float) -> dict[str, Any]:
    """Element scores (oxide product type), listed elements in red, thin data faded."""
    part = scores[scores.sub_item == "b"].sort_values("score", ascending=False)
    colours = [("#c0392b" if e in listed else "#1f77b4") if c >= min_coverage else "#c9ced3"
               for e, c in zip(part.element, part.coverage, strict=True)]
    return {"data": [{"type": "bar", "x": part.element.tolist(), "y": part.score.round(3).tolist(),
                      "marker": {"color": colours},
                      "customdata": [[f"{c:.0%}", "on the list" if e in listed else "not listed"]
                                     for e, c in zip(part.element, part.coverage, strict=True)],
                      "hovertemplate": "%{x}: score %{y}<br>data coverage %{customdata[0]}<br>%{customdata[1]}"
                                       "<extra></extra>"}],
            "layout": {"font": FONT, "height": 300, "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
                       "yaxis": {"title": {"text": "criticality (oxides)"}, "range": [0, 1]}}}


def licence_use(quantity_kg: float, uses: pd.DataFrame, valid_from: dt.date | None,
                valid_to: dt.date | None) -> dict[str, Any]:
    """Cumulative kilograms used by ledger exports over the validity, against the licence quantity."""
    times = pd.to_datetime(uses.at_epoch_s, unit="s").dt.strftime("%Y-%m-%d %H:%M").tolist()
    used = uses.kg.cumsum().round(3).tolist()
    start = [valid_from.isoformat()] if valid_from else []
    layout_x = {"type": "date"}
    if valid_from and valid_to:
        layout_x["range"] = [valid_from.isoformat(), valid_to.isoformat()]
    return {"data": [{"type": "scatter", "mode": "lines+markers", "line": {"shape": "hv"}, "name": "used",
                      "x": start + times, "y": [0.0] * len(start) + used}],
            "layout": {"font": FONT, "height": 260, "margin": {"l": 60, "r": 10, "t": 10, "b": 40},
                       "xaxis": layout_x, "yaxis": {"title": {"text": "kg used"}, "range": [0, quantity_kg * 1.1]},
                       "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": quantity_kg,
                                   "y1": quantity_kg, "line": {"color": "#c0392b", "dash": "dash"}}],
                       "annotations": [{"xref": "paper", "x": 0, "y": quantity_kg, "text": "licence quantity",
                                        "showarrow": False, "yanchor": "bottom", "xanchor": "left"}]}}


def flag_counts(counts: pd.DataFrame) -> dict[str, Any]:
    """Flagged ledger exports per reason: a horizontal bar of how many, with the kilograms in the hover."""
    df = counts.sort_values("exports")
    return {"data": [{"type": "bar", "orientation": "h", "y": df.rule.str.replace("_", " ").tolist(),
                      "x": df.exports.tolist(), "marker": {"color": "#c0392b"},
                      "customdata": df.kg.round(1).tolist(),
                      "hovertemplate": "%{y}: %{x} exports, %{customdata:,} kg<extra></extra>"}],
            "layout": {"font": FONT, "height": max(180, 34 * len(df) + 70),
                       "margin": {"l": 150, "r": 20, "t": 10, "b": 40},
                       "xaxis": {"title": {"text": "flagged exports"}, "rangemode": "tozero"}}}
