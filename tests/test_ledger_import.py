"""Ledger import: validation that names row, field and rule; atomicity; idempotence; formats; lineage; balances."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ledger_builders import IONIC, ROCK, out, registry_for_ledger, simple_chain, t
from sqlalchemy import func, select, text

from restrat.errors import InputError
from restrat.ledger import service
from restrat.ledger.format import ARROW_SCHEMA, read_events, read_records
from restrat.ledger.importer import import_events
from restrat.ledger.models import LedgerBatch, LedgerEvent, LedgerInput
from restrat.store import staging
from restrat.store.db import session_factory


@pytest.fixture
def ledger_db(db):  # type: ignore[no-untyped-def]
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
    return db


def _import(engine, events, source="test"):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s, s.begin():
        return import_events(session=s, frames=read_records(events), source_name=source)


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


def test_a_valid_chain_is_written_with_its_batches_and_inputs(ledger_db) -> None:  # type: ignore[no-untyped-def]
    r = _import(ledger_db, simple_chain())
    assert (r.events_new, r.events_skipped, r.batches_new) == (7, 0, 7)
    assert _count(ledger_db, LedgerEvent) == 7 and _count(ledger_db, LedgerBatch) == 7
    assert _count(ledger_db, LedgerInput) == 4


def test_reimporting_the_same_events_changes_nothing(ledger_db) -> None:  # type: ignore[no-untyped-def]
    first = _import(ledger_db, simple_chain())
    again = _import(ledger_db, simple_chain())
    assert (again.events_new, again.events_skipped) == (0, 7)
    assert again.head_chain_hex == first.head_chain_hex
    assert _count(ledger_db, LedgerEvent) == 7


def test_an_event_id_reused_with_different_content_is_refused(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    changed = simple_chain()
    changed[0]["quota_id"] = "OTHER"
    with pytest.raises(InputError) as info:
        _import(ledger_db, changed)
    assert (info.value.problems[0].row, info.value.problems[0].field) == (1, "event_id")


def test_every_bad_event_is_reported_with_row_field_and_rule_and_nothing_is_written(ledger_db) -> None:  # type: ignore[no-untyped-def]
    ev = simple_chain()
    ev[0]["facility"] = "NOWHERE"                                   # row 1: unknown facility
    ev[1]["outputs"][0]["composition"] = {"Y": 0.5, "Dy": 0.2}      # row 2: fractions sum to 0.7
    ev[2]["inputs"][0]["batch"] = "GHOST"                           # row 3: unknown batch
    ev[4]["time"] = "yesterday"                                     # row 5: bad time
    ev[6]["outputs"][1]["form"] = "pixie_dust"                      # row 7: unknown form
    with pytest.raises(InputError) as info:
        _import(ledger_db, ev)
    found = {(p.row, p.field) for p in info.value.problems}
    assert {(1, "facility"), (2, "outputs.composition"), (3, "inputs.batch"), (5, "time"),
            (7, "outputs.form")} <= found
    assert _count(ledger_db, LedgerEvent) == 0 and _count(ledger_db, LedgerBatch) == 0


def test_consuming_a_batch_before_it_was_produced_is_refused(ledger_db) -> None:  # type: ignore[no-untyped-def]
    ev = simple_chain()
    ev[2]["time"] = t(-1)
    with pytest.raises(InputError, match="consumed before the event that produced it"):
        _import(ledger_db, ev)


def test_a_shipment_cannot_change_the_mass_it_moves(ledger_db) -> None:  # type: ignore[no-untyped-def]
    ev = simple_chain()
    ev[2]["outputs"][0]["mass_kg"] = 12_000
    with pytest.raises(InputError) as info:
        _import(ledger_db, ev)
    assert info.value.problems[0].field == "outputs.mass_kg" and info.value.problems[0].row == 3


def test_events_may_reference_batches_from_an_earlier_import(ledger_db) -> None:  # type: ignore[no-untyped-def]
    chain = simple_chain()
    _import(ledger_db, chain[:2])
    r = _import(ledger_db, chain)
    assert (r.events_new, r.events_skipped) == (5, 2)


def test_truthful_but_irregular_records_are_accepted(ledger_db) -> None:  # type: ignore[no-untyped-def]
    ev = simple_chain()
    ev[6]["outputs"][1]["mass_kg"] = 5_000  # far more Dy out than in: accepted, left to the anomaly scan
    assert _import(ledger_db, ev).events_new == 7


def _write_formats(tmp_path, events):  # type: ignore[no-untyped-def]
    jsonl = tmp_path / "ev.jsonl"
    jsonl.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    parquet = tmp_path / "ev.parquet"
    pq.write_table(pa.Table.from_pylist(events, schema=ARROW_SCHEMA), parquet)
    csv = tmp_path / "ev.csv"
    rows = [{k: (json.dumps(v) if isinstance(v, list | dict) else v) for k, v in e.items()} for e in events]
    pd.DataFrame(rows).to_csv(csv, index=False)
    return jsonl, parquet, csv


def test_jsonl_parquet_and_csv_give_the_same_chain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from restrat.ledger.chain import digests
    from restrat.ledger.importer import canonical

    heads = set()
    for path in _write_formats(tmp_path, simple_chain()):
        heads.add(tuple(digests(canonical(read_events(path)))))
    assert len(heads) == 1


def test_a_malformed_jsonl_line_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps(e) for e in simple_chain()]
    lines[3] = lines[3].replace('"kind"', '"knid"')
    path.write_text("\n".join(lines))
    with pytest.raises(InputError) as info:
        read_events(path)
    assert info.value.problems[0].row == 4 and info.value.problems[0].field == "knid"


def test_lineage_of_a_blended_oxide_is_proportional_per_element(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    with session_factory(ledger_db)() as s:
        dy = service.trace(session=s, batch="DY", direction="up")
        prnd = service.trace(session=s, batch="PRND", direction="up")
    mines = {r["mine"]: r for r in dy["origin"]["by_mine"]}
    assert set(mines) == {"MINE-I"} and mines["MINE-I"]["share"] == pytest.approx(1.0)
    shares = {r["mine"]: r["share_by_element"] for r in prnd["origin"]["by_mine"]}
    rock_nd, ionic_nd = 5_000 * ROCK["Nd"], 1_800 * IONIC["Nd"]
    assert shares["MINE-R"]["Nd"] == pytest.approx(rock_nd / (rock_nd + ionic_nd), rel=1e-5)
    assert shares["MINE-I"]["Pr"] == pytest.approx(1_800 * IONIC["Pr"] / (5_000 * ROCK["Pr"] + 1_800 * IONIC["Pr"]),
                                                   rel=1e-5)
    ore = {r["ore_type"]: r["share"] for r in prnd["origin"]["by_ore_type"]}
    assert ore["rock"] > ore["ionic"] > 0


def test_downstream_trace_accounts_for_every_kg(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    with session_factory(ledger_db)() as s:
        down = service.trace(session=s, batch="C2", direction="down")
    total = sum(d["reo_kg"] for d in down["destinations"])
    assert total == pytest.approx(1_800, rel=1e-5)
    out_reo = sum(o["mass_kg"] * o["reo_grade"] for o in simple_chain()[6]["outputs"])
    loss = next(d for d in down["destinations"] if d["destination"].startswith("process loss"))
    assert loss["reo_kg"] == pytest.approx(1_800 * (1 - out_reo / 6_800), rel=1e-6)


def test_facility_balance_closes_per_element(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    with session_factory(ledger_db)() as s:
        b = service.balance(session=s, facility="SEP", start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 1))
    for row in b["elements"]:
        closing = (row["opening_kg"] + row["received_kg"] + row["produced_kg"] - row["processed_kg"]
                   - row["shipped_kg"])
        assert closing == pytest.approx(row["closing_kg"], abs=1e-6)
    dy = next(r for r in b["elements"] if r["element"] == "Dy")
    assert dy["process_loss_kg"] == pytest.approx(1_800 * IONIC["Dy"] * 0.03, rel=1e-4)


def test_national_flows_follow_the_chain(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    with session_factory(ledger_db)() as s:
        flows = service.flows(session=s, year=2025)
    links = {(r.source, r.target): r.reo_t for r in flows.itertuples()}
    assert links[("deposits", "mining")] == pytest.approx(6.8)
    assert links[("mining", "separation")] == pytest.approx(6.8)
    out_reo = sum(o["mass_kg"] * o["reo_grade"] for o in simple_chain()[6]["outputs"]) / 1000
    assert links[("separation", "process losses")] == pytest.approx(6.8 - out_reo, rel=1e-6)


def test_stock_count_is_checked_against_the_book(ledger_db) -> None:  # type: ignore[no-untyped-def]
    ev = simple_chain() + [{"event_id": "K1", "kind": "stock_count", "time": t(4), "facility": "SEP",
                            "stock_reo_kg": 6000.0}]
    _import(ledger_db, ev)
    with session_factory(ledger_db)() as s:
        b = service.balance(session=s, facility="SEP", start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 1))
    count = b["stock_counts"][0]
    out_reo = sum(o["mass_kg"] * o["reo_grade"] for o in simple_chain()[6]["outputs"])
    assert count["book_reo_kg"] == pytest.approx(out_reo, rel=1e-6)
    assert count["difference_reo_kg"] == pytest.approx(6000 - out_reo, rel=1e-6)


def test_receipt_must_reference_a_shipment(ledger_db) -> None:  # type: ignore[no-untyped-def]
    ev = simple_chain()
    ev[4]["shipment_event"] = "X1"
    with pytest.raises(InputError, match="must reference a shipment"):
        _import(ledger_db, ev)


def test_corrections_are_new_events_referencing_what_they_correct(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    _import(ledger_db, [{"event_id": "FIX1", "kind": "correction", "time": t(5), "facility": "SEP",
                         "corrects": "R1", "note": "received mass re-weighed: 9,990 kg"}])
    with ledger_db.connect() as conn:
        ref = conn.execute(text("SELECT r.uid FROM ledger_event e JOIN ledger_event r ON r.id = e.ref_event_id "
                                "WHERE e.uid = 'FIX1'")).scalar_one()
    assert ref == "R1"


def test_import_output_batch_lands_at_the_shipment_destination(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    with ledger_db.connect() as conn:
        where = conn.execute(text("SELECT f.code FROM ledger_batch b JOIN facility f ON f.id = b.facility_id "
                                  "WHERE b.code = 'C1T'")).scalar_one()
    assert where == "SEP"


def test_outputs_need_a_unique_new_code(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    dup = [{"event_id": "X9", "kind": "extraction", "time": t(9), "facility": "MINE-R",
            "outputs": [out("C1", "concentrate", 100, 0.5, ROCK)]}]
    with pytest.raises(InputError, match="already in the ledger"):
        _import(ledger_db, dup)


def test_times_with_and_without_zones_read_as_utc_seconds_and_bad_ones_are_marked() -> None:
    import numpy as np

    from restrat.ledger.format import _epoch_seconds

    fast = _epoch_seconds(pa.chunked_array([["2025-01-01T08:00:00+08:00", None, "2025-01-01 00:00:00Z"]]))
    slow = _epoch_seconds(pa.chunked_array([["2025-01-01T00:00:00", "2025-01-01T00:00:00.9Z", "31/12/2024"]]))
    bad = np.iinfo(np.int64).min
    assert fast.tolist() == [1735689600, bad, 1735689600]
    assert slow.tolist() == [1735689600, 1735689600, bad]


def test_an_import_written_through_staging_files_verifies_and_stores_what_a_row_by_row_import_stores(
        ledger_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    _import(ledger_db, simple_chain("a-"))
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 10**9)
    _import(ledger_db, simple_chain("b-"))
    with session_factory(ledger_db)() as s:
        check = service.verify(session=s)
        assert check.ok and check.events_checked == 14
        rows = {prefix: s.execute(text(
            "SELECT substr(e.uid, 3), e.kind, e.facility_id, e.partner_facility_id, e.at_epoch_s, e.declared_kg, "
            "e.declared_comp, e.quota_ref, e.licence_ref, e.country, e.note, substr(b.code, 3), b.form, b.gross_kg, "
            "b.reo_kg, b.comp, b.facility_id FROM ledger_event e LEFT JOIN ledger_batch b ON b.event_id = e.id "
            "WHERE e.uid LIKE :p ORDER BY e.id, b.id"), {"p": prefix + "%"}).all() for prefix in ("a-", "b-")}
        inputs = {prefix: s.execute(text(
            "SELECT substr(e.uid, 3), substr(b.code, 3), i.kg FROM ledger_input i JOIN ledger_event e "
            "ON e.id = i.event_id JOIN ledger_batch b ON b.id = i.batch_id WHERE e.uid LIKE :p ORDER BY i.id"),
            {"p": prefix + "%"}).all() for prefix in ("a-", "b-")}
    assert len(rows["a-"]) == 9 and rows["a-"] == rows["b-"]  # 7 events, one row per batch each produced
    assert len(inputs["a-"]) == 4 and inputs["a-"] == inputs["b-"]
