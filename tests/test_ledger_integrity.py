"""Tamper evidence and concurrency: verify finds edits, deletions and reordering; concurrent importers on SQLite
and PostgreSQL lose nothing and duplicate nothing."""

from __future__ import annotations

import multiprocessing as mp
import threading

import pytest
from ledger_builders import registry_for_ledger, simple_chain
from sqlalchemy import text

from restrat.ledger import service
from restrat.ledger.format import read_records
from restrat.ledger.importer import import_events
from restrat.store.db import make_engine, session_factory


@pytest.fixture
def filled(db):  # type: ignore[no-untyped-def]
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
    for prefix in ("a-", "b-", "c-"):
        with session_factory(db)() as s, s.begin():
            import_events(session=s, frames=read_records(simple_chain(prefix)))
    return db


def _verify(engine):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        return service.verify(session=s)


def _sql(engine, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_an_untouched_ledger_verifies(filled) -> None:  # type: ignore[no-untyped-def]
    result = _verify(filled)
    assert result.ok and result.events_checked == 21


def test_editing_an_event_is_found_at_that_event(filled) -> None:  # type: ignore[no-untyped-def]
    _sql(filled, "UPDATE ledger_event SET declared_kg = 9000 WHERE uid = 'b-R1'")
    result = _verify(filled)
    assert not result.ok and result.first_bad_uid == "b-R1" and "content altered" in result.problem


def test_editing_a_batch_is_found_at_the_event_that_produced_it(filled) -> None:  # type: ignore[no-untyped-def]
    _sql(filled, "UPDATE ledger_batch SET gross_kg = gross_kg * 2 WHERE code = 'b-C2'")
    result = _verify(filled)
    assert not result.ok and result.first_bad_uid == "b-X2"


def test_editing_a_consumed_quantity_is_found_at_the_consuming_event(filled) -> None:  # type: ignore[no-untyped-def]
    _sql(filled, "UPDATE ledger_input SET kg = 1 WHERE event_id = (SELECT id FROM ledger_event WHERE uid = 'c-P1')")
    result = _verify(filled)
    assert not result.ok and result.first_bad_uid == "c-P1"


def test_deleting_an_event_is_found(filled) -> None:  # type: ignore[no-untyped-def]
    _sql(filled, "DELETE FROM ledger_event WHERE uid = 'a-R2'")
    result = _verify(filled)
    assert not result.ok and "missing" in result.problem


def test_deleting_the_last_event_is_found_against_the_head(filled) -> None:  # type: ignore[no-untyped-def]
    _sql(filled, "DELETE FROM ledger_event WHERE id = (SELECT MAX(id) FROM ledger_event)")
    result = _verify(filled)
    assert not result.ok and "head" in result.problem


def test_reordering_two_events_breaks_the_chain(filled) -> None:  # type: ignore[no-untyped-def]
    with filled.begin() as conn:
        a, b = (conn.execute(text("SELECT id FROM ledger_event WHERE uid = :u"), {"u": u}).scalar_one()
                for u in ("b-X1", "b-X2"))
        conn.execute(text("UPDATE ledger_event SET id = -1 WHERE id = :a"), {"a": a})
        conn.execute(text("UPDATE ledger_event SET id = :a WHERE id = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE ledger_event SET id = :b WHERE id = -1"), {"b": b})
    result = _verify(filled)
    assert not result.ok and result.first_bad_event_id == a


def test_rewriting_a_digest_to_hide_an_edit_still_breaks_the_chain(filled) -> None:  # type: ignore[no-untyped-def]
    from restrat.ledger import verify as verify_module

    _sql(filled, "UPDATE ledger_event SET declared_kg = 9000 WHERE uid = 'b-R1'")
    with session_factory(filled)() as s:
        bad = verify_module.verify(session=s)
    assert bad.first_bad_uid == "b-R1"
    # The attacker recomputes the digest of the edited event, but cannot fix the chain without rewriting every
    # later link and the published head.
    import hashlib

    with filled.begin() as conn:
        row = conn.execute(text("SELECT id, digest FROM ledger_event WHERE uid = 'b-R1'")).one()
        conn.execute(text("UPDATE ledger_event SET digest = :d WHERE id = :i"),
                     {"d": hashlib.sha256(b"forged").digest(), "i": row[0]})
    result = _verify(filled)
    assert not result.ok and result.first_bad_uid == "b-R1"


def _thread_import(url: str, events: list[dict], errors: list[BaseException]) -> None:
    try:
        engine = make_engine(url)
        with session_factory(engine)() as s, s.begin():
            import_events(session=s, frames=read_records(events), source_name="thread")
        engine.dispose()
    except BaseException as e:  # noqa: BLE001 - reported to the test
        errors.append(e)


def _url(engine) -> str:  # type: ignore[no-untyped-def]
    return engine.url.render_as_string(hide_password=False)


def test_concurrent_importers_in_threads_lose_nothing_and_duplicate_nothing(db) -> None:  # type: ignore[no-untyped-def]
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
    jobs = [simple_chain(f"t{i}-") for i in range(6)] + [simple_chain("same-")] * 3
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_thread_import, args=(_url(db), ev, errors)) for ev in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    with db.connect() as conn:
        n, distinct = conn.execute(text("SELECT COUNT(*), COUNT(DISTINCT uid) FROM ledger_event")).one()
        ids = conn.execute(text("SELECT MIN(id), MAX(id) FROM ledger_event")).one()
    assert n == distinct == 7 * 7
    assert tuple(ids) == (1, 49)
    assert _verify(db).ok


def _process_import(url: str, prefix: str) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from ledger_builders import simple_chain as chain

    engine = make_engine(url)
    with session_factory(engine)() as s, s.begin():
        import_events(session=s, frames=read_records(chain(prefix)), source_name="process")
    engine.dispose()


def test_concurrent_importers_in_processes_lose_nothing(db) -> None:  # type: ignore[no-untyped-def]
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_process_import, args=(_url(db), p)) for p in ("p1-", "p2-", "p3-", "p1-")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with db.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM ledger_event")).scalar_one()
    assert n == 21
    assert _verify(db).ok
