"""Fixtures: every store-touching test runs on SQLite and on a fresh PostgreSQL database.

PostgreSQL comes from RESTRAT_TEST_POSTGRES_URL (default: postgres on 127.0.0.1:5432). When no server answers,
the PostgreSQL runs are skipped with the reason shown, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from restrat.store.base import load_all_models
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade

PG_ADMIN_URL = os.environ.get("RESTRAT_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reachable() -> str | None:
    try:
        eng = make_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "no server"
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped at the end."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); set RESTRAT_TEST_POSTGRES_URL")
    name = f"restrat_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database engine, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(engine=eng)
    yield eng
    eng.dispose()


def wipe(engine: Engine) -> None:
    """Delete every row of every table (children first)."""
    tables = list(reversed(load_all_models().sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def db(engine: Engine) -> Engine:
    """An empty migrated database (SQLite and PostgreSQL)."""
    wipe(engine)
    return engine


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    """A session on an empty database; the test commits what it wants kept."""
    with session_factory(db)() as s:
        yield s


def _admin_run(sql: str) -> None:
    admin = make_engine(PG_ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))
    admin.dispose()


def _drop_pg(name: str) -> None:
    _admin_run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    _admin_run(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def demo_template(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo dataset, seeded once per database kind: an SQLite file or a PostgreSQL template database."""
    from restrat.demo.service import seed_demo

    if engine.dialect.name == "sqlite":
        target = str(tmp_path_factory.mktemp("demo") / "template.db")
        url = f"sqlite:///{target}"
    else:
        target = f"restrat_demo_{uuid.uuid4().hex[:10]}"
        _admin_run(f'CREATE DATABASE "{target}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{target}"
    eng = make_engine(url)
    upgrade(engine=eng)
    with session_factory(eng)() as s, s.begin():
        seed_demo(session=s, seed=7)
    if engine.dialect.name == "sqlite":
        with eng.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    yield target
    if engine.dialect.name != "sqlite":
        _drop_pg(target)


@pytest.fixture
def demo_db(engine: Engine, demo_template: str, tmp_path: Path) -> Iterator[Engine]:
    """A database holding the demo dataset, a fresh copy of the seeded template for each test (SQLite and
    PostgreSQL): seeding takes seconds, copying a fraction of one."""
    if engine.dialect.name == "sqlite":
        copy = tmp_path / "demo.db"
        shutil.copyfile(demo_template, copy)
        eng = make_engine(f"sqlite:///{copy}")
        yield eng
        eng.dispose()
        return
    name = f"restrat_test_{uuid.uuid4().hex[:10]}"
    _admin_run(f'CREATE DATABASE "{name}" TEMPLATE "{demo_template}"')
    eng = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield eng
    eng.dispose()
    _drop_pg(name)


@pytest.fixture
def shared_data() -> Path | None:
    """The project's data room (../shared/data) when present beside the checkout."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data"
    return path if path.is_dir() else None
