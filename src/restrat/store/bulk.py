"""Batched bulk writes that stay within the database's bound-parameter limit."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import adbc_driver_sqlite.dbapi as adbc_sqlite
import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

# Below this many rows a staging file costs more than binding the rows one by one.
STAGE_MIN_ROWS = 20_000
# The pool's per-connection info key listing the staging databases attached to that connection.
STAGED = "restrat_staged"
_stage_names = itertools.count(1)

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


def write_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Append rows (tuples in column order, any iterable: they are streamed, not held) as fast as the database
    allows: COPY on PostgreSQL, executemany of one prepared statement on SQLite. Returns the count written."""
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        return _copy(raw, table, columns, rows)
    marks = ", ".join("?" for _ in columns)
    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return cur.rowcount
    finally:
        cur.close()


def _copy(raw: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def add_rows(conn: Connection, table: str, keys: Sequence[str], values: Sequence[str],
             columns: Mapping[str, Sequence[Any] | np.ndarray]) -> None:
    """Add rows, given column-wise (keys then values, no key twice), to a table of running totals: a new key is
    inserted, an existing one has the values added. One INSERT ... SELECT ... ON CONFLICT from staged rows (COPY
    into a temporary table on PostgreSQL, a staging file on SQLite); few rows on SQLite go through executemany."""
    names = (*keys, *values)
    cols = ", ".join(names)
    conflict = (f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values))
    rows = zip(*(v.tolist() if isinstance(v, np.ndarray) else v for v in (columns[c] for c in names)), strict=True)
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        staged = f"tmp_add_{table}"
        # on an error the transaction rolls back, and the temporary table with it
        conn.exec_driver_sql(f"CREATE TEMP TABLE {staged} ON COMMIT DROP AS SELECT {cols} FROM {table} WITH NO DATA")
        _copy(raw, staged, names, rows)
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staged} {conflict}")
        conn.exec_driver_sql(f"DROP TABLE {staged}")
    elif len(columns[keys[0]]) >= STAGE_MIN_ROWS:
        # "WHERE true" tells SQLite's parser the ON CONFLICT belongs to the INSERT, not to a join
        raw.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_stage(conn, columns)} WHERE true {conflict}")
    else:
        cur = raw.cursor()
        try:
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(names))}) {conflict}",
                            rows)
        finally:
            cur.close()


def write_columns(session: Session, table: str, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> int:
    """Append rows given column-wise (equal lengths, None for NULL). On SQLite the rows are grouped by which
    columns are NULL and each group is inserted naming only its non-NULL columns, because Python's sqlite3 binds
    None through its slow adaptation path: on a ledger event row with six NULLs that is most of the insert cost.
    Rows keep their order within a group. Returns the count written."""
    names = list(columns)
    if not names:
        return 0
    if session.connection().dialect.name != "sqlite":
        return write_rows(session, table, names, zip(*columns.values(), strict=True))
    n = len(next(iter(columns.values())))
    if n >= STAGE_MIN_ROWS:
        conn = session.connection()
        cols = ", ".join(names)
        conn.connection.dbapi_connection.execute(
            f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM {_stage(conn, columns)} ORDER BY rowid")
        return n
    arrays = {k: v if isinstance(v, np.ndarray) and v.dtype != object else np.asarray(v, dtype=object)
              for k, v in columns.items()}
    nullable = [k for k, v in arrays.items() if v.dtype == object and len(v) and pd.isna(v).any()]
    signature = np.zeros(n, dtype=np.int64)
    for bit, k in enumerate(nullable):
        signature |= pd.isna(arrays[k]).astype(np.int64) << bit
    count = 0
    for sig in np.unique(signature):
        rows = np.flatnonzero(signature == sig) if len(nullable) else slice(None)
        keep = [k for bit, k in enumerate(nullable) if not (int(sig) >> bit) & 1]
        present = [k for k in names if k not in nullable or k in keep]
        count += write_rows(session, table, present, zip(*(arrays[k][rows].tolist() for k in present), strict=True))
    return count


def _arrow(values: Sequence[Any] | np.ndarray) -> pa.Array:
    if isinstance(values, np.ndarray) and values.dtype != object:
        return pa.array(values)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if items and isinstance(items[0], dt.datetime):
        # stored as text, as SQLAlchemy's DateTime and sqlite3 both write it on SQLite
        items = [v.isoformat(" ") if v is not None else None for v in items]
    return pa.array(items)


def _stage(conn: Connection, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> str:
    """Put many rows where a SQLite connection can read them in one statement, without Python binding them one
    value at a time (four fifths of the cost of executemany on a wide row): the columns go as Arrow arrays into a
    scratch SQLite file through the ADBC driver, which binds them in C, and the file is attached to conn. Returns
    the table to SELECT from, inside conn's own transaction. The file is unlinked at once; SQLite refuses to
    DETACH a database a transaction has read, so the pool detaches it when the connection returns (store.db)."""
    data = pa.table({k: _arrow(v) for k, v in columns.items()})
    fairy = conn.connection
    name = f"restrat_stage_{next(_stage_names)}"
    with tempfile.TemporaryDirectory(prefix="restrat-stage-") as tmp:
        path = os.path.join(tmp, "stage.db")
        with adbc_sqlite.connect(path, autocommit=True) as stage, stage.cursor() as cur:
            # a scratch file: nothing to recover after a crash
            cur.execute("PRAGMA journal_mode=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.adbc_ingest("rows", data, mode="create")
        fairy.dbapi_connection.execute(f"ATTACH DATABASE ? AS {name}", (path,))
        fairy.info.setdefault(STAGED, []).append(name)
    return f"{name}.rows"


def detach_staged(dbapi_conn: Any, record: Any) -> None:
    """Pool check-in hook: detach the staging databases _stage attached, now the transaction is over."""
    for name in record.info.pop(STAGED, []):
        dbapi_conn.execute(f"DETACH DATABASE {name}")


def lookup(session: Session, sql: str, keys: Sequence[Any], *, chunk: int = 30_000) -> list[Any]:
    """Run sql (containing '{keys}' for a bound IN list) over keys in chunks; returns all rows."""
    from sqlalchemy import bindparam, text

    out: list[Any] = []
    stmt = text(sql.replace("{keys}", ":keys")).bindparams(bindparam("keys", expanding=True))
    for start in range(0, len(keys), chunk):
        part = list(keys[start : start + chunk])
        if part:
            out.extend(session.execute(stmt, {"keys": part}).all())
    return out
