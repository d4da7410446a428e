"""Hashing beside the import: a forked process gives the same digests and chain as hashing in line."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from ledger_builders import registry_for_ledger, simple_chain

from restrat.errors import InputError
from restrat.ledger import hashjob
from restrat.ledger.format import read_records
from restrat.ledger.importer import canonical, import_events
from restrat.store.db import session_factory

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")


def test_a_forked_hash_job_returns_what_hashing_in_line_returns() -> None:
    frames = read_records(simple_chain())
    previous = bytes(range(32))
    job = hashjob.HashJob(lambda: canonical(frames), previous, events=len(frames))
    assert ([a.to_pylist() for a in job.result()]
            == [a.to_pylist() for a in hashjob.digest_and_chain(canonical(frames), previous)])


def test_a_failing_hash_job_says_so() -> None:
    def broken():  # type: ignore[no-untyped-def]
        raise ValueError("no canonical content")

    job = hashjob.HashJob(broken, bytes(32), events=3)
    with pytest.raises(RuntimeError, match="hashing process failed"):
        job.result()


def _head_after_imports(engine) -> str:  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s, s.begin():
        registry_for_ledger(s)
    for prefix in ("a-", "b-"):
        with session_factory(engine)() as s, s.begin():
            head = import_events(session=s, frames=read_records(simple_chain(prefix))).head_chain_hex
    return head


def test_imports_hashed_in_a_child_chain_exactly_as_in_line(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import wipe

    in_line = _head_after_imports(db)
    wipe(db)
    monkeypatch.setattr(hashjob, "IN_CHILD_FROM_EVENTS", 1)
    assert hashjob.worth_a_child(7)
    assert _head_after_imports(db) == in_line


def test_a_refused_import_stops_its_hashing_process(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(hashjob, "IN_CHILD_FROM_EVENTS", 1)
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
    bad = simple_chain()
    bad[0]["facility"] = "NOWHERE"
    with pytest.raises(InputError), session_factory(db)() as s, s.begin():
        import_events(session=s, frames=read_records(bad))
    assert not [p for p in mp.active_children() if p.name == "restrat-hash"]
