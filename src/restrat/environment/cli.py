"""`restrat environment ...`: emission standards, outlets, monitoring ingestion, HJ 212, evaluation and wastes."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from restrat.cli_support import emit, emit_one, err, out, progress, session
from restrat.errors import InputError, Problem

app = typer.Typer(help="Environmental supervision: GB 26451-2011 limits as dated data, monitoring ingestion "
                       "(files, API, HJ 212-2017 data loggers), exceedance episodes, compliance, escalation, "
                       "scores, wastes and radioactive residues.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
USER = typer.Option("cli", "--user", help="Name recorded with the submission.")


def _date(value: str | None, field: str, default: dt.date | None = None) -> dt.date:
    if not value:
        if default is None:
            raise InputError(Problem(field=field, rule="is required (YYYY-MM-DD)"))
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(Problem(field=field, rule="must be a date YYYY-MM-DD", value=value)) from None


def _span(year: int | None, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    if year is not None:
        return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    return _date(start, "from"), _date(end, "to")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    df = df.copy()
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = df[c].round(4)
    return df.astype(object).where(df.notna(), None).to_dict("records")


@app.command("pollutants")
def pollutants(as_json: bool = JSON) -> None:
    """Pollutants restrat knows, with medium, canonical unit, aliases and HJ 212 code (recalled, unverified)."""
    from restrat.environment import standards

    emit(_records(standards.pollutants()), as_json=as_json, title="Pollutants")


@app.command("checks")
def checks(as_json: bool = JSON) -> None:
    """The documented checks every submission passes before it becomes the official record."""
    from restrat.environment.service import CHECKS

    emit([{"check": k, "rule": v} for k, v in CHECKS.items()], as_json=as_json, title="Submission checks")


@app.command("standards")
def standards_cmd(on: str = typer.Option(None, "--on", help="Only limits in force on this date (YYYY-MM-DD)."),
                  pollutant: str = typer.Option(None, "--pollutant", help="Pollutant code."),
                  medium: str = typer.Option(None, "--medium", help="water or air."),
                  superseded: bool = typer.Option(False, "--superseded", help="Also rows replaced by an official "
                                                                              "table."),
                  as_json: bool = JSON) -> None:
    """The standards library: every limit with its dates, facility class, discharge type and status
    (status 'recalled' = UNVERIFIED)."""
    from restrat.environment import service

    day = _date(on, "on") if on else None
    with session() as s:
        df = service.limits_table(session=s, on=day, pollutant=pollutant, medium=medium,
                                  include_superseded=superseded)
    cols = ["id", "standard", "region", "medium", "pollutant", "facility_class", "discharge", "limit_low",
            "limit_high", "unit", "valid_from", "valid_to", "status"]
    rows = _records(df)
    if not as_json:
        for r in rows:
            r["status"] = "UNVERIFIED (recalled)" if r["status"] == "recalled" else r["status"]
    emit(rows, as_json=as_json, title="Emission limits" + (f" in force on {day}" if day else ""), columns=cols)


@app.command("load-standards")
def load_standards(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                               help="Limit table (.csv/.parquet/.jsonl): pollutant, medium, "
                                                    "facility_class, discharge, limit_value, limit_unit, valid_from, "
                                                    "valid_to, source, note."),
                   standard: str = typer.Option(..., "--standard", help="e.g. 'GB 26451-2011' or a local code."),
                   status: str = typer.Option("official", "--status",
                                              help="official (replaces recalled rows of the same standard), local, "
                                                   "seen or illustrative."),
                   region: str = typer.Option("", "--region", help="For a local standard: the region it covers."),
                   user: str = USER, as_json: bool = JSON) -> None:
    """Load limits in one transaction; 'official' rows supersede the recalled, unverified ones."""
    from restrat.environment import service, standards

    rows = standards.normalise_limits(service.read_table_file(path), standard=standard, status=status,
                                      region=region or None, scope="local" if region else None)
    with session() as s:
        emit_one(service.load_limits(session=s, rows=rows, username=user), as_json=as_json)


@app.command("load-reference")
def load_reference(user: str = USER, as_json: bool = JSON) -> None:
    """Load the shipped GB 26451-2011 tables (sourced, Henan DB41/777-2013, recalled); re-running adds nothing."""
    from restrat.environment import service

    with session() as s:
        emit_one(service.load_reference_standards(session=s, username=user), as_json=as_json)


@app.command("limit")
def limit(facility: str = typer.Argument(..., help="Facility code."),
          on: str = typer.Option(None, "--on", help="Date (default today)."),
          pollutant: str = typer.Option(None, "--pollutant"), outlet: str = typer.Option(None, "--outlet"),
          as_json: bool = JSON) -> None:
    """The limit that applies to each outlet and pollutant of a facility on a date (strictest binding row)."""
    from restrat.environment import service

    with session() as s:
        df = service.applicable_limits(session=s, facility=facility, on=_date(on, "on", dt.date.today()),
                                       pollutant=pollutant, outlet=outlet)
    emit(_records(df), as_json=as_json, title=f"Limits in force at {facility}",
         columns=["outlet", "pollutant", "limit_low", "limit_high", "unit", "standard", "status", "valid_from",
                  "valid_to"])


@app.command("outlets")
def outlets(facility: str = typer.Option(None, "--facility"), as_json: bool = JSON) -> None:
    """Registered discharge outlets."""
    from restrat.environment import service

    with session() as s:
        df = service.outlets(session=s, facility=facility)
    emit(_records(df.drop(columns=["enterprise_id", "lat", "lon"])), as_json=as_json, title="Outlets",
         columns=["facility", "outlet", "medium", "discharge", "facility_class", "special_area", "mn", "data_status"])


@app.command("add-outlet")
def add_outlet(facility: str = typer.Option(..., "--facility"), code: str = typer.Option(..., "--code"),
               medium: str = typer.Option(..., "--medium", help="water or air."),
               discharge: str = typer.Option(..., "--discharge", help="direct, indirect, workshop_outlet or stack."),
               facility_class: str = typer.Option(None, "--class", help="existing or new (default: from the "
                                                                         "facility's start date)."),
               special_area: bool = typer.Option(False, "--special-area", help="Sensitive area: special limits."),
               mn: str = typer.Option(None, "--mn", help="HJ 212 data logger id (MN)."),
               process: str = typer.Option("unspecified", "--process", help="Production process, where a standard "
                                                                            "sets limits by process."),
               as_json: bool = JSON) -> None:
    """Register a discharge outlet of a facility."""
    from restrat.environment import service

    with session() as s:
        o = service.add_outlet(session=s, facility=facility, code=code, medium=medium, discharge=discharge,
                               facility_class=facility_class, special_area=special_area, mn=mn, process=process)
        emit_one({"id": o.id, "facility": facility, "code": o.code, "medium": o.medium, "discharge": o.discharge,
                  "facility_class": o.facility_class, "special_area": o.special_area, "mn": o.mn}, as_json=as_json)


@app.command("ingest")
def ingest(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                       help="Values (.csv/.parquet/.jsonl): facility, outlet, pollutant, time, "
                                            "value, unit [, period, method, flag, medium]."),
           workspace_only: bool = typer.Option(False, "--workspace-only", help="Check into the workspace; promote "
                                                                               "later with `promote`."),
           user: str = USER, as_json: bool = JSON) -> None:
    """Submit monitoring values in one transaction: every check passes or nothing is written; values already in
    the official record unchanged are skipped (re-import changes nothing)."""
    from restrat.environment import service

    with progress() as bar:
        task = bar.add_task(f"checking {path.name}", total=1)
        with session() as s:
            result = service.ingest_file(session=s, path=path, username=user, promote_now=not workspace_only)
        bar.update(task, completed=1, description="committed")
    emit_one({k: v for k, v in result.items() if k != "checks"}, as_json=as_json)


@app.command("promote")
def promote(submission: int = typer.Argument(..., help="Submission id."), as_json: bool = JSON) -> None:
    """Promote a checked submission from the workspace to the official record."""
    from restrat.environment import service

    with session() as s:
        result = service.promote(session=s, submission_id=submission)
    emit_one({k: v for k, v in result.items() if k != "checks"}, as_json=as_json)


@app.command("submissions")
def submissions(limit: int = typer.Option(50, "--limit"), as_json: bool = JSON) -> None:
    """The newest submissions: workspace or promoted, new and duplicate rows."""
    from restrat.environment import service

    with session() as s:
        rows = service.submissions(session=s, limit=limit)
    emit([{k: v for k, v in r.items() if k != "checks"} for r in rows], as_json=as_json, title="Submissions")


@app.command("substitute")
def substitute(start: str = typer.Option(..., "--from", help="First day."),
               end: str = typer.Option(..., "--to", help="Day after the last."),
               facility: str = typer.Option(None, "--facility"), as_json: bool = JSON) -> None:
    """Fill the gaps of hourly and daily series with the dated substitution rules (each value names its rule)."""
    from restrat.environment import service

    with session() as s:
        result = service.substitute_missing(session=s, start=_date(start, "from"), end=_date(end, "to"),
                                            facility=facility)
    emit_one(result, as_json=as_json)


def _evaluated(kind: str, year: int | None, start: str | None, end: str | None, facility: str | None
               ) -> pd.DataFrame:
    from restrat.environment import service

    a, b = _span(year, start, end)
    with session() as s:
        fn = service.compliance if kind == "compliance" else service.episodes
        return fn(session=s, start=a, end=b, facility=facility)


@app.command("compliance")
def compliance(year: int = typer.Option(None, "--year"), start: str = typer.Option(None, "--from"),
               end: str = typer.Option(None, "--to"), facility: str = typer.Option(None, "--facility"),
               as_json: bool = JSON) -> None:
    """Compliance rate per facility, outlet and pollutant (values, or the averages the standard prescribes)."""
    df = _evaluated("compliance", year, start, end, facility)
    emit(_records(df.drop(columns=["facility_id"])), as_json=as_json, title="Compliance",
         columns=["facility", "outlet", "pollutant", "period", "evaluated", "exceeded", "compliance_rate", "episodes"])


@app.command("episodes")
def episodes_cmd(year: int = typer.Option(None, "--year"), start: str = typer.Option(None, "--from"),
                 end: str = typer.Option(None, "--to"), facility: str = typer.Option(None, "--facility"),
                 as_json: bool = JSON) -> None:
    """Exceedance episodes: consecutive exceedances merged, with start, end and peak ratio to the limit."""
    df = _evaluated("episodes", year, start, end, facility)
    emit(_records(df.drop(columns=["facility_id"])), as_json=as_json, title="Exceedance episodes",
         columns=["facility", "outlet", "pollutant", "start", "end", "values", "peak_ratio", "peak_value",
                  "limit_high"])


@app.command("escalations")
def escalations(year: int = typer.Option(..., "--year"), as_json: bool = JSON) -> None:
    """The highest escalation level (warning, fine, suspension) each facility reached in a year."""
    from restrat.environment import service

    with session() as s:
        df = service.escalation_levels(session=s, year=year)
    emit(_records(df), as_json=as_json, title=f"Escalation {year} (thresholds: ILLUSTRATIVE rules file)")


@app.command("scores")
def scores(year: int = typer.Option(..., "--year"), as_json: bool = JSON) -> None:
    """Environmental score per facility (0..100): 100 x compliance rate - escalation penalty."""
    from restrat.environment import service
    from restrat.registry.models import Facility

    with session() as s:
        df = service.environment_scores(session=s, year=year)
        codes = {f.id: f.code for f in s.query(Facility).filter(Facility.id.in_(df.facility_id.tolist()))}
    df.insert(1, "facility", df.facility_id.map(codes))
    emit(_records(df), as_json=as_json, title=f"Environmental scores {year}")


@app.command("wastes")
def wastes_cmd(year: int = typer.Option(..., "--year"), as_json: bool = JSON) -> None:
    """Solid wastes and residues (from the ledger), radioactive residue inventory, scrap recycling, and waste
    water and gas streams with pollutant loads (from monitoring)."""
    from restrat.environment import wastes

    with session() as s:
        result = {"solid": _records(wastes.solid_wastes(session=s, year=year)),
                  "residue_inventory": _records(wastes.residue_inventory(session=s, on=dt.date(year, 12, 31))),
                  "recycling": wastes.recycling(session=s, year=year),
                  "streams": _records(wastes.streams(session=s, year=year))}
    if as_json:
        emit_one(result, as_json=True)
        return
    emit(result["solid"], as_json=False, title=f"Solid wastes and residues {year} (kg)",
         columns=["facility", "stage", "form", "generated_kg", "disposed_kg", "data_status"])
    emit(result["residue_inventory"], as_json=False, title=f"Th/U-bearing residue inventory at {year}-12-31 (kg)",
         columns=["facility", "received_or_made_kg", "moved_on_kg", "disposed_in_storage_kg", "inventory_kg"])
    emit_one(result["recycling"], as_json=False)
    emit(result["streams"], as_json=False, title=f"Waste water and gas {year}",
         columns=["facility", "medium", "pollutant", "load_kg", "volume_m3"])


@app.command("hj212")
def hj212_decode(message: str = typer.Argument(..., help="One HJ 212 message (##...CRC), or a file holding "
                                                         "messages one per line."),
                 as_json: bool = JSON) -> None:
    """Check and decode HJ 212-2017 messages: header, length, CRC16, fields and readings."""
    from restrat.environment import hj212

    path = Path(message)
    lines = path.read_text().splitlines() if path.is_file() else [message.replace("\\r\\n", "")]
    rows = []
    for line in (x for x in lines if x.strip()):
        msg = hj212.parse(line.strip() + "\r\n")
        rows.append({"qn": msg.qn, "st": msg.st, "cn": msg.cn, "mn": msg.mn, "flag": msg.flag,
                     "wants_ack": msg.wants_ack, "readings": hj212.readings(msg), "cp_fields": msg.cp_fields})
    emit(rows, as_json=as_json, title="HJ 212 messages", columns=["qn", "st", "cn", "mn", "flag", "readings"])


@app.command("register-logger")
def register_logger(mn: str = typer.Option(..., "--mn", help="The data logger id (MN) registered on an outlet."),
                    password: str = typer.Option(..., "--password", prompt=True, hide_input=True,
                                                 help="The logger's access password (PW), 6..9 characters; asked "
                                                      "for when not given. Only its hash is stored."),
                    note: str = typer.Option("", "--note"), user: str = USER, as_json: bool = JSON) -> None:
    """Register (or replace) the HJ 212 access password of a data logger; the listener refuses every message
    of an MN without one (QnRtn 4) and every message with another password (QnRtn 3)."""
    from restrat.environment import service

    with session() as s:
        emit_one(service.register_logger(session=s, mn=mn, password=password, username=user, note=note),
                 as_json=as_json)


@app.command("loggers")
def loggers(as_json: bool = JSON) -> None:
    """Data loggers with a registered access password, and their outlets (the hash is never shown)."""
    from restrat.environment import service

    with session() as s:
        emit(_records(service.loggers(session=s)), as_json=as_json, title="HJ 212 data loggers")


@app.command("logger-events")
def logger_events(mn: str = typer.Option(None, "--mn"), outcome: str = typer.Option(
                      None, "--outcome", help="refused_pw, unknown_mn, malformed, refused, error, status, "
                                              "notification, answer or closed."),
                  limit: int = typer.Option(50, "--limit"), as_json: bool = JSON) -> None:
    """What the HJ 212 listener kept: refused passwords and MNs, malformed or refused messages, status uploads,
    notifications and answers, newest first."""
    from restrat.environment import service

    with session() as s:
        df = service.logger_events(session=s, mn=mn, outcome=outcome, limit=limit)
        df["at"] = pd.to_datetime(df["at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
        emit(_records(df), as_json=as_json, title="HJ 212 listener events",
             columns=["at", "peer", "outcome", "mn", "qn", "cn", "detail"])


@app.command("listen")
def listen(host: str = typer.Option("0.0.0.0", "--host"), port: int = typer.Option(9212, "--port"),
           user: str = typer.Option("hj212", "--user", help="Name recorded with each submission."),
           max_auth_failures: int = typer.Option(3, "--max-auth-failures", help="Close a connection after this "
                                                                                "many refused passwords or MNs."),
           idle_timeout: float = typer.Option(None, "--idle-timeout", help="Close a connection after this many "
                                                                          "seconds without data (default: never).")
           ) -> None:
    """Accept HJ 212-2017 data loggers over TCP. Connections stay open across messages; the stream is framed
    (messages split over or joined in TCP segments); each logger's access password is checked against its
    registered hash (`register-logger`); uploads 2011/2051/2061/2031 are checked and stored (one transaction per
    message) and answered with CN=9014 when their Flag asks; refusals are answered with CN=9011 and its QnRtn
    and kept (`logger-events`). Stop with Ctrl-C."""
    from restrat.environment import hj212, service
    from restrat.store.db import get_engine

    stats = hj212.ListenerStats()

    async def run() -> None:
        server = await hj212.serve(service.hj212_platform(engine=get_engine(), username=user), host=host, port=port,
                                   stats=stats, max_auth_failures=max_auth_failures, idle_timeout=idle_timeout)
        bound = server.sockets[0].getsockname()
        out.print(f"listening for HJ 212 data loggers on {bound[0]}:{bound[1]}")
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        err.print(f"stopped: {stats.received} messages, {stats.stored} uploads stored, {stats.acknowledged} "
                  f"acknowledged, {stats.refused} refused, {stats.rejected} malformed, {stats.errors} errors")
