"""`restrat ledger ...` and `restrat synth ledger`: the ledger from the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from restrat.cli_support import emit, emit_one, err, out, progress, session
from restrat.errors import InputError, Problem

app = typer.Typer(help="Traceability ledger: import events, trace batches, balances, anomalies, verify.",
                  no_args_is_help=True)
synth_app = typer.Typer(help="Synthetic data with known ground truth.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(Problem(field=field, rule="must be a date YYYY-MM-DD", value=value)) from None


@app.command("import")
def import_(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                        help="Events as .jsonl, .parquet or .csv (see `restrat ledger schema`)."),
            user: str = typer.Option("cli", "--user", help="Name recorded in the audit log."),
            as_json: bool = JSON) -> None:
    """Import events in one transaction: all are validated first; any bad event writes nothing.
    Re-importing the same events changes nothing."""
    from restrat.ledger import service

    with progress() as bar:
        task = bar.add_task("import", total=3)

        def step(msg: str) -> None:
            bar.update(task, description=msg)
            bar.advance(task)

        with session() as s:
            result = service.import_file(session=s, path=path, username=user, progress=step)
        bar.update(task, completed=3, description="committed")
    record = dict(result.__dict__)
    record["events_per_s"] = round(result.events_new / result.seconds) if result.seconds else None
    emit_one(record, as_json=as_json)


@app.command("trace")
def trace(batch: str = typer.Argument(..., help="Batch code."),
          up: bool = typer.Option(False, "--up", help="Back to the mines (default)."),
          down: bool = typer.Option(False, "--down", help="Forward to exports, products, disposals, stocks."),
          both: bool = typer.Option(False, "--both", help="Both directions."),
          as_json: bool = JSON) -> None:
    """Show where a batch came from (per mine, country and ore type, per element) and where it went."""
    from restrat.ledger import service

    direction = "both" if both or (up and down) else ("down" if down else "up")
    with session() as s:
        result = service.trace(session=s, batch=batch, direction=direction)
    if as_json:
        emit_one(result, as_json=True)
        return
    out.print(f"[bold]{batch}[/bold]: {len(result['nodes'])} batches, {len(result['edges'])} links"
              + (" (truncated)" if result["truncated"] else ""))
    if "origin" in result:
        for key in ("mine", "country", "ore_type"):
            emit([{key: r[key], "reo_kg": round(r["reo_kg"], 3), "share": f"{r['share']:.1%}",
                   "by element": ", ".join(f"{k} {v:.0%}" for k, v in list(r["share_by_element"].items())[:6])}
                  for r in result["origin"][f"by_{key}"]], as_json=False, title=f"Origin by {key}")
    if "destinations" in result:
        emit([{"destination": d["destination"], "reo_kg": round(d["reo_kg"], 3)} for d in result["destinations"]],
             as_json=False, title="Destinations")
    emit([{"from": e["from_batch"], "to": e["to_batch"], "kg": round(e["kg"], 3), "reo_kg": round(e["reo_kg"], 3)}
          for e in result["edges"][:40]], as_json=False, title="Links (first 40)")


@app.command("balance")
def balance(facility: str = typer.Argument(..., help="Facility code."),
            start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
            end: str = typer.Option(..., "--to", help="Day after the last, YYYY-MM-DD."),
            as_json: bool = JSON) -> None:
    """Opening stock + inputs - outputs - losses = closing stock, per element, and declared stock counts."""
    from restrat.ledger import service

    with session() as s:
        result = service.balance(session=s, facility=facility, start=_date(start, "from"), end=_date(end, "to"))
    if as_json:
        emit_one(result, as_json=True)
        return
    out.print(f"{result['facility']} {result['name']} ({result['stage']}), {result['start']} to {result['end']}")
    out.print(f"[dim]{result['identity']}[/dim]")
    emit([{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in result["elements"]],
         as_json=False, title="Balance per element (kg REO)")
    if result["stock_counts"]:
        emit(result["stock_counts"], as_json=False, title="Stock counts against the book")


@app.command("flows")
def flows(year: int = typer.Option(None, "--year", help="One calendar year (default all)."),
          as_json: bool = JSON) -> None:
    """National REO flows between chain stages, in tonnes (the Sankey on the web)."""
    from restrat.ledger import service

    with session() as s:
        df = service.flows(session=s, year=year)
    emit(df.round(3).to_dict("records"), as_json=as_json, title="National flows (t REO)")


@app.command("verify")
def verify(as_json: bool = JSON) -> None:
    """Recompute the hash chain; report the first altered, missing or reordered event (exit 1 if any)."""
    from restrat.ledger import service

    with session() as s:
        result = service.verify(session=s)
    emit_one(result.as_dict(), as_json=as_json)
    if not result.ok:
        raise typer.Exit(1)


@app.command("head")
def head(as_json: bool = JSON) -> None:
    """Print the last event id and chain hash, to publish outside the database."""
    from restrat.ledger import service

    with session() as s:
        emit_one(service.head(session=s), as_json=as_json)


@app.command("events")
def events(facility: str = typer.Option(None, "--facility"), kind: str = typer.Option(None, "--kind"),
           limit: int = typer.Option(50, "--limit"), as_json: bool = JSON) -> None:
    """List the newest events."""
    from restrat.ledger import service

    with session() as s:
        rows = service.events(session=s, facility=facility, kind=kind, limit=limit)
    emit(rows, as_json=as_json, title="Ledger events",
         columns=["id", "uid", "kind", "facility", "partner_facility", "time", "declared_kg"])


@app.command("anomalies")
def anomalies(save: bool = typer.Option(False, "--save", help="Store the findings and forward alerts up and "
                                                                "down the chain."),
              truth: Path = typer.Option(None, "--truth", exists=True, help="truth.jsonl of a synthetic ledger: "
                                                                               "also print recall and precision."),
              user: str = typer.Option("cli", "--user"), as_json: bool = JSON) -> None:
    """Scan the whole ledger for illegal mining, laundering, smuggling and broken balances."""
    from restrat.ledger import anomalies as rules
    from restrat.ledger import service

    with session() as s:
        findings = service.scan(session=s)
        saved = service.record_findings(session=s, findings=findings, username=user) if save else None
    rows = findings.assign(event_uids=findings.event_uids.map(list)).to_dict("records")
    if as_json:
        payload = {"findings": rows}
        if saved:
            payload["saved"] = saved
        if truth:
            payload["score"] = rules.score(findings, [json.loads(line) for line in truth.open() if line.strip()])
        emit_one(payload, as_json=True)
        return
    counts = findings.groupby("kind").size().to_dict() if len(findings) else {}
    emit([{"kind": k, "findings": v} for k, v in counts.items()], as_json=False, title="Findings by kind")
    emit([{**r, "event_uids": ", ".join(r["event_uids"][:4]), "size": round(r["size"], 3)} for r in rows[:50]],
         as_json=False, title="Findings (first 50)", columns=["kind", "facility_code", "size", "unit", "event_uids",
                                                              "rule"])
    if saved:
        out.print(f"saved scan {saved['scan_id']}: {saved['findings']} findings, {saved['alerts']} alerts forwarded")
    if truth:
        score = rules.score(findings, [json.loads(line) for line in truth.open() if line.strip()])
        emit_one({k: v for k, v in score.items() if not isinstance(v, dict)}, as_json=False)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the interchange format (one event per JSON Lines line)."""
    from restrat.ledger.format import SCHEMA_PATH

    out.print_json(SCHEMA_PATH.read_text())


@synth_app.command("ledger")
def synth_ledger(events: int = typer.Option(100_000, "--events", help="How many events."),
                 seed: int = typer.Option(1, "--seed"),
                 anomaly_rate: float = typer.Option(0.01, "--anomaly-rate", help="Share of events made anomalous."),
                 out_dir: Path = typer.Option(..., "--out", help="Folder to write events, registry and truth to."),
                 file_format: str = typer.Option("parquet", "--format", help="parquet or jsonl."),
                 load: bool = typer.Option(False, "--load", help="Also register the synthetic facilities and "
                                                                  "quotas and import the events into the database.")
                 ) -> None:
    """Generate an ILLUSTRATIVE ledger with injected anomalies and their ground truth (truth.jsonl)."""
    from restrat.ledger import synth

    if file_format not in ("parquet", "jsonl"):
        raise InputError(Problem(field="format", rule="must be parquet or jsonl", value=file_format))
    with progress() as bar:
        task = bar.add_task("generating", total=3 if load else 2)
        ledger = synth.generate(events=events, seed=seed, anomaly_rate=anomaly_rate)
        bar.advance(task)
        bar.update(task, description="writing")
        paths = synth.write(ledger, out_dir, fmt=file_format)
        bar.advance(task)
        if load:
            from restrat.ledger import service

            bar.update(task, description="importing")
            with session() as s:
                synth.load_registry(session=s, ledger=ledger)
            events_file = next(p for p in (paths if isinstance(paths, list) else [])
                               if str(p).endswith(("events.parquet", "events.jsonl")))
            with session() as s:
                result = service.import_file(session=s, path=Path(events_file), username="synth")
            bar.advance(task)
            err.print(f"imported {result.events_new:,} events in {result.seconds:.1f} s")
    out.print(f"wrote {out_dir}")
