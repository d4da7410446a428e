"""restrat command line: every capability's read and write commands over the same services as the API."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
import typer

from restrat.association import cli as association_cli
from restrat.catalog import reference
from restrat.catalog import service as catalog
from restrat.cli_support import emit, emit_one, err, out, progress, row_dicts, session
from restrat.environment import cli as environment_cli
from restrat.errors import Forbidden, InputError, NotFound, Problem
from restrat.exports import cli as exports_cli
from restrat.industry import cli as industry_cli
from restrat.ledger import cli as ledger_cli
from restrat.market import cli as market_cli
from restrat.quota import cli as quota_cli
from restrat.store import migrate
from restrat.store.db import get_engine
from restrat.technology import cli as technology_cli

app = typer.Typer(help="restrat: rare earth industry governance and strategy platform.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema: apply or revert migrations.", no_args_is_help=True)
seed_app = typer.Typer(help="Fill the database with datasets.", no_args_is_help=True)
catalog_app = typer.Typer(help="Reference catalog: elements, factors, product forms, HS codes.", no_args_is_help=True)
registry_app = typer.Typer(help="Registry of enterprises, groups and facilities.", no_args_is_help=True)
reference_app = typer.Typer(help="Reference data shipped with restrat, with sources.", no_args_is_help=True)
users_app = typer.Typer(help="Platform users and roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(catalog_app, name="catalog")
app.add_typer(registry_app, name="registry")
app.add_typer(reference_app, name="reference")
app.add_typer(users_app, name="users")
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(ledger_cli.synth_app, name="synth")
app.add_typer(market_cli.app, name="market")
app.command("simulate")(market_cli.simulate)
app.add_typer(exports_cli.app, name="exports")
app.add_typer(environment_cli.app, name="environment")
app.add_typer(quota_cli.app, name="quota")
app.add_typer(industry_cli.app, name="industry")
app.add_typer(industry_cli.report_app, name="report")
app.add_typer(association_cli.app, name="association")
app.add_typer(technology_cli.app, name="technology")

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


# --- database -------------------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads", help="Target revision (default: every branch's newest).")
               ) -> None:
    """Apply migrations to the configured database (RESTRAT_DATABASE_URL, default sqlite:///restrat.db)."""
    migrate.upgrade(revision=revision)
    out.print(f"database at revision {migrate.current_revision()}: {get_engine().url.render_as_string()}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("base", help="Target revision ('base' empties the database).")) -> None:
    """Revert migrations."""
    migrate.downgrade(revision=revision)
    out.print(f"database at revision {migrate.current_revision()}")


@db_app.command("current")
def db_current(as_json: bool = JSON) -> None:
    """Show the database URL, its revision and tables."""
    info = {"url": get_engine().url.render_as_string(), "revision": migrate.current_revision(),
            "tables": migrate.table_names()}
    emit_one(info, as_json=as_json)


# --- seed -----------------------------------------------------------------------------------------------------
@seed_app.command("demo")
def seed_demo(seed: int = typer.Option(7, "--seed", help="Random seed of the illustrative part."),
              reset: bool = typer.Option(False, "--reset", help="Empty the database first.")) -> None:
    """Build the demo dataset: real reference data plus illustrative enterprises, facilities and a synthetic
    ledger with its anomaly scan."""
    from restrat.demo.service import DEMO_USERS
    from restrat.demo.service import seed_demo as build

    steps = ["migrate", "catalog reference data", "enterprise groups", "quota history", "enterprises and facilities",
             "group ownership over time", "demo users", "synthetic ledger", "export control",
             "environmental monitoring", "association prices", "technology innovation"]
    with progress() as bar:
        task = bar.add_task("demo", total=len(steps))
        if reset:
            migrate.downgrade()
        migrate.upgrade()
        bar.advance(task)

        def step(msg: str) -> None:
            bar.update(task, description=msg)
            bar.advance(task)

        with session() as s:
            counts = build(session=s, seed=seed, progress=step)
        bar.update(task, completed=len(steps), description="done")
    out.print("demo data: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    out.print("logins: " + ", ".join(f"{u} / {p}" for u, p, _, _ in DEMO_USERS))


# --- catalog --------------------------------------------------------------------------------------------------
ELEMENT_COLS = ["symbol", "atomic_number", "name", "atomic_weight_g_per_mol", "oxide_formula",
                "oxide_to_metal_factor", "cn_class", "cn_class_status", "quota_ore_type"]


@catalog_app.command("elements")
def catalog_elements(q: str = typer.Option(None, "--q", help="Filter by symbol, name or class."),
                     as_json: bool = JSON) -> None:
    """List the 17 rare earth elements with their oxide and oxide-to-metal factor."""
    table = catalog.element_table()
    if q:
        ql = q.lower()
        table = table[table.symbol.str.lower().str.contains(ql) | table.name.str.lower().str.contains(ql)
                      | table.cn_class.str.contains(ql)]
    rows = table[ELEMENT_COLS].to_dict("records")
    if not as_json:
        for r in rows:
            r["oxide_to_metal_factor"] = f"{r['oxide_to_metal_factor']:.4f}"
    emit(rows, as_json=as_json, title="Rare earth elements")


@catalog_app.command("element")
def catalog_element(symbol: str = typer.Argument(..., help="Symbol or English name, e.g. Nd or neodymium."),
                    as_json: bool = JSON) -> None:
    """Show one element."""
    sym = catalog.element_symbol(symbol)
    table = catalog.element_table().set_index("symbol")
    emit_one({"symbol": sym, **table.loc[sym].to_dict()}, as_json=as_json)


@catalog_app.command("convert")
def catalog_convert(element: str = typer.Option(..., "--element", help="Element symbol."),
                    tonnes: float = typer.Option(..., "--tonnes", help="Quantity in tonnes."),
                    to: str = typer.Option("metal", "--to", help="'metal' (from oxide) or 'oxide' (from metal)."),
                    as_json: bool = JSON) -> None:
    """Convert tonnes between an element's standard oxide and its metal."""
    value = catalog.convert(element=element, tonnes=tonnes, to=to)
    sym = catalog.element_symbol(element)
    emit_one({"element": sym, "input_t": tonnes, "input_form": "oxide" if to == "metal" else "metal",
              "output_t": round(value, 6), "output_form": to,
              "factor_t_metal_per_t_oxide": round(catalog.oxide_to_metal(element=sym), 6)}, as_json=as_json)


@catalog_app.command("stages")
def catalog_stages(as_json: bool = JSON) -> None:
    """List the chain stages in order."""
    emit(catalog.stage_table().to_dict("records"), as_json=as_json, title="Chain stages")


@catalog_app.command("forms")
def catalog_forms(as_json: bool = JSON) -> None:
    """List product forms along the chain."""
    emit(catalog.product_form_table().to_dict("records"), as_json=as_json, title="Product forms")


@catalog_app.command("hs")
def catalog_hs(q: str = typer.Option(None, "--q", help="Code prefix or text in description/element/form."),
               code: str = typer.Option(None, "--code", help="Show one exact code (validated)."),
               as_json: bool = JSON) -> None:
    """Search Chinese tariff lines for rare earth products."""
    table = catalog.hs_code_table()
    if code:
        cleaned = catalog.validate_hs_code(code, field="code")
        table = table[table.code == cleaned]
        if table.empty:
            raise NotFound("hs_code", code, field="code")
    elif q:
        ql = q.lower().replace(".", "")
        table = table[table.code.str.startswith(ql) | table.description_en.str.lower().str.contains(ql, regex=False)
                      | table.element.str.lower().eq(ql) | table.form.str.lower().eq(ql)]
    cols = ["code", "level", "description_en", "element", "form", "supervision_code", "status"]
    emit(table[cols + (["source", "note"] if as_json else [])].to_dict("records"), as_json=as_json,
         title="HS codes", columns=cols)


# --- registry -------------------------------------------------------------------------------------------------
FACILITY_COLS = ["code", "name", "stage", "ore_type", "country", "region", "lat", "lon", "capacity_t_reo_per_year",
                 "technology_level", "custody_model", "operating_status", "data_status"]


@registry_app.command("enterprises")
def registry_enterprises(q: str = typer.Option(None, "--q", help="Search text."), as_json: bool = JSON) -> None:
    """List enterprises."""
    from restrat.registry import service as registry

    with session() as s:
        rows = row_dicts(registry.list_enterprises(session=s, q=q),
                         ["code", "name", "country", "region", "data_status"])
    emit(rows, as_json=as_json, title="Enterprises")


@registry_app.command("groups")
def registry_groups(on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default today)."),
                    as_json: bool = JSON) -> None:
    """List enterprise groups with their member count on a date."""
    from restrat.registry import service as registry

    day = _parse_date(on, "on") if on else None
    with session() as s:
        rows = [{"code": r["group"].code, "name_en": r["group"].name_en, "name_zh": r["group"].name_zh,
                 "members": r["members"], "data_status": r["group"].data_status}
                for r in registry.list_groups(session=s, on=day)]
    emit(rows, as_json=as_json, title="Enterprise groups")


@registry_app.command("facilities")
def registry_facilities(q: str = typer.Option(None, "--q", help="Search text."),
                        stage: str = typer.Option(None, "--stage", help="Chain stage code."),
                        country: str = typer.Option(None, "--country"),
                        ore_type: str = typer.Option(None, "--ore-type", help="rock, ionic, secondary or none."),
                        as_json: bool = JSON) -> None:
    """List facilities."""
    from restrat.registry import service as registry

    with session() as s:
        facs = registry.list_facilities(session=s, q=q, stage=stage, country=country, ore_type=ore_type,
                                        limit=100_000)
        rows = row_dicts(facs, FACILITY_COLS)
        for r, f in zip(rows, facs, strict=True):
            r["enterprise"] = f.enterprise.code
    emit(rows, as_json=as_json, title="Facilities", columns=["code", "name", "enterprise", "stage", "ore_type",
                                                               "country", "capacity_t_reo_per_year", "data_status"])


@registry_app.command("facility")
def registry_facility(code: str = typer.Argument(..., help="Facility code."), as_json: bool = JSON) -> None:
    """Show one facility."""
    from restrat.registry import service as registry

    with session() as s:
        f = registry.get_facility(session=s, code=code)
        record = row_dicts([f], FACILITY_COLS + ["start_date", "end_date", "source", "note"])[0]
        record["enterprise"] = f.enterprise.code
        record["enterprise_name"] = f.enterprise.name
    emit_one(record, as_json=as_json)


@registry_app.command("import")
def registry_import(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                help="Facilities as .csv, .jsonl or .parquet."),
                    user: str = typer.Option("cli", "--user", help="Name recorded in the audit log.")) -> None:
    """Import facilities in one transaction: every row is checked first; any problem writes nothing."""
    from restrat.auth import service as auth
    from restrat.registry import service as registry

    df = registry.read_facility_file(path)
    with session() as s:
        facs = registry.import_facilities(session=s, rows=df, source_name=path.name)
        auth.audit(session=s, username=user, action="import", entity="facility", entity_key=path.name,
                   detail={"rows": len(facs)})
    out.print(f"imported {len(facs)} facilities from {path.name}")


@registry_app.command("add-enterprise")
def registry_add_enterprise(code: str = typer.Option(..., "--code"), name: str = typer.Option(..., "--name"),
                            country: str = typer.Option(..., "--country"),
                            region: str = typer.Option("", "--region"),
                            user: str = typer.Option("cli", "--user", help="Name recorded in the audit log.")) -> None:
    """Register an enterprise."""
    from restrat.auth import service as auth
    from restrat.registry import service as registry

    with session() as s:
        registry.create_enterprise(session=s, code=code, name=name, country=country, region=region)
        auth.audit(session=s, username=user, action="create", entity="enterprise", entity_key=code)
    out.print(f"enterprise {code} registered")


@registry_app.command("join-group")
def registry_join_group(enterprise: str = typer.Option(..., "--enterprise"), group: str = typer.Option(..., "--group"),
                        valid_from: str = typer.Option(..., "--from", help="Date YYYY-MM-DD."),
                        share_pct: float = typer.Option(100.0, "--share-pct"),
                        user: str = typer.Option("cli", "--user")) -> None:
    """Record that an enterprise belongs to a group from a date (closing its previous membership)."""
    from restrat.auth import service as auth
    from restrat.registry import service as registry

    with session() as s:
        registry.join_group(session=s, enterprise=enterprise, group=group, valid_from=_parse_date(valid_from, "from"),
                            share_pct=share_pct)
        auth.audit(session=s, username=user, action="join_group", entity="enterprise", entity_key=enterprise,
                   detail={"group": group, "from": valid_from})
    out.print(f"{enterprise} belongs to {group} from {valid_from}")


# --- reference data -------------------------------------------------------------------------------------------
@reference_app.command("list")
def reference_list(as_json: bool = JSON) -> None:
    """List the reference data files shipped inside restrat (details in SOURCES.md)."""
    rows = [{"file": name, **meta, "rows": len(reference.read(name))} for name, meta in reference.DATASETS.items()]
    emit(rows, as_json=as_json, title="Shipped reference data")


@reference_app.command("show")
def reference_show(name: str = typer.Argument(..., help="File name from 'restrat reference list'."),
                   limit: int = typer.Option(50, "--limit"), as_json: bool = JSON) -> None:
    """Print rows of a shipped reference file."""
    if name not in reference.DATASETS:
        raise NotFound("reference file", name, field="name")
    emit(reference.read(name).head(limit).to_dict("records"), as_json=as_json, title=name)


# --- users ----------------------------------------------------------------------------------------------------
@users_app.command("add")
def users_add(username: str = typer.Option(..., "--username"),
              role: str = typer.Option(..., "--role", help="regulator, enterprise, association, analyst or admin."),
              password: str = typer.Option(..., "--password", prompt=True, hide_input=True),
              enterprise: str = typer.Option(None, "--enterprise", help="Enterprise code (role enterprise).")) -> None:
    """Create a user."""
    from restrat.auth import service as auth

    with session() as s:
        auth.create_user(session=s, username=username, password=password, role=role, enterprise_code=enterprise)
        auth.audit(session=s, username="cli", action="create", entity="user", entity_key=username)
    out.print(f"user {username} ({role}) created")


# --- server ---------------------------------------------------------------------------------------------------
@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
          workers: int = typer.Option(1, "--workers", help="Worker processes (use >1 with PostgreSQL).")) -> None:
    """Serve the web dashboard and REST API (OpenAPI docs at /docs)."""
    import uvicorn

    migrate.upgrade()
    out.print(f"restrat on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    from restrat.demo.service import DEMO_USERS

    out.print("demo logins: " + ", ".join(f"{u} / {p}" for u, p, _, _ in DEMO_USERS))
    uvicorn.run("restrat.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def _parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise InputError(Problem(field=field, rule="must be a date YYYY-MM-DD", value=value)) from e


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with argv and return the exit code; bad input gives one line per problem, never a traceback."""
    try:
        app(args=argv, prog_name="restrat", standalone_mode=False)
    except InputError as e:
        for line in e.lines():
            err.print(f"error: {line}", markup=False, highlight=False)
        return 2
    except NotFound as e:
        err.print(f"error: field '{e.field}': {e}", markup=False, highlight=False)
        return 2
    except Forbidden as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        return 3
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:
        err.print("aborted")
        return 1
    except click.ClickException as e:
        e.show()
        return e.exit_code
    return 0


def main() -> None:
    sys.exit(run())
