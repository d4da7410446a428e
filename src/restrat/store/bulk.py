"""Batched bulk writes that stay within the database's bound-parameter limit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

# SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32; PostgreSQL allows 65535.
MAX_BOUND_PARAMETERS = 32_000


def chunks(rows: Sequence[dict[str, Any]], *, columns: int) -> Iterable[Sequence[dict[str, Any]]]:
    """Split rows so that no chunk binds more than MAX_BOUND_PARAMETERS values."""
    size = max(1, MAX_BOUND_PARAMETERS // max(1, columns))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows into table in executemany batches; returns the count inserted."""
    if not rows:
        return 0
    ncols = len(rows[0])
    for part in chunks(rows, columns=ncols):
        session.execute(table.insert(), list(part))
    return len(rows)
