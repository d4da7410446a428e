"""`restrat technology ...`: the innovation registry, pipeline and effect, cooperation network, indicators and
technology export control."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from restrat.cli_support import emit, emit_one, progress, session

app = typer.Typer(help="Technology innovation: R&D projects, patents, industrialisation and its economic effect, "
                       "cooperation network, scorecard indicators, technology export control.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
DATE = ["%Y-%m-%d"]


@app.command("import")
def import_file(path: Path = typer.Argument(..., exists=True, help="JSON or YAML bundle {section: [rows]}, or a "
                                            "directory of <section>.csv files"),
                user: str = typer.Option("cli", "--user", help="Recorded as the author of the records."),
                status: str = typer.Option("registered", "--status", help="data_status of rows without one "
                                           "(registered, illustrative)."),
                as_json: bool = JSON) -> None:
    """Record dated projects, partners, budgets, readiness, patents, industrialisation and facility levels in one
    transaction: any bad row writes nothing; records already present are skipped; none is ever overwritten."""
    from restrat.technology import service

    with progress() as bar:
        task = bar.add_task("checking and writing", total=2)
        bundle = service.read_bundle(path)
        bar.advance(task)
        with session() as s:
            counts = service.import_bundle(session=s, bundle=bundle, username=user, data_status=status,
                                           source=str(path.name), source_name=str(path))
        bar.advance(task)
    emit_one(counts, as_json=as_json)


@app.command("projects")
def projects(as_json: bool = JSON) -> None:
    """R&D projects with lead, partners, latest budget and readiness, and time to pilot and production."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        frame = service.projects_frame(session=s)
    emit(records(frame.drop(columns=["project_id", "source"])), as_json=as_json, title="R&D projects",
         columns=None if as_json else ["code", "field", "lead_enterprise", "start_date", "readiness", "pilot_on",
                                       "production_on", "days_to_pilot", "years_to_production", "data_status"])


@app.command("project")
def project(code: str = typer.Argument(..., help="Project code"), as_json: bool = JSON) -> None:
    """One project with its dated records and today's export-control status."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        detail = service.get_project(session=s, code=code)
    out = {k: (records(v) if hasattr(v, "to_dict") and not isinstance(v, dict) else v) for k, v in detail.items()}
    emit_one(out if as_json else {k: v for k, v in {**out["project"], "control": out["control"]}.items()},
             as_json=as_json)


@app.command("patents")
def patents(on: dt.datetime = typer.Option(None, "--on", formats=DATE, help="Status on this date (default today)."),
            as_json: bool = JSON) -> None:
    """Patents with holders, project and status on a date."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        frame = service.patents_frame(session=s, on=on.date() if on else None)
    emit(records(frame.drop(columns=["patent_id", "project_id", "source"])), as_json=as_json, title="Patents")


@app.command("benefit")
def benefit(as_json: bool = JSON) -> None:
    """Output (ledger) and value of contained REO (USGS oxide prices) of each technology in production, by year."""
    from restrat.industry.service import records
    from restrat.technology import pipeline, service

    with session() as s:
        frame = service.benefit(session=s)
    emit(records(frame.drop(columns=["project_id"]).round(3)), as_json=as_json,
         title=f"Economic effect (prices: {pipeline.PRICE_FILE})")


@app.command("levels")
def levels(as_json: bool = JSON) -> None:
    """Facility technology levels over time."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        frame = service.facility_levels(session=s)
    emit(records(frame.drop(columns=["facility_id"])), as_json=as_json, title="Facility technology levels")


@app.command("network")
def network(as_json: bool = JSON) -> None:
    """Cooperation network: who is central, communities, and fields without an enterprise partner."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        net = service.cooperation(session=s)
    if as_json:
        emit_one({"summary": net["summary"], "actors": records(net["actors"]), "edges": records(net["edges"]),
                  "fields": records(net["fields"])}, as_json=True)
        return
    emit_one(net["summary"], as_json=False)
    emit(records(net["actors"].round(3)), as_json=False, title="Actors, most central first")
    emit(records(net["fields"]), as_json=False, title="Fields")


@app.command("indicators")
def indicators(recent_years: int = typer.Option(5, "--recent-years", help="N of 'processes industrialised in the "
                                                "last N years'."),
               as_json: bool = JSON) -> None:
    """Aspect 2 indicators for the strategy scorecard (indicator, field, year, value, unit, source)."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        frame = service.indicators(session=s, recent_years=recent_years)
    emit(records(frame.round(3)), as_json=as_json, title="Technology indicators")


@app.command("control")
def control_status(on: dt.datetime = typer.Option(..., "--on", formats=DATE, help="Date YYYY-MM-DD."),
                   fields: list[str] = typer.Option(None, "--field", help="Technology field, repeatable (default "
                                                                         "all)."),
                   as_json: bool = JSON) -> None:
    """Export-control status of technology fields on a date (control list of the exports capability)."""
    from restrat.industry.service import records
    from restrat.technology import control, service

    with session() as s:
        frame = control.status_on(session=s, fields=fields or service.fields().code.tolist(), on=on.date())
    emit(records(frame), as_json=as_json, title=f"Technology export control on {on.date()}",
         columns=None if as_json else ["field", "status", "items", "suspended_items", "undated_items"])


@app.command("apply-export")
def apply_export(project: str = typer.Argument(..., help="Project code"),
                 recipient: str = typer.Option(..., "--recipient", help="Foreign recipient of the technology."),
                 country: str = typer.Option(..., "--country", help="Recipient's country."),
                 on: dt.datetime = typer.Option(..., "--on", formats=DATE, help="Application date YYYY-MM-DD."),
                 user: str = typer.Option("cli", "--user", help="Recorded as the applicant user."),
                 as_json: bool = JSON) -> None:
    """File a technology export application; the control list is checked at its date and the result kept."""
    from restrat.technology import service

    with session() as s:
        app_ = service.apply_for_export(session=s, project=project, recipient=recipient, recipient_country=country,
                                        applied_on=on.date(), username=user)
        out = {"code": app_.code, "project": project, "applied_on": app_.applied_on,
               "control_status": app_.control_status, "licence_required": app_.licence_required,
               "items": app_.items, "suspended_items": app_.suspended_items, "reasons": app_.reasons}
    emit_one(out, as_json=as_json)


@app.command("applications")
def applications(as_json: bool = JSON) -> None:
    """Technology export applications with the check made at each one's date."""
    from restrat.industry.service import records
    from restrat.technology import service

    with session() as s:
        frame = service.applications_frame(session=s)
    emit(records(frame.drop(columns=["project_id"])), as_json=as_json, title="Technology export applications",
         columns=None if as_json else ["code", "project", "recipient_country", "applied_on", "control_status",
                                       "items", "suspended_items"])
