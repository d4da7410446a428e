"""Plotly figures of the industry and association pages (plain dicts for Plotly.js)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from restrat.web.charts import COLORWAY, FONT, STAGE_COLOURS, _clean

VERDICT_COLOURS = {"falls_short": "#b3261e", "indeterminate": "#e0a100", "meets": "#2ca02c",
                   "not_assessed": "#9aa0a6", "no_conditions": "#d9dcd6"}


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {"font": FONT, "height": height, "margin": {"l": 70, "r": 10, "t": 30, "b": 40}, "colorway": COLORWAY,
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, **extra}


def hhi_chart(frame: pd.DataFrame, *, dim: str, threshold: float, guideline: str) -> dict[str, Any]:
    """HHI over years, one line per value of dim, with the guideline's 'highly concentrated' level dashed."""
    traces = []
    years = [int(y) for y in frame.year] or [0]
    span = pd.Index(range(min(years), max(years) + 1), name="year")
    for key, part in frame.groupby(dim, sort=True):
        # every year of the span, so a year without figures is a gap in the line, not a straight join
        part = part.set_index("year").reindex(span).reset_index()
        traces.append({"type": "scatter", "mode": "lines+markers", "name": str(key), "connectgaps": False,
                       "x": [int(y) for y in part.year], "y": [_clean(round(float(v), 1)) for v in part.hhi],
                       "customdata": [[str(lead), _clean(s), _clean(o)]
                                      for lead, s, o in zip(part.leader, part.leader_share_pct, part.owners,
                                                            strict=True)],
                       "hovertemplate": "%{x}: HHI %{y:,.0f}<br>leader %{customdata[0]} (%{customdata[1]} %)"
                                        "<br>%{customdata[2]} owners<extra>" + str(key) + "</extra>",
                       "line": {"color": STAGE_COLOURS.get(str(key))} if str(key) in STAGE_COLOURS else {}})
    traces.append({"type": "scatter", "mode": "lines", "name": f"highly concentrated above {threshold:,.0f}",
                   "x": [min(years), max(years)], "y": [threshold, threshold], "hoverinfo": "skip",
                   "line": {"dash": "dash", "color": "#b3261e", "width": 1}})
    return {"data": traces, "layout": _layout(
        380, yaxis={"title": {"text": "HHI"}, "range": [0, 10_500], "gridcolor": "#eee"},
        xaxis={"dtick": 1}, annotations=[{"text": guideline, "xref": "paper", "yref": "paper", "x": 1, "y": 0,
                                          "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                                          "font": {"size": 10, "color": "#666"}}])}


def merger_chart(result: pd.DataFrame, *, cell_cols: list[str]) -> dict[str, Any]:
    """HHI before and after the merger per cell (grouped bars)."""
    labels = (result[cell_cols].astype(str).agg(" ".join, axis=1).tolist() if cell_cols
              else ["whole market"] * len(result))
    traces = [{"type": "bar", "name": name, "x": labels, "y": [round(float(v), 1) for v in result[col]],
               "marker": {"color": colour}, "hovertemplate": "%{x}: HHI %{y:,.0f}<extra>" + name + "</extra>"}
              for name, col, colour in (("before", "hhi_pre", "#9aa0a6"), ("after", "hhi_post", "#1f77b4"))]
    return {"data": traces, "layout": _layout(320, barmode="group",
                                              yaxis={"title": {"text": "HHI"}, "gridcolor": "#eee"})}


def access_chart(checks: pd.DataFrame) -> dict[str, Any]:
    """Facilities by stage and verdict (stacked bars)."""
    counts = checks.groupby(["stage", "verdict"]).size().unstack(fill_value=0)
    traces = [{"type": "bar", "name": v.replace("_", " "), "x": list(counts.index),
               "y": [int(n) for n in counts[v]], "marker": {"color": VERDICT_COLOURS[v]},
               "hovertemplate": "%{x}: %{y} facilities<extra>" + v.replace("_", " ") + "</extra>"}
              for v in VERDICT_COLOURS if v in counts.columns]
    return {"data": traces, "layout": _layout(300, barmode="stack",
                                              yaxis={"title": {"text": "facilities"}, "gridcolor": "#eee"})}


def cluster_map(labelled: pd.DataFrame, summary: pd.DataFrame) -> dict[str, Any]:
    """Facilities coloured by cluster (grey: in no cluster), centred on China."""
    traces = []
    completeness = dict(zip(summary.cluster, summary.completeness, strict=True))
    for key, part in labelled.groupby("cluster", sort=True):
        name = "no cluster" if key == -1 else f"cluster {key} ({completeness.get(key, 0):.0%} of chain)"
        traces.append({
            "type": "scattergeo", "mode": "markers", "name": name,
            "lat": [float(v) for v in part.lat], "lon": [float(v) for v in part.lon], "text": list(part.name),
            "customdata": [[c, s, _clean(cap)] for c, s, cap in zip(part.code, part.stage,
                                                                    part.capacity_t_reo_per_year, strict=True)],
            "hovertemplate": "<b>%{text}</b> (%{customdata[0]})<br>%{customdata[1]}, %{customdata[2]:,.0f} "
                             "t REO/yr<extra>" + name + "</extra>",
            "marker": {"size": 7, "opacity": 0.8, **({"color": "#b0b0b0"} if key == -1 else {})}})
    layout = _layout(480, geo={"projection": {"type": "natural earth", "scale": 3.4},
                               "center": {"lon": 110, "lat": 31}, "showland": True, "landcolor": "#eef0ea",
                               "showcountries": True, "countrycolor": "#b9bcb4", "showframe": False})
    layout["margin"] = {"l": 0, "r": 0, "t": 10, "b": 0}
    layout["legend"] = {"orientation": "v", "x": 1, "xanchor": "right", "y": 1, "bgcolor": "rgba(255,255,255,0.8)"}
    return {"data": traces, "layout": layout}


def completeness_chart(summary: pd.DataFrame, *, chain: list[str]) -> dict[str, Any]:
    """Capacity by stage per cluster (stacked bars), clusters labelled with their completeness."""
    labels = [f"cluster {c} · {r} · {p:.0%}" for c, r, p in zip(summary.cluster, summary.region,
                                                                 summary.completeness, strict=True)]
    traces = [{"type": "bar", "orientation": "h", "name": s, "y": labels,
               "x": [float(v) for v in summary[f"capacity_{s}"]], "marker": {"color": STAGE_COLOURS.get(s)},
               "hovertemplate": "%{y}: %{x:,.0f} t REO/yr<extra>" + s + "</extra>"} for s in chain]
    layout = _layout(max(260, 28 * len(summary) + 80), barmode="stack",
                     xaxis={"title": {"text": "capacity, t REO/yr"}, "gridcolor": "#eee", "tickformat": ",d"},
                     yaxis={"autorange": "reversed"})
    layout["margin"]["l"] = 260
    return {"data": traces, "layout": layout}


def index_chart(index: pd.DataFrame) -> dict[str, Any]:
    """Published reference prices per product over months; suppressed months leave a gap."""
    traces = []
    for (product, currency), part in index.sort_values("period").groupby(["product", "currency"], sort=True):
        traces.append({"type": "scatter", "mode": "lines+markers", "name": f"{product} ({currency})",
                       "x": list(part.period), "y": [_clean(v) for v in part.index_price], "connectgaps": False,
                       "hovertemplate": "%{x}: %{y:,.2f} " + currency + "/kg<extra>" + product + "</extra>"})
    # prices differ by three orders of magnitude between products: a log axis keeps every line readable
    return {"data": traces, "layout": _layout(360, yaxis={"title": {"text": "price per kg (log scale)"},
                                                          "type": "log", "gridcolor": "#eee"})}


STRUCTURE_COLOURS = {"raw": "#8c564b", "intermediate": "#1f77b4", "functional": "#e0a100", "high_end": "#d62728"}
VALUE_ENDS = {"value added": ("Value added", "#2ca02c"),
              "sold, exported or stocked": ("Sold on, exported or stocked", "#393b79")}


def value_sankey(flows: pd.DataFrame, stage_names: dict[str, str], stage_order: list[str]) -> dict[str, Any]:
    """Value (USD) along the chain as a Sankey: each stage in chain order receives the inputs it bought from the
    stage upstream and, from a green node just above and before it, the value it added; what no stage consumed
    leaves on the right."""
    present = set(flows.source) | set(flows.target)
    stages = [s for s in stage_order if s in present]
    added = flows[flows.flow == "value_added"].target.tolist()
    order = stages + [f"added:{s}" for s in stages if s in added] + (
        ["sold, exported or stocked"] if "sold, exported or stocked" in present else [])
    index = {n: i for i, n in enumerate(order)}
    step = 0.7 / max(len(stages) - 1, 1)
    xs = {s: 0.1 + step * i for i, s in enumerate(stages)}
    x = [xs[n] if n in xs else (max(xs[n[6:]] - 0.09, 0.001) if n.startswith("added:") else 0.999) for n in order]
    y = [0.6 if n in xs else (0.08 if n.startswith("added:") else 0.5) for n in order]
    labels = [stage_names.get(n, n) if n in xs else ("value added" if n.startswith("added:")
                                                      else VALUE_ENDS[n][0]) for n in order]
    colours = [STAGE_COLOURS.get(n, "#444") if n in xs else (VALUE_ENDS["value added"][1] if n.startswith("added:")
                                                              else VALUE_ENDS[n][1]) for n in order]
    link_colour = {"input": "rgba(31,119,180,0.35)", "value_added": "rgba(44,160,44,0.45)",
                   "left_chain": "rgba(57,59,121,0.4)"}
    src = [index[f"added:{t}"] if f == "value_added" else index[s]
           for s, t, f in zip(flows.source, flows.target, flows.flow, strict=True)]
    musd = [round(float(v) / 1e6, 3) for v in flows.value_usd]
    trace = {"type": "sankey", "arrangement": "snap", "valueformat": ",.1f", "valuesuffix": " M USD",
             "node": {"label": labels, "color": colours, "pad": 14, "thickness": 14, "x": x, "y": y,
                      "line": {"color": "#fff", "width": 0.5},
                      "hovertemplate": "%{label}<br>%{value:,.1f} M USD<extra></extra>"},
             "link": {"source": src, "target": [index[t] for t in flows.target],
                      "value": musd, "color": [link_colour.get(f, "rgba(0,0,0,0.2)") for f in flows.flow],
                      "hovertemplate": "%{source.label} → %{target.label}<br>%{value:,.1f} M USD<extra></extra>"}}
    return {"data": [trace], "layout": {"font": FONT, "height": 460, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}}}


def value_stage_chart(stages: pd.DataFrame, *, key: str | None, stage_names: dict[str, str]) -> dict[str, Any]:
    """Value per tonne REO at each chain stage (log axis), one line per cell of `key` (or the nation)."""
    traces = []
    groups = stages.groupby(key, sort=True) if key else [("national", stages)]
    for name, part in groups:
        part = part.sort_values("position")
        traces.append({"type": "scatter", "mode": "lines+markers", "name": str(name),
                       "x": [stage_names.get(s, s) for s in part.stage],
                       "y": [_clean(float(v)) for v in part.value_per_t_usd],
                       "customdata": [[_clean(round(float(a) / 1e6, 2))] for a in part.value_added_usd],
                       "hovertemplate": "%{x}: %{y:,.0f} USD/t REO<br>value added %{customdata[0]:,.2f} M USD"
                                        "<extra>" + str(name) + "</extra>"})
    present = set(stages.stage)
    categories = [stage_names.get(s, s) for s in stage_names if s in present]
    return {"data": traces, "layout": _layout(360, yaxis={"title": {"text": "USD per t REO (log)"}, "type": "log",
                                                          "dtick": 1, "gridcolor": "#eee"},
                                              xaxis={"categoryorder": "array", "categoryarray": categories})}


def structure_chart(structure: pd.DataFrame, *, key: str | None) -> dict[str, Any]:
    """Product-structure balance: share of REO made per structure class (stacked), per cell."""
    cells = [str(v) for v in (structure[key] if key else pd.Series(["national"] * len(structure)))]
    frame = structure.assign(_cell=cells)
    order = list(dict.fromkeys(frame._cell))
    traces = []
    for cls, colour in STRUCTURE_COLOURS.items():
        part = frame[frame.structure == cls].set_index("_cell").reindex(order)
        traces.append({"type": "bar", "orientation": "h", "name": cls.replace("_", " "), "y": order,
                       "x": [_clean(float(v)) for v in part.share_reo_pct.fillna(0.0)],
                       "customdata": [[_clean(float(v))] for v in part.share_value_pct],
                       "marker": {"color": colour},
                       "hovertemplate": "%{y}: %{x:.1f} % of REO made, %{customdata[0]:.1f} % of value<extra>"
                                        + cls.replace("_", " ") + "</extra>"})
    layout = _layout(max(170, 26 * len(order) + 100), barmode="stack",
                     xaxis={"title": {"text": "share of REO made, %"}, "range": [0, 100], "gridcolor": "#eee"},
                     yaxis={"autorange": "reversed"})
    layout["margin"]["l"] = 160
    return {"data": traces, "layout": layout}


def indicator_chart(rows: pd.DataFrame, *, year: int) -> dict[str, Any]:
    """One scorecard indicator over the years: bars for years with a value, the report year darker; years
    without data are left empty and named in the hover of an empty marker on the axis."""
    rows = rows.sort_values("year")
    has = rows[rows.value.notna()]
    missing = rows[rows.value.isna()]
    unit = str(rows.unit.iloc[0]) if len(rows) else ""
    colours = ["#1f4e79" if int(y) == year else "#8fb3d9" for y in has.year]
    traces: list[dict[str, Any]] = [{
        "type": "bar", "x": [int(y) for y in has.year], "y": [_clean(float(v)) for v in has.value],
        "marker": {"color": colours}, "name": unit,
        "hovertemplate": "%{x}: %{y:,.4~g} " + unit + "<extra></extra>"}]
    if len(missing):
        traces.append({"type": "scatter", "mode": "markers", "x": [int(y) for y in missing.year],
                       "y": [0] * len(missing), "marker": {"symbol": "x-thin-open", "size": 9, "color": "#b3261e"},
                       "name": "no data", "customdata": list(missing.note),
                       "hovertemplate": "%{x}: %{customdata}<extra></extra>"})
    layout = _layout(190, showlegend=False, bargap=0.35,
                     xaxis={"tickmode": "array", "tickvals": [int(y) for y in rows.year], "tickformat": "d"},
                     yaxis={"gridcolor": "#eee", "rangemode": "tozero", "tickformat": "~s"})
    layout["margin"] = {"l": 44, "r": 8, "t": 8, "b": 28}
    return {"data": traces, "layout": layout}
