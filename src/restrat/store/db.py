"""Engine and session factory: SQLite by default (WAL, foreign keys on), PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from restrat import config
from restrat.store.staging import detach_staged


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A bulk import inserts into several B-tree indexes at once; the 2 MB default page cache makes every insert
    # a page miss. 256 MB is a ceiling, not an allocation.
    cur.execute("PRAGMA cache_size=-262144")
    cur.execute("PRAGMA temp_store=MEMORY")
    # A big import's dirty pages stay in memory until its commit instead of being spilled to the WAL and written
    # again (about 3% of a 1M-event import); the import holds its frames in memory anyway, several times larger.
    cur.execute("PRAGMA cache_spill=OFF")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """A new engine for url (default: the configured database)."""
    url = url or config.database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", detach_staged)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The shared engine for url (default: the configured database)."""
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls everything back on any error."""
    engine = engine or get_engine()
    with session_factory(engine)() as session, session.begin():
        yield session


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    """Whether this engine or session talks to SQLite."""
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"
