"""Plotly figures of the technology pages (plain dicts for Plotly.js)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from restrat.web.charts import COLORWAY, FONT

KIND_COLOURS = {"enterprise": "#1f77b4", "institute": "#d62728", "university": "#2ca02c"}
STATUS_COLOURS = {"technology_prohibited": "#b3261e", "dual_use_licence": "#e07000", "technology_licence": "#e0a100",
                  "technology_restricted": "#f2c94c", "not_listed": "#9aa0a6"}


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {"font": FONT, "height": height, "margin": {"l": 60, "r": 10, "t": 30, "b": 40}, "colorway": COLORWAY,
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}, **extra}


def _day(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)[:10]


def pipeline_chart(projects: pd.DataFrame) -> dict[str, Any]:
    """One row per project: research (start to first pilot or production, or today), pilot line (to first
    production, or today) and production (to today)."""
    rows = projects.sort_values("start_date", ascending=False)
    today = pd.Series(pd.Timestamp.today().normalize(), index=rows.index)
    started, pilot, made = (pd.to_datetime(rows[c]) for c in ("start_date", "pilot_on", "production_on"))
    phases = (("research", started, pilot.fillna(made).fillna(today), "#9aa0a6"),
              ("pilot line", pilot, made.fillna(today), "#e0a100"),
              ("in production", made, today, "#2ca02c"))
    traces = []
    for name, start, end, colour in phases:
        keep = start.notna() & (end >= start)
        traces.append({"type": "bar", "orientation": "h", "name": name, "y": rows.code[keep].tolist(),
                       "base": [d.strftime("%Y-%m-%d") for d in start[keep]],
                       "x": [int(w) * 86_400_000 for w in (end - start)[keep].dt.days],
                       "marker": {"color": colour},
                       "customdata": [[_day(a), _day(b)] for a, b in zip(start[keep], end[keep], strict=True)],
                       "hovertemplate": "%{y}: " + name + " %{customdata[0]} to %{customdata[1]}<extra></extra>"})
    return {"data": traces, "layout": _layout(max(220, 40 * len(rows) + 80), barmode="overlay",
                                              xaxis={"type": "date", "gridcolor": "#eee"},
                                              yaxis={"automargin": True})}


def benefit_chart(benefit: pd.DataFrame) -> dict[str, Any]:
    """Value of the contained REO of each technology's output, per year (stacked bars, million USD)."""
    traces = [{"type": "bar", "name": code, "x": [int(y) for y in part.year],
               "y": [round(float(v) / 1e6, 3) for v in part.value_usd],
               "customdata": [[round(float(r), 1), round(float(o), 1)] for r, o in zip(part.reo_t, part.output_t,
                                                                                      strict=True)],
               "hovertemplate": code + " %{x}: %{y:,.2f} M USD<br>%{customdata[0]:,} t REO in %{customdata[1]:,} t "
                                "of product<extra></extra>"}
              for code, part in benefit.groupby("code", sort=True)]
    return {"data": traces, "layout": _layout(320, barmode="stack", xaxis={"dtick": 1},
                                              yaxis={"title": {"text": "million USD (contained REO)"},
                                                     "gridcolor": "#eee"})}


def indicator_chart(indicators: pd.DataFrame, indicator: str, *, title: str) -> dict[str, Any]:
    """An indicator per field and year (stacked bars), without the 'all' total."""
    part = indicators[(indicators.indicator == indicator) & (indicators.field != "all")]
    traces = [{"type": "bar", "name": f, "x": [int(y) for y in p.year], "y": [float(v) for v in p.value],
               "hovertemplate": f + " %{x}: %{y}<extra></extra>"} for f, p in part.groupby("field", sort=True)]
    return {"data": traces, "layout": _layout(300, barmode="stack", xaxis={"dtick": 1},
                                              yaxis={"title": {"text": title}, "gridcolor": "#eee"})}


def levels_chart(levels: pd.DataFrame) -> dict[str, Any]:
    """Facility technology level over time (step lines)."""
    today = pd.Timestamp.today().strftime("%Y-%m-%d")
    traces = []
    for code, part in levels.groupby("facility", sort=True):
        x = [_day(d) for d in part.level_on] + [today]
        y = [int(v) for v in part.level] + [int(part.level.iloc[-1])]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": code, "x": x, "y": y,
                       "line": {"shape": "hv"}, "hovertemplate": code + " from %{x}: level %{y}<extra></extra>"})
    return {"data": traces, "layout": _layout(300, xaxis={"type": "date"},
                                              yaxis={"title": {"text": "technology level (1-5)"}, "range": [0.5, 5.5],
                                                     "dtick": 1, "gridcolor": "#eee"})}


def readiness_chart(readiness: pd.DataFrame, steps: pd.DataFrame) -> dict[str, Any]:
    """A project's readiness level over time with its pilot and production dates marked."""
    x = [_day(d) for d in readiness.assessed_on]
    traces = [{"type": "scatter", "mode": "lines+markers", "name": "readiness level", "x": x,
               "y": [int(v) for v in readiness.level], "line": {"shape": "hv", "color": "#1f77b4"},
               "hovertemplate": "%{x}: TRL %{y}<extra></extra>"}]
    colours = {"pilot": "#e0a100", "production": "#2ca02c"}
    for stage, part in steps.groupby("stage"):
        traces.append({"type": "scatter", "mode": "markers", "name": stage, "x": [_day(d) for d in part.reached_on],
                       "y": [9.3] * len(part), "marker": {"symbol": "triangle-down", "size": 12,
                                                          "color": colours.get(str(stage))},
                       "text": part.facility.tolist(), "hovertemplate": stage + " %{x} at %{text}<extra></extra>"})
    return {"data": traces, "layout": _layout(280, xaxis={"type": "date"},
                                              yaxis={"title": {"text": "TRL"}, "range": [0.5, 9.8], "dtick": 1,
                                                     "gridcolor": "#eee"})}


def network_chart(actors: pd.DataFrame, edges: pd.DataFrame, layout: pd.DataFrame) -> dict[str, Any]:
    """The cooperation graph: edges as lines (wider for more shared links), actors coloured by kind and sized by
    betweenness."""
    pos = layout.set_index("actor")
    ex: list[Any] = []
    ey: list[Any] = []
    for a, b in zip(edges.actor_a, edges.actor_b, strict=True):
        ex += [pos.at[a, "x"], pos.at[b, "x"], None]
        ey += [pos.at[a, "y"], pos.at[b, "y"], None]
    traces: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "x": ex, "y": ey, "hoverinfo": "skip",
                                     "line": {"color": "#b8bcc2", "width": 1}, "showlegend": False}]
    nodes = actors.merge(layout, on="actor")
    for kind, part in nodes.groupby("kind", sort=True):
        traces.append({
            "type": "scatter", "mode": "markers+text", "name": str(kind), "x": part.x.tolist(),
            "y": part.y.tolist(), "text": [a.split(":", 1)[1] for a in part.actor], "textposition": "top center",
            "textfont": {"size": 10},
            "marker": {"color": KIND_COLOURS.get(str(kind)), "size": [12 + 40 * float(b) for b in part.betweenness],
                       "line": {"color": "#fff", "width": 1}},
            "customdata": [[n, int(p), round(float(b), 3), int(c)] for n, p, b, c in
                           zip(part.name, part.partners, part.betweenness, part.community, strict=True)],
            "hovertemplate": "%{customdata[0]}<br>%{customdata[1]} partners, betweenness %{customdata[2]}"
                             "<br>community %{customdata[3]}<extra></extra>"})
    axis = {"visible": False, "zeroline": False}
    return {"data": traces, "layout": _layout(520, xaxis=axis, yaxis=axis, hovermode="closest")}


def control_chart(history: pd.DataFrame) -> dict[str, Any]:
    """Control status of each field over time (coloured periods)."""
    traces = []
    for status, part in history.groupby("status", sort=False):
        start = pd.to_datetime(part.start)
        end = pd.to_datetime(part.end) + pd.Timedelta(days=1)
        traces.append({"type": "bar", "orientation": "h", "name": str(status).replace("_", " "),
                       "y": part.field.tolist(), "base": [d.strftime("%Y-%m-%d") for d in start],
                       "x": [int(d.days) * 86_400_000 for d in (end - start)],
                       "marker": {"color": STATUS_COLOURS.get(str(status), "#666")},
                       "customdata": [[_day(s), _day(e), i or "—", su or "—"] for s, e, i, su in
                                      zip(part.start, part.end, part["items"], part.suspended_items, strict=True)],
                       "hovertemplate": "%{y}: " + str(status) + " %{customdata[0]} to %{customdata[1]}<br>items "
                                        "%{customdata[2]}<br>suspended %{customdata[3]}<extra></extra>"})
    n = history.field.nunique()
    return {"data": traces, "layout": _layout(max(220, 34 * n + 90), barmode="overlay",
                                              xaxis={"type": "date", "gridcolor": "#eee"},
                                              yaxis={"automargin": True})}

