"""Staging files: many rows into SQLite without Python binding them one value at a time.

Python's sqlite3 binds each value of each row through the interpreter; on a wide row that is four fifths of an
insert's cost. Here the columns go as Arrow arrays into a scratch SQLite file through the ADBC driver, which binds
them in C with the GIL released (so the caller goes on meanwhile, on a background thread), and the caller's own
connection copies them in with one INSERT ... SELECT inside its own transaction. The file is written beside the
database and unlinked as soon as it is attached; SQLite refuses to DETACH a database that a transaction has read,
so the pool detaches it when the connection is returned (`detach_staged`, registered in store.db)."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import adbc_driver_sqlite.dbapi as adbc_sqlite
import numpy as np
import pyarrow as pa
from sqlalchemy import Connection

# Below this many rows a staging file costs more than binding the rows one by one.
STAGE_MIN_ROWS = 20_000
# SQLite attaches at most 10 databases to a connection; a transaction that stages more binds the rest.
MAX_STAGED = 8
# The pool's per-connection info key listing the staging databases reserved on that connection.
STAGED = "restrat_staged"

_names = itertools.count(1)
_workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="restrat-stage")

Columns = Mapping[str, Sequence[Any] | np.ndarray | pa.Array]


def worth_staging(conn: Connection, rows: int) -> bool:
    """Whether rows this many are better staged than bound, on this connection now."""
    return (conn.dialect.name == "sqlite" and rows >= STAGE_MIN_ROWS
            and len(conn.connection.info.get(STAGED, ())) < MAX_STAGED)


def as_arrow(values: Sequence[Any] | np.ndarray | pa.Array) -> pa.Array:
    """A column as an Arrow array (None is NULL; datetimes become the text SQLAlchemy stores on SQLite)."""
    if isinstance(values, pa.Array):
        return values
    if isinstance(values, np.ndarray) and values.dtype != object:
        return pa.array(values)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if isinstance(next((v for v in items if v is not None), None), dt.datetime):
        items = [v.isoformat(" ") if v is not None else None for v in items]
    return pa.array(items)


def _scratch_dir(conn: Connection) -> str | None:
    """Beside the database file, whose disk holds the rows anyway (a small /tmp may not); None for a database in
    memory (the system's temporary directory)."""
    for _seq, name, path in conn.connection.dbapi_connection.execute("PRAGMA database_list"):
        if name == "main" and path:
            return os.path.dirname(path)
    return None


def _write_file(columns: Columns, where: str | None) -> tempfile.TemporaryDirectory[str]:
    data = pa.table({k: as_arrow(v) for k, v in columns.items()})
    tmp = tempfile.TemporaryDirectory(prefix="restrat-stage-", dir=where)
    try:
        with adbc_sqlite.connect(os.path.join(tmp.name, "stage.db"), autocommit=True) as db, db.cursor() as cur:
            # a scratch file: nothing to recover after a crash
            cur.execute("PRAGMA journal_mode=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.adbc_ingest("rows", data, mode="create")
    except BaseException:
        tmp.cleanup()
        raise
    return tmp


class Staged:
    """Rows being written to a staging file on a background thread; `table(conn)` waits for them."""

    def __init__(self, conn: Connection, columns: Columns) -> None:
        self.name = f"restrat_stage_{next(_names)}"
        conn.connection.info.setdefault(STAGED, []).append(self.name)
        self._file = _workers.submit(_write_file, columns, _scratch_dir(conn))

    def table(self, conn: Connection) -> str:
        """Attach the staged rows to conn (SQLite, inside its transaction); the table to SELECT them from."""
        tmp = self._file.result()
        try:
            conn.connection.dbapi_connection.execute(f"ATTACH DATABASE ? AS {self.name}",
                                                     (os.path.join(tmp.name, "stage.db"),))
        finally:
            tmp.cleanup()
        return f"{self.name}.rows"

    def discard(self) -> None:
        """Drop the staged rows unread (the write they were for was abandoned)."""
        # the write is abandoned already: an error staging it is not the caller's
        with contextlib.suppress(Exception):
            self._file.result().cleanup()


def detach_staged(dbapi_conn: Any, record: Any) -> None:
    """Pool check-in hook: detach the staging databases attached during the transaction that just ended."""
    reserved = record.info.pop(STAGED, [])
    if reserved:
        attached = {row[1] for row in dbapi_conn.execute("PRAGMA database_list")}
        for name in reserved:
            if name in attached:
                dbapi_conn.execute(f"DETACH DATABASE {name}")
