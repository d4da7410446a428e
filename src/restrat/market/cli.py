"""Market CLI: `restrat market run|sweep|calibrate|scenarios|assumptions|runs|show` and `restrat simulate`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from restrat.cli_support import emit, emit_one, out, progress, row_dicts, session

app = typer.Typer(help="Strategy simulator: the global rare earth market model, scenarios and sweeps.",
                  no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
SCENARIO = typer.Argument(..., help="Scenario TOML file, or the name of a shipped example (see 'market scenarios').")


def _bar_callback(bar, task):  # type: ignore[no-untyped-def]
    def tick(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return tick


def _sweep_workers(workers: int | None) -> int:
    return workers if workers else max(1, os.cpu_count() or 1)


def simulate(scenario: str = SCENARIO,
             out_dir: Path = typer.Option(..., "--out", help="Directory for the Parquet tables and report.html."),
             runs: int = typer.Option(1, "--runs", min=1, help="Monte Carlo draws of the [uncertain] parameters "
                                                                "(per [grid] point)."),
             scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786; "
                                                                      "default: a local process pool."),
             workers: int = typer.Option(None, "--workers", help="Local processes for sweeps (default: all cores)."),
             as_json: bool = JSON) -> None:
    """Run a scenario against the baseline; write markets/supply/summary/runs.parquet and report.html."""
    from restrat.market import service

    scn = service.load_scenario(path=scenario)
    with progress() as bar:
        task = bar.add_task(f"simulate {scn.name}", total=None)
        result = service.simulate(scenario=scn, out=out_dir, runs=runs, workers=_sweep_workers(workers),
                                  scheduler=scheduler, progress=_bar_callback(bar, task))
    if as_json:
        emit_one(result, as_json=True)
        return
    emit([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k != "metric"}
          for h in result["headline"]], as_json=False, title=f"{scn.name}: averages over the horizon")
    out.print(f"{result['runs']} run(s) in {result['seconds']} s; report: {result['files']['report']}")


@app.command("run")
def run(scenario: str = SCENARIO, save: bool = typer.Option(False, "--save", help="Store the run in the database."),
        user: str = typer.Option("cli", "--user", help="Name recorded with a stored run."),
        year: int = typer.Option(None, "--year", help="Show prices of this year (default: the last)."),
        as_json: bool = JSON) -> None:
    """Solve one scenario; print its element prices in China and outside, and the headline indicators."""
    from restrat.market import service

    scn = service.load_scenario(path=scenario)
    result = service.run_scenario(scenario=scn)
    if save:
        path = Path(scenario)
        text = path.read_text(encoding="utf-8") if path.is_file() else service.library_text(name=scenario)
        with session() as s:
            stored = service.store_run(session=s, scenario=scn, text=text, result=result, username=user)
            stored_id = stored.id
        if not as_json:
            out.print(f"stored as run {stored_id}")
    y = year or int(result.markets.year.max())
    prices = result.markets[result.markets.year == y].pivot_table(index="element", columns="market",
                                                                   values="price_usd_per_kg").round(3)
    rows = [{"element": e, **{m: (None if v != v else v) for m, v in r.items()}} for e, r in prices.iterrows()]
    if as_json:
        emit_one({"scenario": scn.name, "method": result.method, "seconds": round(result.seconds, 3), "year": y,
                  "prices_usd_per_kg": rows, "headline": service.headline(summary=result.summary, baseline=None)},
                 as_json=True)
        return
    emit(rows, as_json=False, title=f"{scn.name}: oxide prices {y} (USD/kg)")
    emit([{"indicator": h["label"], "average": round(h["scenario"], 4)}
          for h in service.headline(summary=result.summary, baseline=None)], as_json=False, title="Indicators")
    out.print(f"solved {result.method} in {result.seconds:.3f} s")


@app.command("sweep")
def sweep_cmd(scenario: str = SCENARIO, runs: int = typer.Option(100, "--runs", min=1),
              out_dir: Path = typer.Option(..., "--out", help="Directory for the tables and report."),
              scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
              workers: int = typer.Option(None, "--workers", help="Local processes (default: all cores)."),
              as_json: bool = JSON) -> None:
    """Monte Carlo / grid sweep with a progress bar; fan charts in the report."""
    simulate(scenario=scenario, out_dir=out_dir, runs=runs, scheduler=scheduler, workers=workers, as_json=as_json)


@app.command("calibrate")
def calibrate_cmd(as_json: bool = JSON) -> None:
    """Solve the base year and report how well it reproduces USGS volumes and prices (the fit report)."""
    from restrat.market import service

    fit = service.fit_report()
    if as_json:
        emit_one({k: (v.to_dict("records") if hasattr(v, "to_dict") else v) for k, v in fit.items()}, as_json=True)
        return
    vol = fit["volumes"].assign(gap=lambda f: (f.gap * 100).round(3), observed_t=lambda f: f.observed_t.round(0),
                                model_t=lambda f: f.model_t.round(0))
    emit(vol.rename(columns={"gap": "gap_%"}).to_dict("records"), as_json=False,
         title=f"Base year {fit['base_year']}: mine output by country (tolerance ±{fit['tolerances']['volume']:.0%})")
    pr = fit["prices"].assign(gap=lambda f: (f.gap * 100).round(3),
                              model_usd_per_kg=lambda f: f.model_usd_per_kg.round(3))
    emit(pr[["element", "observed_usd_per_kg", "model_usd_per_kg", "gap", "status", "within_tolerance"]].rename(
        columns={"gap": "gap_%"}).to_dict("records"), as_json=False,
         title=f"Oxide prices (tolerance ±{fit['tolerances']['price']:.0%})")
    emit(fit["daily_check"].round(4).to_dict("records"), as_json=False,
         title="Base-year mean of the daily KOMIS series against the model's USGS price")
    emit(fit["shares"].round(4).to_dict("records"), as_json=False, title="Shares against references")
    emit(fit["demand_scaling"].round(3).to_dict("records"), as_json=False,
         title="Demand scaling per element (supply implied by USGS x profiles / demand implied by assumed intensities)")
    out.print("calibration " + ("within the stated tolerances" if fit["passed"] else "OUTSIDE the tolerances"))


@app.command("scenarios")
def scenarios_cmd(as_json: bool = JSON) -> None:
    """List the example scenarios shipped with restrat."""
    from restrat.market import service

    emit(service.library(), as_json=as_json, title="Example scenarios")


@app.command("assumptions")
def assumptions_cmd(as_json: bool = JSON) -> None:
    """List every assumption of the model with its status and reason."""
    from restrat.market import service

    emit(service.assumptions().to_dict("records"), as_json=as_json, title="Market model assumptions",
         columns=["section", "item", "status", "reason"])


@app.command("runs")
def runs_cmd(as_json: bool = JSON) -> None:
    """List stored runs."""
    from restrat.market import service

    with session() as s:
        rows = row_dicts(service.list_runs(session=s), ["id", "scenario", "method", "solve_seconds", "created_by",
                                                        "created_at"])
    emit(rows, as_json=as_json, title="Stored market runs")
