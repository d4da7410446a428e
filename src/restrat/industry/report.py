"""The strategy scorecard as one page: the context for the web page and a standalone HTML report with Plotly
inlined from the shipped static file, so it opens offline."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from restrat.web import industry_charts
from restrat.web.aspects import ASPECTS

TEMPLATES = Path(str(resources.files("restrat.web") / "templates"))
PLOTLY = Path(str(resources.files("restrat.web") / "static" / "plotly.min.js"))
REPORT_TEMPLATE = "industry/scorecard_report.html"


def _fmt(value: float | None, unit: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    digits = 0 if abs(value) >= 100 or unit in ("patents", "infractions", "entries") else (2 if abs(value) < 10
                                                                                          else 1)
    return f"{value:,.{digits}f}"


def context(table: pd.DataFrame, *, year: int) -> dict[str, Any]:
    """Per aspect: its wording and its indicators, each with the value in `year`, the latest earlier value with
    its year, the notes, the source and a chart over the years."""
    aspects = []
    for a in ASPECTS:
        rows = table[table.aspect == a.number]
        items = []
        for name, part in rows.groupby("indicator", sort=False):
            now = part[part.year == year].iloc[0]
            earlier = part[(part.year < year) & part.value.notna()].sort_values("year")
            prev = earlier.iloc[-1] if len(earlier) else None
            notes = sorted({n for n in part[part.value.notna()].note if n})
            items.append({
                "indicator": name, "label": now.label, "unit": now.unit, "better": now.better, "source": now.source,
                "value": None if pd.isna(now.value) else float(now.value), "text": _fmt(now.value, now.unit),
                "status": now.status, "note": now.note,
                "previous": None if prev is None else {"year": int(prev.year), "text": _fmt(prev.value, now.unit)},
                "years_with_data": int(part.value.notna().sum()), "notes": notes,
                "figure": industry_charts.indicator_chart(part, year=year)})
        aspects.append({"number": a.number, "short": a.short, "wording": a.wording, "indicators": items})
    with_data = int(table[table.year == year].value.notna().sum())
    return {"year": year, "years": sorted(table.year.unique().tolist()), "aspects": aspects,
            "with_data": with_data, "total": int((table.year == year).sum())}


def render_report(table: pd.DataFrame, *, year: int, database: str) -> str:
    """The standalone HTML report (Plotly and the styles inlined)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    css = (Path(str(resources.files("restrat.web") / "static" / "app.css"))).read_text(encoding="utf-8")
    return env.get_template(REPORT_TEMPLATE).render(
        **context(table, year=year), plotly_js=PLOTLY.read_text(encoding="utf-8"), css=css, database=database,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def write_report(table: pd.DataFrame, *, year: int, out: Path, database: str) -> Path:
    """Write the report to `out` (parent folders created)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(table, year=year, database=database), encoding="utf-8")
    return out
