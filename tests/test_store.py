"""Store: migrations up and down, batched bulk inserts, query time limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from restrat.store import bulk, migrate, staging
from restrat.store.bulk import MAX_BOUND_PARAMETERS, add_rows, insert_rows
from restrat.store.db import make_engine, session_factory
from restrat.store.limits import capped, time_limit

EXPECTED_TABLES = {"element", "element_class", "chain_stage", "product_form", "hs_code", "country_production",
                   "country_reserves", "enterprise_group", "enterprise", "group_membership", "facility",
                   "quota_national", "quota_group", "app_user", "api_token", "audit_log", "app_setting"}


def test_migrations_create_every_table(db) -> None:  # type: ignore[no-untyped-def]
    assert set(migrate.table_names(engine=db)) >= EXPECTED_TABLES
    assert migrate.current_revision(engine=db) is not None


def test_migrations_downgrade_to_empty_and_upgrade_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine=eng)
    migrate.downgrade(engine=eng)
    assert set(migrate.table_names(engine=eng)) <= {"alembic_version"}
    migrate.upgrade(engine=eng)
    assert set(migrate.table_names(engine=eng)) >= EXPECTED_TABLES


def test_postgres_migrations_downgrade_and_upgrade(pg_url) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(pg_url)
    scratch = f"scratch_{id(eng)}"
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    sub = make_engine(pg_url.rsplit("/", 1)[0] + f"/{scratch}")
    try:
        migrate.upgrade(engine=sub)
        migrate.downgrade(engine=sub)
        assert set(migrate.table_names(engine=sub)) <= {"alembic_version"}
        migrate.upgrade(engine=sub)
        assert set(migrate.table_names(engine=sub)) >= EXPECTED_TABLES
    finally:
        sub.dispose()
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE "{scratch}"'))
        eng.dispose()


def test_sqlite_database_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_bulk_insert_splits_batches_beyond_the_bound_parameter_limit(db) -> None:  # type: ignore[no-untyped-def]
    meta = MetaData()
    table = Table("bulk_probe", meta, Column("id", Integer, primary_key=True), Column("a", Integer),
                  Column("b", Text))
    meta.create_all(db)
    try:
        n = MAX_BOUND_PARAMETERS  # 3 columns: three times the limit in bound values
        rows = [{"id": i, "a": i * 2, "b": f"r{i}"} for i in range(n)]
        with session_factory(db)() as s, s.begin():
            assert insert_rows(s, table, rows) == n
        with db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(table)).scalar() == n
            assert conn.execute(select(func.sum(table.c.a))).scalar() == sum(r["a"] for r in rows)
    finally:
        meta.drop_all(db)


def _as_columns(names: tuple[str, ...], rows: list[tuple]) -> dict[str, list]:
    return dict(zip(names, (list(c) for c in zip(*rows, strict=True)), strict=True))


@pytest.mark.parametrize("stage_min_rows", [1, 10**9], ids=["staged", "bound"])
def test_add_rows_inserts_new_keys_and_adds_to_existing_totals_within_one_transaction(
        db, monkeypatch, stage_min_rows) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", stage_min_rows)
    meta = MetaData()
    table = Table("totals_probe", meta, Column("id", Integer, primary_key=True), Column("k", Integer, nullable=False),
                  Column("form", Text, nullable=False), Column("kg", Float, nullable=False),
                  Column("n", Integer, nullable=False), UniqueConstraint("k", "form"))
    meta.create_all(db)
    try:
        keys, values = ("k", "form"), ("kg", "n")
        names = keys + values
        with session_factory(db)() as s, s.begin():
            add_rows(s.connection(), "totals_probe", keys, values,
                     _as_columns(names, [(1, "oxide", 2.5, 1), (2, "ore", 1.0, 1)]))
            add_rows(s.connection(), "totals_probe", keys, values,
                     {"k": np.array([1, 3]), "form": ["oxide", "ore"], "kg": np.array([0.5, 4.0]), "n": [1, 1]})
        with session_factory(db)() as s, s.begin():
            add_rows(s.connection(), "totals_probe", keys, values, _as_columns(names, [(2, "ore", 1.0, 1)]))
        with db.connect() as conn:
            got = conn.execute(select(table.c.k, table.c.form, table.c.kg, table.c.n).order_by(table.c.k)).all()
        assert [tuple(r) for r in got] == [(1, "oxide", 3.0, 2), (2, "ore", 2.0, 2), (3, "ore", 4.0, 1)]
    finally:
        meta.drop_all(db)


def test_interactive_queries_are_cancelled_at_the_time_limit(db) -> None:  # type: ignore[no-untyped-def]
    slow = ("SELECT pg_sleep(3)" if db.dialect.name == "postgresql" else
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
            "SELECT count(*) FROM c")
    with session_factory(db)() as s, pytest.raises(DBAPIError), time_limit(s, ms=100):
        s.execute(text(slow)).all()


def test_row_cap_never_exceeds_the_configured_maximum(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RESTRAT_ROW_CAP", "500")
    assert capped(10) == 10
    assert capped(10_000) == 500
    assert capped(None) == 500


def _probe_columns(n: int) -> dict[str, object]:
    rng = np.random.default_rng(7)
    kg = rng.lognormal(3, 4, n)
    kg[:4] = [0.1 + 0.2, 1e-300, 2.0**60 + 1, -0.0]
    return {"id": np.arange(1, n + 1), "kg": kg,
            "code": np.array([f"B-{i}" if i % 3 else None for i in range(n)], dtype=object),
            "comp": [rng.random(17).astype("<f4").tobytes() if i % 5 else None for i in range(n)],
            "big": np.full(n, 2**62 + 3),
            "at": [dt.datetime(2026, 12, 5, 21, 0, i % 60, (i * 7919) % 1_000_000) if i else None for i in range(n)]}


def _probe_rows(db, table: Table) -> list[tuple]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]


def test_a_large_sqlite_write_through_a_staging_file_stores_exactly_what_binding_row_by_row_stores(
        tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    meta = MetaData()
    tables = [Table(name, meta, Column("id", Integer, primary_key=True), Column("kg", Float), Column("code", Text),
                    Column("comp", LargeBinary), Column("big", BigInteger), Column("at", DateTime))
              for name in ("staged", "bound")]
    meta.create_all(db)
    columns = _probe_columns(3_000)
    for table, threshold in zip(tables, (1, 10**9), strict=True):
        monkeypatch.setattr(staging, "STAGE_MIN_ROWS", threshold)
        with session_factory(db)() as s, s.begin():
            assert bulk.write_columns(s, table.name, columns) == 3_000
    staged, bound = (_probe_rows(db, t) for t in tables)
    assert staged == bound and len(staged) == 3_000
    assert [r[1] for r in staged] == columns["kg"].tolist()  # floats bit for bit
    assert staged[0][2] is None and staged[0][3] is None and staged[1][3] == columns["comp"][1]
    assert [r[5] for r in staged] == columns["at"]


def test_a_rolled_back_staged_write_leaves_nothing_and_each_staging_file_is_detached_when_the_connection_returns(
        tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    meta = MetaData()
    table = Table("probe", meta, Column("id", Integer, primary_key=True), Column("kg", Float), Column("code", Text),
                  Column("comp", LargeBinary), Column("big", BigInteger), Column("at", DateTime))
    meta.create_all(db)
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    # more rounds than SQLite's default limit of ten attached databases
    for _ in range(12):
        with pytest.raises(RuntimeError), session_factory(db)() as s, s.begin():
            bulk.write_columns(s, "probe", _probe_columns(50))
            raise RuntimeError("validation failed after the write")
    with session_factory(db)() as s, s.begin():
        bulk.write_columns(s, "probe", _probe_columns(50))
    assert len(_probe_rows(db, table)) == 50
    with db.connect() as conn:
        assert {r[1] for r in conn.exec_driver_sql("PRAGMA database_list")} <= {"main", "temp"}


@pytest.mark.parametrize("stage_min_rows", [1, 10**9], ids=["staged", "bound"])
def test_write_columns_reads_back_exactly_what_was_written_including_nulls_empty_text_and_float_bits(
        db, monkeypatch, stage_min_rows) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", stage_min_rows)
    meta = MetaData()
    table = Table("exact_probe", meta, Column("id", Integer, primary_key=True), Column("kg", Float),
                  Column("code", Text), Column("comp", LargeBinary), Column("big", BigInteger),
                  Column("at", DateTime))
    meta.create_all(db)
    try:
        columns = _probe_columns(2_000)
        columns["code"][3] = ""  # an empty string is not NULL
        columns["code"][6] = 'quote " and, comma\nnewline \\x00'
        columns["comp"][10] = b""
        with session_factory(db)() as s, s.begin():
            assert bulk.write_columns(s, "exact_probe", columns) == 2_000
        got = _probe_rows(db, table)
        assert [r[1] for r in got] == columns["kg"].tolist()
        assert [r[2] for r in got] == list(columns["code"])
        assert [None if r[3] is None else bytes(r[3]) for r in got] == list(columns["comp"])
        assert [r[4] for r in got] == columns["big"].tolist() and [r[5] for r in got] == columns["at"]
    finally:
        meta.drop_all(db)


def test_a_staging_file_is_written_beside_the_database_and_gone_once_attached(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    here = tmp_path / "data"
    here.mkdir()
    db = make_engine(f"sqlite:///{here / 'b.db'}")
    meta = MetaData()
    Table("probe", meta, Column("id", Integer, primary_key=True), Column("kg", Float))
    meta.create_all(db)
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    seen: list[list[str]] = []
    real = staging._write_file

    def spy(columns, where):  # type: ignore[no-untyped-def]
        tmp = real(columns, where)
        seen.append(sorted(p.name for p in here.iterdir()))
        return tmp

    monkeypatch.setattr(staging, "_write_file", spy)
    with session_factory(db)() as s, s.begin():
        bulk.write_columns(s, "probe", {"id": np.arange(1, 101), "kg": np.ones(100)})
    assert any(name.startswith("restrat-stage-") for name in seen[0])
    assert not [p for p in here.iterdir() if p.name.startswith("restrat-stage-")]
