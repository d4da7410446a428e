"""Quota use from the ledger: the arithmetic, the import hook, the catch-up from the ledger tables, and exact
balances with the crossing event flagged once under concurrent writers (threads and processes, SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading

import numpy as np
import pandas as pd
import pytest
from ledger_builders import registry_for_ledger, simple_chain
from sqlalchemy import Engine, text

from restrat.ledger import consumers
from restrat.ledger.format import read_records
from restrat.ledger.importer import import_events
from restrat.quota import consumption, service
from restrat.store.db import make_engine, session_factory

JAN = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp())


def _events(ids: list[int], facility: int, kind: str, reo_kg: float) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"event_id": ids, "facility_id": [facility] * n, "kind": [kind] * n,
                         "at_epoch_s": [JAN + i for i in ids], "reo_in_kg": [reo_kg] * n, "reo_out_kg": [reo_kg] * n})


def test_extraction_uses_reo_out_and_separation_processing_uses_reo_in() -> None:
    ev = pd.DataFrame({"event_id": [1, 2, 3, 4], "facility_id": [10, 20, 30, 10],
                       "kind": ["extraction", "processing", "processing", "shipment"],
                       "at_epoch_s": [JAN] * 4, "reo_in_kg": [0.0, 7.5, 9.0, 3.0], "reo_out_kg": [4.25, 7.0, 8.0, 3.0]})
    stage = pd.Series({10: "mining", 20: "separation", 30: "metal"})
    use = consumption.per_event(ev, stage)
    assert use[["event_id", "kind", "grams", "year"]].values.tolist() == [
        [1, "mining", 4250, 2025], [2, "smelting_separation", 7500, 2025]]


def test_the_first_event_whose_running_total_passes_the_limit_is_the_crossing_one() -> None:
    use = pd.DataFrame({"event_id": [5, 6, 7, 8], "facility_id": 1, "year": 2025, "kind": "mining",
                        "at_epoch_s": [1, 2, 3, 4], "grams": [1000, 1000, 1000, 500]})
    totals = consumption.deltas(use).assign(used_g=11_500, limit_kg=10.0)
    found = consumption.crossings(use, totals)
    # Stored 8,000 g before this write; 9,000, 10,000 (not over), then 11,000 > 10,000 g: event 7.
    assert found["event_id"].tolist() == [7] and found["infraction"].tolist() == ["over_quota"]
    assert consumption.crossings(use, totals.assign(used_g=3500)).empty
    none = consumption.crossings(use, totals.assign(limit_kg=np.nan))
    assert none["event_id"].tolist() == [5] and none["infraction"].tolist() == ["no_quota"]


def test_which_penalty_provisions_apply_is_a_query_on_the_date() -> None:
    def provisions(day: dt.date) -> set[tuple[str, str]]:
        return set(zip(service.rules_on(day)["infraction"], service.rules_on(day)["consequence"], strict=True))

    assert provisions(dt.date(2024, 9, 30)) == set()  # before the Regulations took effect (1 Oct 2024)
    assert provisions(dt.date(2025, 1, 10)) == {("over_quota", "fine"), ("no_quota", "fine")}
    assert provisions(dt.date(2025, 8, 1)) == {("over_quota", "fine"), ("no_quota", "fine"),
                                               ("over_quota", "next_year_reduction"),
                                               ("no_quota", "next_year_reduction")}
    # The fine range is the shipped cn_penalties.csv text of Art. 21, with its source.
    fine = service.rules_on(dt.date(2025, 1, 10)).iloc[0]
    assert fine["fine_rule"].startswith("5-10x illegal gains") and "LawRefBook" in fine["source"]


@pytest.fixture
def chain_db(db: Engine) -> Engine:
    """Registry of the small hand-built chain with a 2025 plan and quotas: rock mine 6 t, ionic mine 1 t (below its
    1.8 t extraction), separation plant 10 t."""
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
        for kind, ore, t in (("mining", "rock", 50), ("mining", "ionic", 10), ("smelting_separation", "total", 50)):
            service.issue_plan(session=s, year=2025, kind=kind, ore_type=ore, batch="all", tonnes_reo=t,
                               issued_on=dt.date(2025, 1, 5), username="test")
        service.import_allocations(session=s, username="test", rows=[
            {"code": "Q-R", "year": 2025, "kind": "mining", "ore_type": "rock", "level": "facility",
             "holder": "MINE-R", "tonnes_reo": 6},
            {"code": "Q-I", "year": 2025, "kind": "mining", "ore_type": "ionic", "level": "facility",
             "holder": "MINE-I", "tonnes_reo": 1},
            {"code": "Q-S", "year": 2025, "kind": "smelting_separation", "ore_type": "total", "level": "facility",
             "holder": "SEP", "tonnes_reo": 10}])
    return db


def _import(engine: Engine, events: list[dict]) -> None:
    with session_factory(engine)() as s, s.begin():
        import_events(session=s, frames=read_records(events), source_name="test")


def _balance(engine: Engine) -> dict[str, float]:
    with session_factory(engine)() as s:
        b = service.balances(session=s, year=2025)
    return dict(zip(b["facility"], b["used_t_reo"], strict=True))


def test_an_import_counts_its_quota_use_in_the_same_transaction(chain_db: Engine) -> None:
    _import(chain_db, simple_chain())
    assert _balance(chain_db) == pytest.approx({"MINE-R": 5.0, "MINE-I": 1.8, "SEP": 6.8})
    with session_factory(chain_db)() as s:
        found = service.infractions(session=s)
    # The ionic mine extracted 1.8 t against a 1 t quota: its extraction X2 is flagged, with Art. 21's fine range.
    assert [(f["facility"], f["event"], f["infraction"]) for f in found] == [("MINE-I", "X2", "over_quota")]
    assert "1000000-5000000" in found[0]["penalty"]
    # January 2025 is before Order No. 71 (28 Jul 2025): no next-year reduction rule applied on that date.
    assert found[0]["next_year"] == "no reduction rule in force on that date"
    assert found[0]["excess_t_reo"] == pytest.approx(0.8)


def refuse(*, session, written) -> None:  # type: ignore[no-untyped-def]
    raise RuntimeError("a later consumer refuses the import")


def test_an_import_that_fails_after_counting_leaves_no_quota_use(chain_db: Engine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "CONSUMERS", ("restrat.quota.consumption:on_import", f"{__name__}:refuse"))
    with pytest.raises(RuntimeError, match="refuses"):
        _import(chain_db, simple_chain())
    with session_factory(chain_db)() as s:
        assert s.execute(text("SELECT COUNT(*) FROM quota_usage")).scalar_one() == 0
        assert s.execute(text("SELECT COUNT(*) FROM quota_infraction")).scalar_one() == 0
        assert s.execute(text("SELECT COALESCE(MAX(last_event_id), 0) FROM quota_cursor")).scalar_one() == 0


def test_counting_from_the_ledger_catches_up_once_and_matches_the_hook(chain_db: Engine,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "CONSUMERS", ())
    _import(chain_db, simple_chain())
    assert _balance(chain_db) == {"MINE-R": 0.0, "MINE-I": 0.0, "SEP": 0.0}
    with session_factory(chain_db)() as s, s.begin():
        first = consumption.consume_from_ledger(session=s)
    with session_factory(chain_db)() as s, s.begin():
        again = consumption.consume_from_ledger(session=s)
    assert (first.events_counted, first.infractions_new) == (3, 1) and again.events_counted == 0
    assert _balance(chain_db) == pytest.approx({"MINE-R": 5.0, "MINE-I": 1.8, "SEP": 6.8})
    # With the hook back on, the next import counts its own events and nothing twice.
    monkeypatch.setattr(consumers, "CONSUMERS", ("restrat.quota.consumption:on_import",))
    _import(chain_db, simple_chain("B-"))
    assert _balance(chain_db) == pytest.approx({"MINE-R": 10.0, "MINE-I": 3.6, "SEP": 13.6})


def test_the_hook_first_counts_events_written_while_it_was_off(chain_db: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "CONSUMERS", ())
    _import(chain_db, simple_chain())
    monkeypatch.setattr(consumers, "CONSUMERS", ("restrat.quota.consumption:on_import",))
    _import(chain_db, simple_chain("B-"))
    assert _balance(chain_db) == pytest.approx({"MINE-R": 10.0, "MINE-I": 3.6, "SEP": 13.6})


def test_a_dated_change_raises_the_limit_from_its_date(chain_db: Engine) -> None:
    with session_factory(chain_db)() as s, s.begin():
        service.record_change(session=s, target="allocation", key="Q-I", tonnes_reo=3, effective_on=dt.date(2025, 1, 1),
                              reason="second batch", username="test")
    _import(chain_db, simple_chain())
    with session_factory(chain_db)() as s:
        assert service.infractions(session=s) == []
        assert service.balances(session=s, facility="MINE-I")["quota_t_reo"].tolist() == [3.0]


def _writers_setup(engine: Engine) -> int:
    with session_factory(engine)() as s, s.begin():
        registry_for_ledger(s)
        service.issue_plan(session=s, year=2025, kind="mining", ore_type="rock", batch="all", tonnes_reo=100,
                           issued_on=dt.date(2025, 1, 1), username="test")
        service.import_allocations(session=s, username="test", rows=[
            {"code": "Q-R", "year": 2025, "kind": "mining", "ore_type": "rock", "level": "facility",
             "holder": "MINE-R", "tonnes_reo": 50}])
        return int(s.execute(text("SELECT id FROM facility WHERE code = 'MINE-R'")).scalar_one())


WRITERS, EVENTS_EACH, KG = 6, 20, 0.5  # 6 x 20 x 0.5 t = 60 t against a 50 t quota


def _write(url: str, writer: int, facility: int) -> None:
    engine = make_engine(url)
    try:
        for k in range(EVENTS_EACH):
            ids = [writer * 1000 + k]
            with session_factory(engine)() as s, s.begin():
                consumption.record(session=s, events=_events(ids, facility, "extraction", KG * 1000))
    finally:
        engine.dispose()


def _check_exact(engine: Engine) -> None:
    with engine.connect() as c:
        used = c.execute(text("SELECT used_g, events FROM quota_usage")).one()
        flagged = c.execute(text("SELECT infraction, used_kg, limit_kg FROM quota_infraction")).all()
    assert used == (WRITERS * EVENTS_EACH * KG * 1_000_000, WRITERS * EVENTS_EACH)
    assert len(flagged) == 1 and flagged[0][0] == "over_quota"
    # Flagged by the write that took the total from at most 50 t to above it: 50.5 t at that moment.
    assert flagged[0][1:] == (pytest.approx(50_500.0), 50_000.0)


def test_concurrent_threads_lose_no_update_and_flag_the_crossing_once(db: Engine) -> None:
    facility = _writers_setup(db)
    url = db.url.render_as_string(hide_password=False)
    threads = [threading.Thread(target=_write, args=(url, w, facility)) for w in range(WRITERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    _check_exact(db)


def test_concurrent_processes_lose_no_update_and_flag_the_crossing_once(db: Engine) -> None:
    facility = _writers_setup(db)
    url = db.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write, args=(url, w, facility)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    _check_exact(db)


def test_the_demo_flags_each_injected_over_quota_extraction_once(demo_db: Engine) -> None:
    with session_factory(demo_db)() as s:
        found = service.infractions(session=s)
        truth = {r[0] for r in s.execute(text("SELECT uid FROM ledger_event WHERE uid LIKE 'XQ-%'")).all()}
    mining = {f["event"] for f in found if f["kind"] == "mining"}
    # Every injected over-quota extraction (XQ-*) crosses its mine's quota and is the event flagged; one a mine.
    assert mining == truth and len({f["facility"] for f in found if f["kind"] == "mining"}) == len(truth)
    assert [f["facility"] for f in found if f["kind"] == "smelting_separation"] == ["SYN-SEP-IN01"]
    assert all(f["data_status"] == "illustrative" for f in found)
