"""Market capability: calibrate, run scenarios and sweeps, write results and reports, store runs."""

from __future__ import annotations

import json
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from restrat.catalog import reference
from restrat.errors import InputError, NotFound, Problem
from restrat.market import model
from restrat.market import scenario as scenarios
from restrat.market.calibration import Base, assumption_table, calibrate
from restrat.market.models import MarketMetric, MarketPrice, MarketRun
from restrat.market.sweep import RunResult, combine, fan, solve_scenario, sweep
from restrat.store.bulk import insert_rows
from restrat.web import market_charts

# Stated tolerances of the base-year calibration (relative gaps).
VOLUME_TOLERANCE = 0.02
PRICE_TOLERANCE = 0.02
REPORT_TEMPLATE = "market/report.html"
BASELINE = "baseline"


@cache
def base() -> Base:
    """The calibrated base year (cached per process)."""
    return calibrate()


def load_scenario(*, path: str | Path) -> scenarios.Scenario:
    """A scenario from a TOML file or the shipped library (by name)."""
    return scenarios.load(path, base=base())


def parse_scenario(*, text: str, source: str = "scenario") -> scenarios.Scenario:
    """A scenario from TOML text (the API and the web form)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(Problem(field="scenario", rule=f"is not valid TOML: {e}"), source=source) from e
    return scenarios.parse(data, base=base(), source=source)


def library() -> list[dict[str, Any]]:
    """The example scenarios with their descriptions."""
    out = []
    for name in scenarios.library_names():
        scn = load_scenario(path=name)
        out.append({"name": scn.name, "description": scn.description, "start_year": scn.start_year,
                    "horizon": scn.horizon, "conduct": scn.conduct,
                    "levers": sorted(k for k, v in scn.levers.items() if v) + (["history"] if scn.history else []),
                    "uncertain": sorted(scn.uncertain)})
    return out


def library_text(*, name: str) -> str:
    """The TOML text of a library scenario."""
    path = scenarios.LIBRARY / f"{name}.toml"
    if not path.is_file():
        raise NotFound("scenario", name, field="scenario")
    return path.read_text(encoding="utf-8")


def run_scenario(*, scenario: scenarios.Scenario) -> RunResult:
    """Solve one scenario with its own parameters; an infeasible one raises InputError naming the conflict."""
    try:
        return solve_scenario(scenario, base=base())
    except model.Infeasible as e:
        raise InputError(Problem(field="scenario", rule="infeasible: these constraints conflict: "
                                 + "; ".join(e.conflicts)), source=scenario.source or scenario.name) from e


def baseline_for(*, scenario: scenarios.Scenario) -> scenarios.Scenario:
    """The library baseline over the scenario's years, with the scenario's parameters."""
    ref = load_scenario(path=BASELINE)
    return replace(ref, start_year=scenario.start_year, horizon=scenario.horizon,
                   iea_scenario=scenario.iea_scenario, parameters=dict(scenario.parameters))


def fit_report() -> dict[str, pd.DataFrame | dict[str, Any]]:
    """Solve the base year alone and compare it with the observed volumes and prices it was calibrated to."""
    b = base()
    scn = scenarios.parse({"scenario": {"name": "calibration", "start_year": b.base_year, "horizon": 1}}, base=b)
    res = solve_scenario(scn, base=b)
    usgs = b.sources[b.sources.basis != "assumption"]  # sources whose base output is USGS data
    observed = usgs.groupby("country").base_t.sum()
    modelled = res.supply[res.supply.source.isin(usgs.code)].groupby("country").mined_t.sum().reindex(observed.index)
    volumes = pd.DataFrame({"country": observed.index, "observed_t": observed.to_numpy(),
                            "model_t": modelled.to_numpy()})
    volumes = volumes[volumes.observed_t > 0].reset_index(drop=True)
    volumes["gap"] = volumes.model_t / volumes.observed_t - 1.0
    volumes["within_tolerance"] = volumes.gap.abs() <= VOLUME_TOLERANCE
    world = res.markets.groupby("element").price_usd_per_kg.mean()
    prices = b.prices[["element", "price_usd_per_kg", "year", "status", "source"]].rename(
        columns={"price_usd_per_kg": "observed_usd_per_kg", "year": "price_year"})
    prices = prices[prices.observed_usd_per_kg.notna()].reset_index(drop=True)
    prices["model_usd_per_kg"] = world.reindex(prices.element).to_numpy()
    prices["gap"] = prices.model_usd_per_kg / prices.observed_usd_per_kg - 1.0
    prices["within_tolerance"] = prices.gap.abs() <= PRICE_TOLERANCE
    summary = res.summary.set_index("metric").value
    shares = pd.DataFrame([
        {"indicator": "China's share of mining", "model": float(summary["china_mine_share"]),
         "reference": float(observed.get("China", 0.0) / observed.sum()),
         "reference_source": "USGS MCS 2026 mine production by country"},
        {"indicator": "China's share of separation", "model": float(summary["china_separation_share"]),
         "reference": _iea_refining_share(), "reference_source":
             "IEA magnet REE refining 2024, ree_iea_critical_minerals_outlook_demand_supply.csv (magnet REE only)"},
    ])
    scaling = b.demand_scaling.copy()
    return {"volumes": volumes, "prices": prices, "shares": shares, "demand_scaling": scaling,
            "daily_check": daily_price_check(year=b.base_year, prices=b.prices),
            "tolerances": {"volume": VOLUME_TOLERANCE, "price": PRICE_TOLERANCE},
            "passed": bool(volumes.within_tolerance.all() and prices.within_tolerance.all()),
            "base_year": b.base_year, "method": res.method}


def daily_price_check(*, year: int, prices: pd.DataFrame) -> pd.DataFrame:
    """The base-year mean of the KOMIS daily FOB China series beside the USGS annual price the model uses."""
    daily = reference.read("ree_prices_komis_daily_fob_china.csv")
    daily = daily[daily.date.str.startswith(str(year))].assign(price=lambda f: pd.to_numeric(f.price))
    means = daily.groupby("element").price.agg(["mean", "count"]).reset_index()
    used = prices.set_index("element").price_usd_per_kg
    return pd.DataFrame({"element": means.element, "daily_mean_usd_per_kg": means["mean"], "days": means["count"],
                         "model_base_usd_per_kg": used.reindex(means.element).to_numpy(),
                         "gap": means["mean"].to_numpy() / used.reindex(means.element).to_numpy() - 1.0,
                         "source": "ree_prices_komis_daily_fob_china.csv (KOMIS, third-party; oxide assumed)"})


def _iea_refining_share() -> float:
    iea = reference.read("ree_iea_critical_minerals_outlook_demand_supply.csv")
    ref = iea[(iea.dataset == "supply (IEA sheet 2, refining)") & (iea.scenario == "base year")]
    values = pd.to_numeric(ref.set_index("category")["value"])
    return float(values["country: China"] / values["total"])


def assumptions() -> pd.DataFrame:
    """Every assumption the model makes, with its reason."""
    table = assumption_table(base().assumptions)
    return table.assign(value=table.value.map(lambda v: json.dumps(v, ensure_ascii=False)))


def simulate(*, scenario: scenarios.Scenario, out: Path, runs: int = 1, workers: int = 1,
             scheduler: str | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the scenario (and the baseline) and write Parquet tables plus an HTML report into out.

    With runs > 1 or a [grid], the scenario is swept; the baseline is solved once with the scenario's parameters."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    swept = runs > 1 or bool(scenario.grid)
    try:
        results = sweep(scenario, runs=runs, workers=workers, scheduler=scheduler, progress=progress,
                        base=base()) if swept \
            else [run_scenario(scenario=scenario)]
    except model.Infeasible as e:
        raise InputError(Problem(field="scenario", rule="infeasible: these constraints conflict: "
                                 + "; ".join(e.conflicts)), source=scenario.source) from e
    if progress and not swept:
        progress(1, 1)
    tables = combine(results, scenario.name)
    base_scn = baseline_for(scenario=scenario)
    base_tables = combine([run_scenario(scenario=base_scn)], BASELINE) if scenario.name != BASELINE else None
    files = {}
    for name, table in tables.items():
        full = pd.concat([table, base_tables[name]], ignore_index=True) if base_tables is not None else table
        path = out / f"{name}.parquet"
        full.to_parquet(path, index=False)
        files[name] = str(path)
    report = out / "report.html"
    report.write_text(render_report(scenario=scenario, tables=tables, baseline=base_tables), encoding="utf-8")
    shutil.copy(Path(str(resources.files("restrat.web") / "static" / "plotly.min.js")), out / "plotly.min.js")
    files["report"] = str(report)
    return {"scenario": scenario.name, "runs": len(results), "seconds": round(time.perf_counter() - start, 3),
            "files": files, "headline": headline(summary=tables["summary"],
                                                 baseline=base_tables["summary"] if base_tables else None)}


def headline(*, summary: pd.DataFrame, baseline: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Key indicators averaged over the horizon (median across runs), beside the baseline."""
    def avg(frame: pd.DataFrame) -> pd.Series:
        per_run = frame.groupby(["run", "metric"]).value.mean() if "run" in frame else frame.groupby(
            "metric").value.mean()
        return per_run.groupby("metric").median() if "run" in frame else per_run

    s = avg(summary)
    b = avg(baseline) if baseline is not None else pd.Series(dtype=float)
    rows = []
    clean = (s.where(s.abs() > 1e-6, 0.0), b.where(b.abs() > 1e-6, 0.0))  # solver noise shows as exact zero
    for metric in market_charts.METRIC_LABELS:
        if metric in s:
            rows.append({"metric": metric, "label": market_charts.METRIC_LABELS[metric],
                         "scenario": float(clean[0][metric]), "baseline": float(clean[1][metric]) if metric in b
                         else None})
    return rows


def _env() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(resources.files("restrat.web") / "templates"))
    return jinja2.Environment(loader=loader, autoescape=True)


def figures(*, markets: pd.DataFrame, supply: pd.DataFrame, summary: pd.DataFrame,
            baseline: dict[str, pd.DataFrame] | None) -> dict[str, Any]:
    """The report's and the run page's figures (first run of a sweep; fans across runs)."""
    first = markets.run.min() if "run" in markets else 0
    pick = (lambda f: f[f.run == first]) if "run" in markets else (lambda f: f)
    figs = {"prices": market_charts.prices(pick(markets), baseline["markets"] if baseline else None),
            "supply": market_charts.supply_by_country(pick(supply)),
            "indicators": market_charts.indicators(pick(summary), baseline["summary"] if baseline else None)}
    if "run" in markets and markets.run.nunique() > 1:
        nd = markets[(markets.element == "Nd") & (markets.market == "rest_of_world")]
        dy = markets[(markets.element == "Dy") & (markets.market == "rest_of_world")]
        share = summary[summary.metric == "china_mine_share"]
        figs["fan_nd"] = market_charts.fan(fan(nd, by=["year"], value="price_usd_per_kg"),
                                           title="Nd oxide price outside China across runs", unit="USD/kg")
        figs["fan_dy"] = market_charts.fan(fan(dy, by=["year"], value="price_usd_per_kg"),
                                           title="Dy oxide price outside China across runs", unit="USD/kg")
        figs["fan_share"] = market_charts.fan(fan(share, by=["year"], value="value"),
                                              title="China's share of mining across runs", unit="share")
    return figs


def render_report(*, scenario: scenarios.Scenario, tables: dict[str, pd.DataFrame],
                  baseline: dict[str, pd.DataFrame] | None) -> str:
    """A standalone HTML report (Plotly loaded from plotly.min.js beside it)."""
    figs = figures(markets=tables["markets"], supply=tables["supply"], summary=tables["summary"], baseline=baseline)
    fit = fit_report()
    return _env().get_template(REPORT_TEMPLATE).render(
        scenario=scenario, figures=figs, runs=tables["runs"].to_dict("records"),
        headline=headline(summary=tables["summary"], baseline=baseline["summary"] if baseline else None),
        assumptions=assumptions().to_dict("records"), fit=fit, prices=base().prices.to_dict("records"))


@cache
def baseline_tables(*, start_year: int, horizon: int, iea_scenario: str) -> dict[str, pd.DataFrame]:
    """The baseline's markets and summary over these years (cached per process, for the pages)."""
    ref = replace(load_scenario(path=BASELINE), start_year=start_year, horizon=horizon, iea_scenario=iea_scenario)
    result = run_scenario(scenario=ref)
    return {"markets": result.markets, "summary": result.summary}


def supply_from_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Mine output by country and year from the stored 'mined_t:<country>' indicators."""
    rows = summary[summary.metric.str.startswith("mined_t:")]
    return pd.DataFrame({"country": rows.metric.str.slice(len("mined_t:")), "year": rows.year,
                         "mined_t": rows.value})


FORM_DEFAULTS: dict[str, Any] = {
    "name": "my scenario", "horizon": 20, "iea_scenario": "STEPS", "conduct": "competitive", "two_groups": False,
    "china_quota_growth": 3.0, "export_elements": "none", "export_to": "outside", "export_cut": 50.0,
    "export_from_year": 2026, "env_ionic_cost": 0.0, "env_capacity_cut": 0.0, "new_mine_t": 0.0,
    "new_mine_start": 2029, "stockpile_t": 0.0,
}


def scenario_from_form(*, fields: dict[str, Any]) -> str:
    """Scenario TOML text from the web form's fields (validated again when parsed)."""
    f = {**FORM_DEFAULTS, **{k: v for k, v in fields.items() if v not in (None, "")}}

    def num(key: str) -> float:
        try:
            return float(f[key])
        except (TypeError, ValueError) as e:
            raise InputError(Problem(field=key, rule="must be a number", value=f[key])) from e

    start = base().base_year + 1
    lines = ["[scenario]", f"name = {json.dumps(str(f['name'])[:100])}",
             'description = "built with the scenario form"', f"start_year = {start}",
             f"horizon = {int(num('horizon'))}", f"iea_scenario = {json.dumps(f['iea_scenario'])}", "",
             "[market_power]", f"conduct = {json.dumps(f['conduct'])}"]
    if f["two_groups"] in (True, "1", "on", "true"):
        lines.append('merge = { CREG = ["XTC", "GDRE"] }')
    lines += ["", "[parameters]", f"china_quota_growth = {num('china_quota_growth') / 100.0}"]
    if f["export_elements"] != "none":
        dest = '["united_states"]' if f["export_to"] == "united_states" else '["united_states", "rest_of_world"]'
        lines += ["", "[[export_control]]", 'name = "export cut (form)"',
                  f"elements = {json.dumps(f['export_elements'])}", 'from = "china"', f"to = {dest}",
                  f"cut = {num('export_cut') / 100.0}", f"from_year = {int(num('export_from_year'))}"]
    if num("env_ionic_cost") > 0 or num("env_capacity_cut") > 0:
        lines += ["", "[[environment]]", 'name = "ionic clays (form)"', 'country = "China"', 'ore_type = "ionic"',
                  f"cost_usd_per_kg = {num('env_ionic_cost')}", f"capacity_cut = {num('env_capacity_cut') / 100.0}",
                  f"from_year = {start + 2}"]
    if num("new_mine_t") > 0:
        lines += ["", "[[new_mine]]", 'code = "FORM-MINE"', 'name = "New mine outside China (illustrative)"',
                  'country = "Australia"', 'ore_type = "ionic"', 'profile = "ionic_heavy"',
                  f"capacity_t = {num('new_mine_t')}", f"start_year = {int(num('new_mine_start'))}",
                  "ramp_years = 3", "unit_cost_usd_per_kg = 18.0", 'routes = ["rest_of_world"]']
    if num("stockpile_t") > 0:
        lines += ["", "[[stockpile]]", 'name = "US strategic stockpile (form)"', 'market = "united_states"',
                  'elements = ["Dy", "Tb"]', f"target_t = {num('stockpile_t')}", f"from_year = {start + 1}"]
    return "\n".join(lines) + "\n"


# --- stored runs ---------------------------------------------------------------------------------------------------

def store_run(*, session: Session, scenario: scenarios.Scenario, text: str, result: RunResult,
              username: str) -> MarketRun:
    """Keep a solved run with its prices and indicators (bulk inserts, one transaction with the caller)."""
    run = MarketRun(scenario=scenario.name, description=scenario.description, scenario_toml=text, runs=1,
                    method=result.method, solve_seconds=result.seconds, created_by=username)
    session.add(run)
    session.flush()
    m = result.markets.assign(run_id=run.id, draw=result.run)
    m["price_usd_per_kg"] = m.price_usd_per_kg.astype(object).where(m.price_usd_per_kg.notna(), None)
    insert_rows(session, MarketPrice.__table__, m[["run_id", "draw", "year", "element", "market",
                                                   "price_usd_per_kg", "demand_t", "substituted_t", "from_china_t",
                                                   "from_outside_t", "stock_t"]].to_dict("records"))
    s = result.summary.assign(run_id=run.id, draw=result.run)
    insert_rows(session, MarketMetric.__table__, s[["run_id", "draw", "year", "metric", "value"]].to_dict("records"))
    return run


def run_and_store(*, session: Session, text: str, username: str, source: str = "scenario") -> MarketRun:
    """Parse, solve and store a scenario given as TOML text."""
    scn = parse_scenario(text=text, source=source)
    return store_run(session=session, scenario=scn, text=text, result=run_scenario(scenario=scn), username=username)


def list_runs(*, session: Session, limit: int = 100) -> list[MarketRun]:
    """Stored runs, newest first."""
    return list(session.scalars(select(MarketRun).order_by(MarketRun.id.desc()).limit(limit)))


def get_run(*, session: Session, run_id: int) -> MarketRun:
    """One stored run."""
    run = session.get(MarketRun, run_id)
    if run is None:
        raise NotFound("market run", run_id, field="run_id")
    return run


def run_tables(*, session: Session, run_id: int) -> dict[str, pd.DataFrame]:
    """A stored run's prices and indicators as frames (read set-wise)."""
    get_run(session=session, run_id=run_id)
    conn = session.connection()
    markets = pd.read_sql(select(MarketPrice).where(MarketPrice.run_id == run_id).order_by(MarketPrice.id), conn)
    summary = pd.read_sql(select(MarketMetric).where(MarketMetric.run_id == run_id).order_by(MarketMetric.id), conn)
    markets["price_usd_per_kg"] = markets.price_usd_per_kg.astype(float)
    return {"markets": markets.drop(columns=["id", "run_id", "draw"]),
            "summary": summary.drop(columns=["id", "run_id", "draw"])}


def delete_run(*, session: Session, run_id: int) -> None:
    """Remove a stored run and its results."""
    get_run(session=session, run_id=run_id)
    session.execute(delete(MarketPrice).where(MarketPrice.run_id == run_id))
    session.execute(delete(MarketMetric).where(MarketMetric.run_id == run_id))
    session.execute(delete(MarketRun).where(MarketRun.id == run_id))


def price_gap(*, markets: pd.DataFrame) -> pd.DataFrame:
    """Per year and element: outside-China price minus China's domestic price (the export-control wedge)."""
    wide = markets.pivot_table(index=["year", "element"], columns="market", values="price_usd_per_kg")
    gap = (wide.get("rest_of_world", np.nan) - wide.get("china", np.nan)).rename("gap_usd_per_kg")
    return gap.reset_index()
