"""`restrat quota ...`: total quantity control from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import typer

from restrat.cli_support import emit, emit_one, err, out, progress, session
from restrat.errors import InputError, Problem

app = typer.Typer(help="Total quantity control: quota history, plans, allocations, balances, infractions and the "
                       "allocation optimiser.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
USER = typer.Option("cli", "--user", help="Name recorded with the write and in the audit log.")
DATE = ["%Y-%m-%d"]


def _emit_frame(df: pd.DataFrame, *, as_json: bool, title: str, columns: list[str] | None = None) -> None:
    from restrat.quota.service import as_records

    emit(as_records(df.round(3) if not as_json else df), as_json=as_json, title=title, columns=columns)


@app.command("history")
def history(as_json: bool = JSON) -> None:
    """China's national mining and separation quotas by year, ore type and batch (real, with source and status;
    'recalled' rows are unverified)."""
    from restrat.quota import service

    with session() as s:
        rows = service.national_history(session=s)
    emit(rows, as_json=as_json, title="National quotas (t REO)",
         columns=["year", "kind", "ore_type", "batch", "tonnes_reo", "status", "source"])


@app.command("groups")
def groups(kind: str = typer.Option(None, "--kind", help="mining or smelting_separation."), as_json: bool = JSON
           ) -> None:
    """Published allocations to enterprise groups (real, with source)."""
    from restrat.quota import service

    with session() as s:
        df = service.group_history(session=s, kind=kind)
    _emit_frame(df, as_json=as_json, title="Group allocations (t REO)",
                columns=["year", "batch", "group_name_en", "kind", "ore_type", "tonnes_reo", "share_pct", "status"])


@app.command("plans")
def plans(year: int = typer.Option(None, "--year"),
          on: dt.datetime = typer.Option(None, "--on", formats=DATE, help="Amounts in force on this date (today)."),
          as_json: bool = JSON) -> None:
    """Plans issued on the platform, with the amount in force on a date and how often it changed."""
    from restrat.quota import service

    with session() as s:
        df = service.plans(session=s, year=year, on=on.date() if on else None)
    _emit_frame(df.drop(columns=["id"] if as_json else ["id", "source"]), as_json=as_json, title="Quota plans (t REO)")


@app.command("issue")
def issue(year: int = typer.Option(..., "--year"), kind: str = typer.Option(..., "--kind"),
          ore_type: str = typer.Option("total", "--ore-type", help="rock, ionic or total (separation: total)."),
          batch: str = typer.Option("all", "--batch", help="Issuance batch: 1, 2, ... or all."),
          tonnes: str = typer.Option(..., "--tonnes", help="t REO."),
          issued_on: dt.datetime = typer.Option(..., "--issued-on", formats=DATE),
          source: str = typer.Option("", "--source"), user: str = USER) -> None:
    """Issue a national quota plan (a batch of a year's quota); later changes are dated records."""
    from restrat.auth import service as auth
    from restrat.quota import service

    with session() as s:
        plan = service.issue_plan(session=s, year=year, kind=kind, ore_type=ore_type, batch=batch, tonnes_reo=tonnes,
                                  issued_on=issued_on.date(), username=user, source=source)
        auth.audit(session=s, username=user, action="issue", entity="quota_plan",
                   entity_key=f"{year}/{kind}/{ore_type}/{batch}", detail={"tonnes_reo": plan.tonnes_reo})
    out.print(f"issued {year} {kind} {ore_type} batch {batch}: {plan.tonnes_reo:,.1f} t REO")


@app.command("allocations")
def allocations(year: int = typer.Option(None, "--year"), kind: str = typer.Option(None, "--kind"),
                level: str = typer.Option(None, "--level", help="group, enterprise or facility."),
                as_json: bool = JSON) -> None:
    """Allocations down the ownership tree with the amount in force today."""
    from restrat.quota import service

    with session() as s:
        df = service.allocations(session=s, year=year, kind=kind, level=level)
    _emit_frame(df.drop(columns=["id", "source"]), as_json=as_json, title="Allocations (t REO)")


@app.command("import")
def import_(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                        help="CSV with columns code, year, kind, ore_type, batch, level (group, "
                                             "enterprise, facility), holder (its code), tonnes_reo, parent (code of "
                                             "the allocation it is split from), data_status, source."),
            user: str = USER, as_json: bool = JSON) -> None:
    """Import allocations in one transaction: every row is checked first (plan and parent totals, closed
    facilities, ore types); any problem writes nothing; rows already recorded are skipped."""
    from restrat.auth import service as auth
    from restrat.quota import service

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    with session() as s:
        result = service.import_allocations(session=s, rows=df, username=user, source_name=path.name)
        auth.audit(session=s, username=user, action="import", entity="quota_allocation", entity_key=path.name,
                   detail=result)
    emit_one(result, as_json=as_json)


@app.command("change")
def change(target: str = typer.Argument(..., help="plan or allocation."),
           key: str = typer.Argument(..., help="Allocation code, or a plan as YEAR/KIND/ORE_TYPE/BATCH."),
           tonnes: str = typer.Option(..., "--tonnes", help="New amount, t REO."),
           effective_on: dt.datetime = typer.Option(..., "--effective-on", formats=DATE),
           reason: str = typer.Option(..., "--reason"), user: str = USER) -> None:
    """Record a dated change of a plan or an allocation (the earlier amount stays on record)."""
    from restrat.auth import service as auth
    from restrat.quota import service

    with session() as s:
        ch = service.record_change(session=s, target=target, key=key, tonnes_reo=tonnes,
                                   effective_on=effective_on.date(), reason=reason, username=user)
        auth.audit(session=s, username=user, action="change", entity=f"quota_{target}", entity_key=key,
                   detail={"tonnes_reo": ch.tonnes_reo, "effective_on": ch.effective_on.isoformat()})
    out.print(f"{target} {key}: {ch.tonnes_reo:,.1f} t REO from {ch.effective_on}")


@app.command("balances")
def balances(year: int = typer.Option(None, "--year"), facility: str = typer.Option(None, "--facility"),
             as_json: bool = JSON) -> None:
    """Quota against use per facility: quota, used, remaining, share used, status."""
    from restrat.quota import service

    with session() as s:
        df = service.balances(session=s, year=year, facility=facility)
    _emit_frame(df, as_json=as_json, title="Quota balances (t REO)")


@app.command("infractions")
def infractions(year: int = typer.Option(None, "--year"), as_json: bool = JSON) -> None:
    """Production beyond or without quota, each with its crossing event, penalty range and next-year rule."""
    from restrat.quota import service

    with session() as s:
        rows = service.infractions(session=s, year=year)
    if as_json:
        emit(rows, as_json=True)
        return
    emit([{**r, "excess_t_reo": round(r["excess_t_reo"], 1)} for r in rows], as_json=False, title="Quota infractions",
         columns=["infraction", "facility", "year", "kind", "event", "event_time", "quota_t_reo", "excess_t_reo"])
    for penalty, next_year in dict.fromkeys((r["penalty"], r["next_year"]) for r in rows):
        out.print(f"- penalty range: {penalty}\n  next year: {next_year}")


def _shares(values: list[str]) -> dict[str, float]:
    shares = {}
    for v in values:
        group, _, share = v.partition("=")
        try:
            shares[group.strip()] = float(share)
        except ValueError:
            raise InputError(Problem(field="min_share", rule="is GROUP=SHARE with a share from 0 to 1",
                                     value=v)) from None
    return shares


@app.command("allocate")
def allocate(year: int = typer.Option(..., "--year", help="Year to allocate."),
             kind: str = typer.Option("mining", "--kind", help="mining or smelting_separation."),
             total: str = typer.Option(..., "--total", help="National total to allocate, t REO."),
             ionic_share: float = typer.Option(None, "--ionic-share", help="Share of ionic-clay quota (mining); "
                                               "default: the year's plan, else the latest published split."),
             max_change: float = typer.Option(None, "--max-change", help="Largest change vs last year (0.2 = 20%)."),
             min_share: list[str] = typer.Option([], "--min-share", help="GROUP=SHARE, repeatable."),
             policy_file: Path = typer.Option(None, "--policy", exists=True, dir_okay=False,
                                              help="Policy YAML (score weights, neutral values, limits)."),
             save: bool = typer.Option(False, "--save", help="Record the result as facility allocations."),
             batch: str = typer.Option("all", "--batch", help="Batch the saved allocations belong to."),
             user: str = USER, as_json: bool = JSON) -> None:
    """Allocate a national total among facilities with a linear programme (HiGHS): maximise the policy's score
    subject to capacity, ore-type split, bounded change against last year and minimum group shares; explain
    which constraints bind and what they cost."""
    from restrat.quota import optimiser, service

    overrides = {"ionic_share": ionic_share, "max_change": max_change}
    if min_share:
        overrides["min_group_share"] = _shares(min_share)
    policy = optimiser.load_policy(policy_file, **overrides)
    with session() as s:
        result = service.allocate(session=s, year=year, kind=kind, total=total, policy=policy, save=save,
                                  batch=batch, username=user)
    if as_json:
        emit_one(result, as_json=True)
        return
    emit(result["groups"], as_json=False, title=f"{year} {kind}: {result['total_t_reo']:,.0f} t REO by group")
    emit(result["facilities"][:25], as_json=False, title="Facilities (top 25 by allocation)",
         columns=["code", "group", "ore_type", "capacity_t_reo", "last_year_t_reo", "score", "allocated_t_reo",
                  "binding"])
    out.print(f"split: {result['split']}; solved in {result['seconds']:.3f} s; score {result['objective']:,.1f}")
    for line in result["explanations"] + result["notes"]:
        out.print(f"- {line}")
    if save:
        out.print(f"saved {result['saved']} facility allocations")


@app.command("consume")
def consume(from_ledger: bool = typer.Option(False, "--from-ledger", help="Count ledger events not yet counted."),
            as_json: bool = JSON) -> None:
    """Count quota use from ledger events the consumption cursor has not reached (imports count their own events
    as they are written; this catches up events written before). Running it again counts nothing."""
    from restrat.quota import consumption

    if not from_ledger:
        raise InputError(Problem(field="from_ledger", rule="say where to count from: --from-ledger"))
    with progress() as bar, session() as s:
        task = bar.add_task("counting", total=None)
        result = consumption.consume_from_ledger(
            session=s, progress=lambda done, total: bar.update(task, completed=done, total=total))
    err.print(f"counted {result.events_counted:,} events")
    emit_one(dict(result.__dict__), as_json=as_json)
