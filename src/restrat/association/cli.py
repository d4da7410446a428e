"""`restrat association ...`: submit prices, the published reference index and statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from restrat.cli_support import emit, emit_one, session

app = typer.Typer(help="Trade association: member price submissions, reference price index under disclosure "
                       "control, aggregate statistics.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


@app.command("products")
def products(as_json: bool = JSON) -> None:
    """Products members may quote."""
    from restrat.association import service
    from restrat.industry.service import records

    emit(records(service.products()), as_json=as_json, title="Products")


@app.command("submit")
def submit(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                       help="CSV with product, price_date, price, currency, volume_t."),
           enterprise: str = typer.Option(..., "--enterprise", help="Submitting member's enterprise code."),
           user: str = typer.Option("cli", "--user", help="Name recorded in the audit log."),
           as_json: bool = JSON) -> None:
    """Submit a member's prices in one transaction (any bad row writes nothing; re-submitting changes nothing)."""
    import pandas as pd

    from restrat.association import service
    from restrat.auth import service as auth

    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    with session() as s:
        result = service.submit(session=s, enterprise=enterprise, rows=rows, username=user)
        auth.audit(session=s, username=user, action="submit", entity="association_price", entity_key=enterprise,
                   detail=result)
    emit_one(result, as_json=as_json)


@app.command("index")
def reference_index(product: str = typer.Option(None, "--product"), currency: str = typer.Option(None, "--currency"),
                    as_json: bool = JSON) -> None:
    """The published reference price index per product and month; suppressed cells show no figure."""
    from restrat.association import service
    from restrat.industry.service import records

    with session() as s:
        frame = service.reference_index(session=s, product=product, currency=currency)
    emit(records(frame.round(4)), as_json=as_json, title="Reference price index")


@app.command("statistics")
def statistics(as_json: bool = JSON) -> None:
    """Per product: months published and suppressed, latest index, mean and coefficient of variation."""
    from restrat.association import service
    from restrat.industry.service import records

    with session() as s:
        frame = service.statistics(session=s)
    emit(records(frame.round(4)), as_json=as_json, title="Association statistics")
