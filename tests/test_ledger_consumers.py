"""Capabilities that follow the ledger see each import's rows, set-wise, inside the import's transaction."""

from __future__ import annotations

import pytest
from ledger_builders import IONIC, ROCK, out, registry_for_ledger, simple_chain, t
from sqlalchemy import func, select

from restrat.ledger import consumers
from restrat.ledger.format import read_records
from restrat.ledger.importer import import_events
from restrat.ledger.models import LedgerEvent
from restrat.store.db import session_factory

SEEN: list[consumers.Written] = []


def record(*, session, written: consumers.Written) -> None:  # type: ignore[no-untyped-def]
    SEEN.append(written)


def refuse(*, session, written: consumers.Written) -> None:  # type: ignore[no-untyped-def]
    raise ValueError("quota exhausted")


@pytest.fixture
def ledger_db(db, monkeypatch):  # type: ignore[no-untyped-def]
    SEEN.clear()
    monkeypatch.setattr(consumers, "CONSUMERS", (f"{__name__}:record",))
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
    return db


def _import(engine, events):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s, s.begin():
        return import_events(session=s, frames=read_records(events), source_name="test")


def test_consumers_receive_reo_extracted_and_processed_per_event(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    (w,) = SEEN
    ev = w.events.set_index("uid")
    assert ev.loc["X1", "reo_out_kg"] == pytest.approx(5_000) and ev.loc["X1", "quota_ref"] == "Q-R"
    assert ev.loc["X2", "reo_out_kg"] == pytest.approx(1_800)
    # Separation consumes the REO of its two shipped-in concentrates: 5,000 + 1,800 kg.
    assert ev.loc["P1", "reo_in_kg"] == pytest.approx(6_800)
    # Its outputs keep 97% of La, Ce, Pr, Nd and Dy; the other elements go to residues.
    kept = sum(5_000 * ROCK.get(e, 0) + 1_800 * IONIC.get(e, 0) for e in ("La", "Ce", "Pr", "Nd", "Dy"))
    assert ev.loc["P1", "reo_out_kg"] == pytest.approx(kept * 0.97)
    assert ev.loc["S1", "partner_facility_id"] > 0 and ev.loc["X1", "partner_facility_id"] == -1
    assert set(w.inputs["form"]) == {"concentrate"}
    assert len(w.outputs) == 7 and (w.outputs["batch_id"] > 0).all()


def test_consumers_value_batches_already_in_the_ledger(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    later = [{"event_id": "EXP1", "kind": "export", "time": t(9), "facility": "SEP", "country": "Japan",
              "licence_id": "L-1", "inputs": [{"batch": "DY", "mass_kg": 10.0}]},
             {"event_id": "X3", "kind": "extraction", "time": t(9), "facility": "MINE-R", "quota_id": "Q-R",
              "outputs": [out("C3", "concentrate", 1_000, 0.4, ROCK)]}]
    _import(ledger_db, later)
    w = SEEN[-1]
    exp = w.events.set_index("uid").loc["EXP1"]
    assert exp["reo_in_kg"] == pytest.approx(10.0) and exp["licence_ref"] == "L-1" and exp["country"] == "Japan"
    assert w.inputs["form"].tolist() == ["separated_oxide"]
    assert w.events.set_index("uid").loc["X3", "reo_out_kg"] == pytest.approx(400)


def test_a_consumer_that_refuses_rolls_the_whole_import_back(ledger_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(consumers, "CONSUMERS", (f"{__name__}:refuse",))
    with pytest.raises(ValueError, match="quota exhausted"):
        _import(ledger_db, simple_chain())
    with ledger_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LedgerEvent.__table__)).scalar_one() == 0


def test_reimporting_known_events_notifies_nobody(ledger_db) -> None:  # type: ignore[no-untyped-def]
    _import(ledger_db, simple_chain())
    _import(ledger_db, simple_chain())
    assert len(SEEN) == 1
