"""Alembic migrations run from inside the package, with no alembic.ini needed in the working directory.

Each capability adds its tables in its own migration branching from the ledger's revision, so capabilities
built side by side never contend for the next number; "heads" applies every branch."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from restrat.store.db import get_engine


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the shipped migrations and at url."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("restrat.store") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(*, engine: Engine | None = None, revision: str = "heads") -> None:
    """Apply migrations up to revision (default: the newest of every branch)."""
    engine = engine or get_engine()
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(*, engine: Engine | None = None, revision: str = "base") -> None:
    """Revert migrations down to revision (default: an empty database)."""
    engine = engine or get_engine()
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(*, engine: Engine | None = None) -> str | None:
    """The revisions the database is at (comma-separated, one per branch), or None if never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine = engine or get_engine()
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def table_names(*, engine: Engine | None = None) -> list[str]:
    """Tables present in the database."""
    return sorted(inspect(engine or get_engine()).get_table_names())
