"""`restrat industry ...`: concentration, merger screening, access-condition checks and clusters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from restrat.cli_support import emit, emit_one, session

app = typer.Typer(help="Industry structure: concentration (HHI, CR-n), merger screening, access conditions, "
                       "clusters, value chain.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
DATE = ["%Y-%m-%d"]
MEASURE = typer.Option("capacity", "--measure", help="capacity (registry), production (ledger) or quota "
                                                      "(cn_quota_groups.csv).")
BY = typer.Option(["stage"], "--by", help="Cell dimension, repeatable: stage, ore_type, region, country, year.")
YEARS = typer.Option(None, "--year", help="Year to include, repeatable.")
ON = typer.Option(None, "--on", formats=DATE, help="Capacity snapshot date YYYY-MM-DD (default today).")


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@app.command("concentration")
def concentration(measure: str = MEASURE, by: list[str] = BY, years: list[int] = YEARS,
                  on: dt.datetime = ON, n: int = typer.Option(4, "--n", help="n of CR-n."),
                  as_json: bool = JSON) -> None:
    """HHI and CR-n per market cell, with the leading owner (group, or enterprise outside any group)."""
    from restrat.industry import service

    with session() as s:
        frame = service.concentration(session=s, measure=measure, by=by, on=_day(on), years=years or None, n=n)
    emit(service.records(frame.round(2)), as_json=as_json, title=f"Concentration of {measure}")


@app.command("merger")
def merger(owners: list[str] = typer.Option(..., "--owner", help="Merging owner code, repeatable."),
           into: str = typer.Option(..., "--into", help="Code of the merged owner (new or one of the owners)."),
           measure: str = MEASURE, by: list[str] = BY, years: list[int] = YEARS, on: dt.datetime = ON,
           n: int = typer.Option(4, "--n", help="n of CR-n."),
           guideline_on: dt.datetime = typer.Option(None, "--guideline-on", formats=DATE,
                                                    help="Screen with the guideline in force on this date."),
           cost_curve: Path = typer.Option(None, "--cost-curve", exists=True, dir_okay=False,
                                           help="Cost-curve CSV per stage (default: the shipped ILLUSTRATIVE "
                                                "industry/data/cost_curve.csv)."),
           as_json: bool = JSON) -> None:
    """Simulate a merger: HHI and CR-n before and after per cell, screened by the merger guideline in force, and
    the scale effect on the parties' unit cost from the cost-curve assumption (ILLUSTRATIVE)."""
    from restrat.industry import service

    with session() as s:
        frame = service.screen_merger(session=s, owners=owners, into=into, measure=measure, by=by, on=_day(on),
                                      years=years or None, n=n, guideline_on=_day(guideline_on),
                                      cost_curve_path=cost_curve)
    cols = [c for c in by] + ["hhi_pre", "hhi_post", "delta_hhi", "cr_n_post", "merged_share_pct",
                              "presumed_harmful", "unit_cost_change_pct", "annual_saving_usd"]
    emit(service.records(frame.round(2)), as_json=as_json, title=f"Merger of {', '.join(owners)} into {into} "
                                                                 "(unit cost: ILLUSTRATIVE cost curve)",
         columns=cols)


@app.command("integration")
def integration(years: list[int] = YEARS, as_json: bool = JSON) -> None:
    """Vertical integration per owner and year: share of its processing input supplied from inside the owner."""
    from restrat.industry import service

    with session() as s:
        frame = service.vertical_integration(session=s, years=years or None)
    emit(service.records(frame.round(2)), as_json=as_json, title="Vertical integration (ledger)")


@app.command("access")
def access(on: dt.datetime = typer.Option(None, "--on", formats=DATE, help="Date YYYY-MM-DD (default today)."),
           short: bool = typer.Option(False, "--short", help="Only facilities that fall short."),
           as_json: bool = JSON) -> None:
    """Check every facility in China against the access conditions in force on a date, with the reasons."""
    from restrat.industry import service

    with session() as s:
        frame = service.access_checks(session=s, on=_day(on), only_short=short)
    emit(service.records(frame.drop(columns=["facility_id"])), as_json=as_json, title="Access-condition checks",
         columns=["code", "stage", "ore_type", "capacity", "verdict", "reasons"])


@app.command("clusters")
def clusters(eps_km: float = typer.Option(60.0, "--eps-km", help="DBSCAN radius in km (great-circle)."),
             min_samples: int = typer.Option(3, "--min-samples", help="DBSCAN minimum facilities per core."),
             as_json: bool = JSON) -> None:
    """Spatial clusters of facilities with the chain stages present, completeness and the value added by their
    facilities in the ledger's latest year (see `value-chain --by cluster`)."""
    from restrat.industry import service

    with session() as s:
        _, summary = service.facility_clusters(session=s, eps_km=eps_km, min_samples=min_samples)
        summary = service.cluster_value_added(session=s, summary=summary, eps_km=eps_km, min_samples=min_samples)
    emit(service.cluster_records(summary.round(3)), as_json=as_json,
         title="Facility clusters (value added: ledger, latest year; ILLUSTRATIVE factors beyond oxides)",
         columns=["cluster", "facilities", "region", "country", "completeness", "stages_present", "stages_missing",
                  "value_year", "value_added_usd"])


@app.command("value-chain")
def value_chain(by: str = typer.Option("national", "--by", help="national, country, group or cluster."),
                years: list[int] = YEARS,
                prices: Path = typer.Option(None, "--prices", exists=True, dir_okay=False,
                                            help="Stage price table CSV (default: the shipped "
                                                 "industry/data/value_chain_prices.csv)."),
                eps_km: float = typer.Option(60.0, "--eps-km", help="Cluster radius in km (--by cluster)."),
                min_samples: int = typer.Option(3, "--min-samples", help="Cluster minimum facilities (--by cluster)."),
                as_json: bool = JSON) -> None:
    """Value chain from the ledger: value per tonne REO and value added per stage, the multiplier from ore to the
    most downstream stage, and the product-structure balance. Separated oxides are valued at USGS oxide prices;
    every other form's factor is an ILLUSTRATIVE assumption (see `--prices`)."""
    from restrat.industry import service

    with session() as s:
        result = service.value_chain(session=s, by=by, years=years or None, prices_path=prices, eps_km=eps_km,
                                     min_samples=min_samples)
    parts = {k: service.records(result[k].round(2)) for k in ("stages", "multipliers", "structure")}
    if as_json:
        parts["stage_prices"] = service.records(result["stage_prices"])
        emit_one({"by": by, **parts}, as_json=True)
        return
    key = service.VALUE_KEYS[by]
    emit(parts["stages"], as_json=False, title=f"Value chain ({by}), USD; forms other than separated oxide valued by "
                                               "ILLUSTRATIVE factors",
         columns=key + ["year", "stage", "output_t", "value_per_t_usd", "input_value_usd", "value_added_usd"])
    emit(parts["multipliers"], as_json=False, title="Multiplier from ore",
         columns=key + ["year", "to_stage", "multiplier", "note"])
    emit(parts["structure"], as_json=False, title="Product structure",
         columns=key + ["year", "structure", "reo_t", "share_reo_pct", "share_value_pct"])


report_app = typer.Typer(help="Reports as standalone HTML files (charts inlined, open offline).",
                         no_args_is_help=True)


@report_app.command("strategy")
def strategy_report(year: int = typer.Option(..., "--year", help="Report year."),
                    out: Path = typer.Option(..., "--out", dir_okay=False, help="HTML file to write."),
                    span: int = typer.Option(5, "--span", help="Years shown, ending with --year."),
                    as_json: bool = typer.Option(False, "--json", help="Also print the indicator table as JSON.")
                    ) -> None:
    """The strategy scorecard: indicators for each of the seven strategy aspects over the years up to --year, one
    page with a chart per indicator; an indicator without data says so."""
    from restrat.industry import report, scorecard, service
    from restrat.store.db import get_engine

    with session() as s:
        table = scorecard.scorecard(session=s, year=year, span=span)
    url = get_engine().url.render_as_string(hide_password=True)
    path = report.write_report(table, year=year, out=out, database=url)
    if as_json:
        emit(service.records(table), as_json=True)
        return
    now = table[table.year == year]
    emit(service.records(now.round(2)), as_json=False, title=f"Strategy scorecard {year}",
         columns=["aspect", "label", "value", "unit", "note"])
    out_console(f"wrote {path}")


def out_console(message: str) -> None:
    from restrat.cli_support import err

    err.print(message)
