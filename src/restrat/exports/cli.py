"""`restrat exports ...`: control list on a date and its changes, classification (one product or a CSV file),
list review, licences, quota standards, flagged exports and end-user screening from the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import typer

from restrat.cli_support import emit, emit_one, err, out, progress, row_dicts, session
from restrat.errors import InputError, Problem

app = typer.Typer(help="Export control: control list by date, classification, list review, licences, screening.",
                  no_args_is_help=True)
review_app = typer.Typer(help="Data-driven review of the control list.", no_args_is_help=True)
licence_app = typer.Typer(help="Licence applications, decisions and use.", no_args_is_help=True)
screening_app = typer.Typer(help="Denied-party lists and end-user screening.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(licence_app, name="licence")
app.add_typer(screening_app, name="screening")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
USER = typer.Option("cli", "--user", help="Name recorded in the audit trail.")


def _date(value: str | None, field: str) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(Problem(field=field, rule="must be a date YYYY-MM-DD", value=value)) from None


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain JSON-able dicts (dates as YYYY-MM-DD, missing values as None)."""
    plain = frame.astype(object).where(frame.notna(), None)
    return [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}
            for row in plain.to_dict("records")]


@app.command("seed")
def seed() -> None:
    """Load the control list from the shipped reference data (measures, items, suspensions, export quotas)."""
    from restrat.exports import service

    with session() as s:
        counts = service.seed_control_list(session=s)
    emit_one(counts, as_json=False)


@app.command("list")
def control_list(on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default today)."),
                 as_json: bool = JSON) -> None:
    """The control-list entries that applied on a date, the ones suspended that day, and lapsed suspensions."""
    from restrat.exports import service

    day = _date(on, "on")
    with session() as s:
        rows = service.applicable_on(session=s, on=day)
        suspended = service.suspended_on(session=s, on=day)
        lapsed = service.lapsed_suspensions(session=s, on=day)
    if as_json:
        emit_one({"on": day, "entries": _records(rows), "suspended": _records(suspended), "lapsed_suspensions":
                  lapsed}, as_json=True)
        return
    emit(_records(rows), as_json=False, title=f"Control list on {day}",
         columns=["item_code", "element", "category", "licence", "measure_id", "effective_from", "code_status"])
    if len(suspended):
        emit(_records(suspended), as_json=False, title="Suspended that day",
             columns=["item_code", "measure_id", "suspended_from", "suspended_until", "by_measure"])
    for lap in lapsed:
        out.print(f"[yellow]{lap['measure_id']}: suspension by {lap['by_measure']} ended {lap['suspended_until']}; "
                  f"no later suspension is recorded, so it applies again from {lap['applies_again_from']}[/yellow]")


@app.command("diff")
def diff(start: str = typer.Argument(..., help="First date YYYY-MM-DD."),
         end: str = typer.Argument(..., help="Second date YYYY-MM-DD."), as_json: bool = JSON) -> None:
    """What changed in the control list between two dates (added, removed, changed entries)."""
    from restrat.exports import service

    with session() as s:
        rows = service.diff(session=s, start=_date(start, "start"), end=_date(end, "end"))
    emit(_records(rows), as_json=as_json, title=f"Control list changes {start} -> {end}",
         columns=["change", "item_code", "element", "licence", "was", "measure_id", "code_status"])


@app.command("timeline")
def timeline(as_json: bool = JSON) -> None:
    """Every entry's periods in force and suspended."""
    from restrat.exports import service

    with session() as s:
        rows = service.timeline(session=s)
    emit(_records(rows), as_json=as_json, title="Control list timeline",
         columns=["item_code", "element", "licence", "measure_id", "start", "end", "state"])


@app.command("measures")
def measures(as_json: bool = JSON) -> None:
    """The measures behind the list, with their dates and where the effective date comes from."""
    from sqlalchemy import select

    from restrat.exports import models

    cols = ["measure_id", "measure_type", "issued_date", "effective_date", "effective_basis", "end_date", "status",
            "source"]
    with session() as s:
        rows = row_dicts(list(s.scalars(select(models.ExportMeasure).order_by(models.ExportMeasure.issued_date))),
                         cols)
    emit(rows, as_json=as_json, title="Export control measures", columns=cols[:-1])


@app.command("classify")
def classify(form: str = typer.Option(..., "--form", help="Catalog product form, e.g. magnet_ndfeb."),
             hs_code: str = typer.Option("", "--hs", help="HS code, e.g. 8505111000."),
             composition: str = typer.Option("", "--composition", help='Element shares of REO, "Nd:0.7;Dy:0.05".'),
             value_usd: float = typer.Option(0.0, "--value", help="Declared value, USD."),
             on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default today)."),
             as_json: bool = JSON) -> None:
    """Which control-list items apply to one product on a date, the licence it needs and why."""
    from restrat.exports import service

    with session() as s:
        result = service.classify_product(session=s, form=form, hs_code=hs_code, composition=composition,
                                          value_usd=value_usd, on=_date(on, "on"))
    if as_json:
        emit_one(json.loads(json.dumps(result, default=str)), as_json=True)
        return
    out.print(f"[bold]{'CONTROLLED' if result['controlled'] else 'not controlled'}[/bold] on {result['on']}: "
              f"{result['licence_required'] if result['controlled'] else 'no licence required by the list'}")
    emit([{"item": i["item_code"], "reason": i["reason"]} for i in result["items"]], as_json=False, title="Items")
    for i in result["suspended"]:
        out.print(f"[dim]suspended that day: {i['reason']}[/dim]")


@app.command("classify-file")
def classify_file(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                              help="CSV with form, hs_code, composition (or one column per "
                                                   "element), value_usd, optional date and line."),
                  on: str = typer.Option(None, "--on", help="Date for lines without one (default today)."),
                  output: Path = typer.Option(None, "--out", help="Write the per-line result to this CSV."),
                  as_json: bool = JSON) -> None:
    """Classify a file of shipment lines set-wise; any bad line is reported (row, field, rule) and nothing is
    classified."""
    from restrat.exports import service

    with progress() as bar:
        task = bar.add_task("read", total=3)
        lines = pd.read_csv(path, dtype=str, keep_default_na=False)
        bar.update(task, advance=1, description=f"classify {len(lines):,} lines")
        with session() as s:
            result = service.classify(session=s, lines=lines, on=_date(on, "on"))
        bar.update(task, advance=1, description="write")
        if output:
            result.lines.to_csv(output, index=False)
        bar.update(task, advance=1, description="done")
    summary = {"lines": len(result.lines), "controlled": int(result.lines.controlled.sum()),
               "by_licence": result.lines[result.lines.controlled].licence.value_counts().to_dict(),
               "written_to": str(output) if output else None}
    emit_one(summary, as_json=as_json)


def _inputs(batch: str | None, kg_used: float | None, more: list[str] | None) -> list[tuple[str, float]]:
    pairs = [(batch, kg_used if kg_used is not None else 0.0)] if batch else []
    problems = []
    for i, text in enumerate(more or [], start=1):
        name, _, kg = text.rpartition(":")
        try:
            pairs.append((name, float(kg)))
        except ValueError:
            problems.append(Problem(row=i, field="input", rule="must be BATCH:KG", value=text))
    if problems:
        raise InputError(problems)
    return pairs


@app.command("content")
def content(batch: str = typer.Argument(None, help="Ledger batch that went into the foreign-made product."),
            kg_used: float = typer.Option(None, "--kg", help="Kilograms of the batch in the product."),
            more: list[str] = typer.Option(None, "--input", help="Another batch in the product, BATCH:KG "
                                                                 "(repeat for each)."),
            value: float = typer.Option(..., "--value", help="The product's value, USD."),
            on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default today)."),
            as_json: bool = JSON) -> None:
    """De minimis rule: share of the product's value that is controlled rare earth of Chinese origin (from the
    ledger lineage of each batch in it), against the threshold rule in force on the date, with every step."""
    from restrat.exports import content as rules

    with session() as s:
        result = rules.content_share(session=s, inputs=_inputs(batch, kg_used, more), product_value_usd=value,
                                     on=_date(on, "on"))
    if as_json:
        emit_one(json.loads(json.dumps(result, default=str)), as_json=True)
        return
    emit([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in result["elements"]],
         as_json=False, title=f"{result['batch']}: {result['reo_kg_used']:,.3f} kg REO used")
    for step in result["steps"]:
        out.print(f"- {step}")
    threshold = result["threshold_value_share"]
    out.print(f"controlled Chinese-origin value {result['controlled_chinese_value_usd']:,.2f} USD = "
              f"{result['value_share']:.4%} of {result['product_value_usd']:,.2f} USD"
              + (f" (threshold {threshold:.2%})" if threshold is not None else "")
              + f": [bold]{result['outcome']}[/bold]")


@app.command("content-rules")
def content_rules(as_json: bool = JSON) -> None:
    """The dated content (de minimis) rules: measure, elements, threshold share of value, dates, suspensions."""
    from restrat.exports import content as rules

    with session() as s:
        rows = rules.rules(session=s)
    emit(_records(rows), as_json=as_json, title="Content rules")


@app.command("content-rule-add")
def content_rule_add(measure: str = typer.Option(..., "--measure", help="Measure id (see `exports measures`)."),
                     threshold: float = typer.Option(..., "--threshold", help="Share of value, e.g. 0.001 = 0.1%."),
                     effective: str = typer.Option(..., "--from", help="First day YYYY-MM-DD; the open rule ends "
                                                                        "the day before."),
                     elements: str = typer.Option("", "--elements", help="Element symbols ';'-separated (default: "
                                                                          "the measure's)."),
                     note: str = typer.Option("", "--note")) -> None:
    """Add a dated content rule period (a new threshold or element set from a date)."""
    from restrat.exports import content as rules

    with session() as s:
        rule = rules.add_rule(session=s, measure_id=measure, threshold_value_share=threshold,
                              effective_from=_date(effective, "from"),
                              elements=[e for e in elements.split(";") if e] or None, note=note)
        s.commit()
        out.print(f"content rule from {rule.effective_from}: {rule.threshold_value_share:.4%} of value, "
                  f"{rule.elements}")


# ---- review ------------------------------------------------------------------------------------------------------

@review_app.command("scores")
def review_scores(as_json: bool = JSON) -> None:
    """Criticality per element and product type, ranked (formula in docs/exports.md)."""
    from restrat.exports import review

    rows = review.scores()
    emit(_records(rows.round(4)), as_json=as_json, title="Criticality ranking",
         columns=["rank", "element", "sub_item", "score", "element_score", "coverage", "china_stage_share"])


@review_app.command("propose")
def review_propose(effective: str = typer.Option(..., "--effective", help="Date the change would apply from."),
                   user: str = USER, as_json: bool = JSON) -> None:
    """Propose a dated diff of the list from the scores, for the regulator to accept or reject."""
    from restrat.exports import review

    with session() as s:
        p = review.propose(session=s, effective_date=_date(effective, "effective"), username=user)
        rows = row_dicts(review.changes(session=s, proposal_id=p.id),
                         ["action", "item_code", "element", "sub_item", "score", "rank", "rationale"])
    emit(rows, as_json=as_json, title=f"Proposal {p.id} from {effective}")


@review_app.command("proposals")
def review_proposals(as_json: bool = JSON) -> None:
    """Every review proposal and its decision."""
    from restrat.exports import review

    with session() as s:
        rows = row_dicts(review.proposals(session=s), ["id", "effective_date", "state", "created_by",
                                                       "decided_by", "reason", "version_id"])
    emit(rows, as_json=as_json, title="Review proposals")


@review_app.command("decide")
def review_decide(proposal_id: int = typer.Argument(...),
                  accept: bool = typer.Option(..., "--accept/--reject", help="Accept or reject."),
                  reason: str = typer.Option(..., "--reason"), user: str = USER) -> None:
    """Accept (a new list version from the proposal's date) or reject a proposal."""
    from restrat.exports import review

    with session() as s:
        p = review.decide(session=s, proposal_id=proposal_id, accept=accept, username=user, role="regulator",
                          reason=reason)
    out.print(f"proposal {p.id} {p.state}" + (f"; list version {p.version_id}" if p.version_id else ""))


# ---- licences ----------------------------------------------------------------------------------------------------

def _line(text: str) -> dict:
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    aliases = {"hs": "hs_code", "kg": "quantity_kg", "usd": "value_usd", "comp": "composition"}
    return {aliases.get(k.strip(), k.strip()): v.strip().replace("/", ";") for k, v in fields.items()}


@licence_app.command("apply")
def licence_apply(exporter: str = typer.Option(..., "--exporter", help="Enterprise code."),
                  consignee: str = typer.Option(..., "--consignee"),
                  consignee_country: str = typer.Option(..., "--consignee-country"),
                  end_user: str = typer.Option(..., "--end-user"),
                  end_user_country: str = typer.Option(..., "--end-user-country"),
                  end_use: str = typer.Option(..., "--end-use", help="What the goods will be used for."),
                  end_use_class: str = typer.Option(None, "--end-use-class", help="military or civil (required)."),
                  destination: str = typer.Option(..., "--destination"),
                  line: list[str] = typer.Option(..., "--line", help='"form=magnet_ndfeb,hs=8505111000,'
                                                 'comp=Nd:0.7/Dy:0.05,kg=1000,usd=80000" (repeatable)'),
                  kind: str = typer.Option("single", "--kind", help="single or general."),
                  user: str = USER) -> None:
    """Create a draft licence application (classified line by line)."""
    from restrat.exports import licences

    with session() as s:
        lic = licences.create_application(session=s, exporter=exporter, consignee=consignee,
                                          consignee_country=consignee_country, end_user=end_user,
                                          end_user_country=end_user_country, end_use=end_use,
                                          end_use_class=end_use_class, destination=destination,
                                          lines=[_line(x) for x in line], username=user, kind=kind)
    out.print(f"{lic.code}: draft, {lic.quantity_kg:,.1f} kg")


@licence_app.command("move")
def licence_move(code: str = typer.Argument(...),
                 to: str = typer.Argument(..., help="submitted, under_review, approved, approved_with_conditions, "
                                                    "denied, revoked"),
                 reason: str = typer.Option("", "--reason"), conditions: str = typer.Option("", "--conditions"),
                 on: str = typer.Option(None, "--on", help="Decision date (default today)."), user: str = USER) -> None:
    """Move a licence along its states (the state machine refuses illegal moves)."""
    from restrat.exports import licences

    with session() as s:
        lic = licences.transition(session=s, code=code, to=to, username=user, role="admin", reason=reason,
                                  conditions=conditions, on=_date(on, "on"))
    out.print(f"{lic.code}: {lic.state}" + (f" (valid {lic.valid_from} to {lic.valid_to})" if lic.valid_from else ""))


@licence_app.command("list")
def licence_list(state: str = typer.Option(None, "--state"), as_json: bool = JSON) -> None:
    """Licences, newest first."""
    from restrat.exports import licences

    cols = ["code", "state", "end_use_class", "destination", "end_user", "quantity_kg", "consumed_kg",
            "submitted_on", "review_due", "valid_to", "data_status"]
    with session() as s:
        rows = row_dicts(licences.list_licences(session=s, states=(state,) if state else None), cols)
    emit(rows, as_json=as_json, title="Licences")


@licence_app.command("show")
def licence_show(code: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """One licence: terms, review clock, use by ledger exports, audit trail."""
    from restrat.exports import licences

    with session() as s:
        lic = licences.get_licence(session=s, code=code)
        usage = licences.licence_usage(session=s, code=code)
        record = {**row_dicts([lic], ["code", "state", "kind", "consignee", "end_user", "end_use", "end_use_class",
                                      "destination", "quantity_kg", "consumed_kg", "valid_from", "valid_to",
                                      "conditions", "screening_band"])[0],
                  "review_clock": licences.review_clock(lic, on=dt.date.today()),
                  "uses": len(usage["uses"]), "flags": _records(usage["flags"]),
                  "history": row_dicts(licences.history(session=s, code=code),
                                       ["at", "username", "from_state", "to_state", "reason"])}
    emit_one(json.loads(json.dumps(record, default=str)), as_json=as_json)


@licence_app.command("expire")
def licence_expire(on: str = typer.Option(None, "--on"), user: str = USER) -> None:
    """Expire every valid licence whose validity ended before a date."""
    from restrat.exports import licences

    with session() as s:
        codes = licences.expire_licences(session=s, on=_date(on, "on"), username=user)
    out.print(f"expired {len(codes)} licence(s)")


@licence_app.command("standards")
def licence_standards(on: str = typer.Option(None, "--on"), as_json: bool = JSON) -> None:
    """Military and civil quota standards in force on a date."""
    from restrat.exports import licences

    with session() as s:
        rows = licences.standards_on(session=s, on=_date(on, "on"))
    emit(_records(rows), as_json=as_json, title="Quota standards",
         columns=["end_use_class", "element", "max_kg_per_licence", "annual_kg_per_exporter", "effective_from",
                  "data_status"])


@licence_app.command("set-standard")
def licence_set_standard(end_use_class: str = typer.Option(..., "--class", help="military or civil."),
                         per_licence: float = typer.Option(..., "--per-licence-kg"),
                         annual: float = typer.Option(..., "--annual-kg"),
                         element: str = typer.Option(None, "--element"),
                         effective: str = typer.Option(..., "--effective"),
                         source: str = typer.Option("", "--source")) -> None:
    """Set a quota standard from a date (the previous one for the same class and element ends the day before)."""
    from restrat.exports import licences

    with session() as s:
        licences.set_standard(session=s, end_use_class=end_use_class, element=element,
                              max_kg_per_licence=per_licence, annual_kg_per_exporter=annual,
                              effective_from=_date(effective, "effective"), source=source)
    out.print("standard set")


@licence_app.command("flags")
def licence_flags(rule: str = typer.Option(None, "--rule", help="Only one rule: no_licence, unknown_licence, "
                                                                "licence_expired, licence_not_valid, beyond_licence, "
                                                                "destination_mismatch."),
                  limit: int = typer.Option(1000, "--limit", help="At most this many, newest first."),
                  as_json: bool = JSON) -> None:
    """Ledger exports flagged, with the reason: controlled without a licence, unknown, expired or invalid licence,
    wrong destination, beyond the licensed quantity. The same findings join `restrat ledger anomalies`."""
    from restrat.exports import licences

    with session() as s:
        rows = licences.list_flags(session=s, rule=rule, limit=limit)  # an unknown rule exits 2, naming it
        counts = licences.flag_counts(session=s)
    if as_json:
        emit_one({"counts": _records(counts), "flags": _records(rows)}, as_json=True)
        return
    emit(_records(counts), as_json=False, title="Flagged exports by reason", columns=["rule", "exports", "kg",
                                                                                         "reason"])
    emit(_records(rows), as_json=False, title="Flagged exports",
         columns=["uid", "facility", "day", "country", "rule", "licence_ref", "kg", "detail"])


# ---- screening ---------------------------------------------------------------------------------------------------

@screening_app.command("load")
def screening_load(path: Path = typer.Argument(..., exists=True, dir_okay=False),
                   name: str = typer.Option(..., "--list", help="List name."),
                   fmt: str = typer.Option("csv", "--format", help="csv or ftm (FollowTheMoney JSON lines)."),
                   licence: str = typer.Option("", "--licence", help="The list's licence terms."),
                   status: str = typer.Option("official", "--status", help="official or synthetic.")) -> None:
    """Load a list file as a new version (a delta: only what changed is written; history is kept)."""
    from restrat.exports import screening

    reader = {"csv": screening.read_csv_list, "ftm": screening.read_ftm_list}.get(fmt)
    if reader is None:
        raise InputError(Problem(field="format", rule="must be csv or ftm", value=fmt))
    entities = reader(path)
    with session() as s:
        counts = screening.load_list(session=s, name=name, entities=entities, source_name=path.name,
                                     licence=licence, data_status=status)
    emit_one(counts, as_json=False)


@screening_app.command("synth")
def screening_synth(n: int = typer.Option(100_000, "--n"), seed: int = typer.Option(1, "--seed"),
                    output: Path = typer.Option(..., "--out", help="CSV to write.")) -> None:
    """Write a SYNTHETIC denied-party list (generated names, no real parties)."""
    from restrat.exports import synth

    synth.synthetic_list(n, seed=seed).to_csv(output, index=False)
    out.print(f"wrote {n:,} SYNTHETIC entries to {output}")


@screening_app.command("lists")
def screening_lists(as_json: bool = JSON) -> None:
    """Loaded lists and their versions."""
    from restrat.exports import screening

    with session() as s:
        rows = [{"name": r["name"], "status": r["data_status"], "version": r["current_version"],
                 "licence": r["licence"]} for r in screening.lists(session=s)]
    emit(rows, as_json=as_json, title="Screening lists")


@screening_app.command("screen")
def screening_screen(name: list[str] = typer.Argument(..., help="Names to screen."),
                     country: str = typer.Option("", "--country"),
                     list_name: str = typer.Option(None, "--list", help="One list (default all)."),
                     as_json: bool = JSON) -> None:
    """Screen names: ranked hits with an explained score and the outcome band."""
    from restrat.exports import screening

    with session() as s:
        result = screening.screen_parties(session=s, parties=[(n, country) for n in name], list_name=list_name)
    if as_json:
        emit_one({"outcome": dict(zip(name, result["outcome"], strict=True)),
                  "hits": _records(result["hits"])}, as_json=True)
        return
    for n, band in zip(name, result["outcome"], strict=True):
        out.print(f"[bold]{n}[/bold]: {band}")
    emit(_records(result["hits"]), as_json=False, title="Hits",
         columns=["name", "list", "listed_name", "score", "band", "explanation"])


@screening_app.command("screen-file")
def screening_screen_file(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                      help="CSV with name and optional country."),
                          list_name: str = typer.Option(None, "--list"),
                          output: Path = typer.Option(..., "--out", help="CSV of hits to write."),
                          as_json: bool = JSON) -> None:
    """Screen a file of names set-wise."""
    from restrat.exports import screening

    names = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "name" not in names.columns:
        raise InputError(Problem(field="name", rule="column is required"))
    countries = names["country"] if "country" in names.columns else pd.Series("", index=names.index)
    with progress() as bar:
        task = bar.add_task(f"screen {len(names):,} names", total=1)
        with session() as s:
            result = screening.screen_parties(session=s, parties=list(zip(names.name, countries, strict=True)),
                                              list_name=list_name)
        bar.advance(task)
    result["hits"].to_csv(output, index=False)
    bands = pd.Series(result["outcome"]).value_counts().to_dict()
    emit_one({"names": len(names), **bands, "hits_written_to": str(output)}, as_json=as_json)
    if not as_json:
        err.print(f"hits in {output}")
