"""Shared CLI plumbing: sessions, JSON or table output, progress bars, one-line errors."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from restrat.store.db import get_engine, transaction

out = Console(soft_wrap=True)
err = Console(stderr=True)


@contextmanager
def session() -> Iterator[Session]:
    """A transaction on the configured database (RESTRAT_DATABASE_URL)."""
    with transaction(get_engine()) as s:
        yield s


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def row_dicts(objects: Sequence[Any], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Plain dicts of the named attributes (or keys) of each object."""
    rows = []
    for o in objects:
        get = o.get if isinstance(o, dict) else (lambda k, o=o: getattr(o, k))
        rows.append({c: _plain(get(c)) for c in columns})
    return rows


def emit(rows: list[dict[str, Any]], *, as_json: bool, title: str | None = None,
         columns: Sequence[str] | None = None) -> None:
    """Print rows as JSON (for pipes) or as a table (for people)."""
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=str, indent=1) + "\n")
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*["" if r.get(c) is None else str(r.get(c)) for c in columns])
    out.print(table)
    if not rows:
        out.print("[dim]no rows[/dim]")


def emit_one(record: dict[str, Any], *, as_json: bool) -> None:
    """Print one record as JSON or as a two-column table."""
    if as_json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str, indent=1) + "\n")
        return
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for k, v in record.items():
        table.add_row(k, "" if v is None else str(v))
    out.print(table)


def progress() -> Progress:
    """A Rich progress bar that writes to stderr, so stdout stays clean for pipes."""
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=err, transient=False)
