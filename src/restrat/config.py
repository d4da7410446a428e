"""Runtime settings read from the environment (RESTRAT_*)."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "sqlite:///restrat.db"


def database_url() -> str:
    """The database URL: RESTRAT_DATABASE_URL, else an SQLite file restrat.db in the working directory."""
    return os.environ.get("RESTRAT_DATABASE_URL", DEFAULT_DATABASE_URL)


def query_row_cap() -> int:
    """Most rows one web or API read returns."""
    return int(os.environ.get("RESTRAT_ROW_CAP", "1000"))


def query_time_limit_ms() -> int:
    """Longest a web or API read may run before it is cancelled."""
    return int(os.environ.get("RESTRAT_QUERY_TIMEOUT_MS", "5000"))
