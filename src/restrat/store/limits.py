"""Row caps and time limits for interactive (web and API) reads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from restrat import config


def capped(limit: int | None) -> int:
    """The row limit to use: the caller's, never above the configured cap."""
    cap = config.query_row_cap()
    if limit is None or limit <= 0:
        return cap
    return min(limit, cap)


@contextmanager
def time_limit(session: Session, *, ms: int | None = None) -> Iterator[None]:
    """Cancel any statement of session that runs past ms milliseconds (PostgreSQL: statement_timeout;
    SQLite: a progress handler that interrupts the query)."""
    ms = ms or config.query_time_limit_ms()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL statement_timeout = {int(ms)}"))
        yield
        return
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + ms / 1000

    def _check() -> int:
        return 1 if time.monotonic() > deadline else 0

    raw.set_progress_handler(_check, 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)
