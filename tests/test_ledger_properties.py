"""Property: any random valid chain imports, every facility balance closes per element, lineage attributes every
kilogram of an output to its mines, and the chain verifies."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import wipe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_builders import out, registry_for_ledger, t

from restrat.catalog.service import ELEMENTS
from restrat.ledger import service
from restrat.ledger.format import read_records
from restrat.ledger.importer import import_events
from restrat.store.db import session_factory

compositions = st.dictionaries(st.sampled_from(ELEMENTS), st.floats(0.01, 1.0), min_size=1, max_size=8).map(
    lambda d: {k: v / sum(d.values()) for k, v in d.items()})


@st.composite
def chains(draw: st.DrawFn) -> list[dict]:
    events: list[dict] = []
    received: list[tuple[str, float, float, dict[str, float]]] = []
    for i in range(draw(st.integers(1, 4))):
        mine = draw(st.sampled_from(["MINE-R", "MINE-I"]))
        kg = draw(st.floats(100, 50_000))
        grade = draw(st.floats(0.05, 0.95))
        comp = draw(compositions)
        events.append({"event_id": f"X{i}", "kind": "extraction", "time": t(0, i), "facility": mine,
                       "outputs": [out(f"C{i}", "concentrate", kg, grade, comp)]})
        events.append({"event_id": f"S{i}", "kind": "shipment", "time": t(1, i), "facility": mine,
                       "partner_facility": "SEP", "inputs": [{"batch": f"C{i}", "mass_kg": kg}],
                       "outputs": [out(f"T{i}", "concentrate", kg, grade, comp)]})
        events.append({"event_id": f"R{i}", "kind": "receipt", "time": t(2, i), "facility": "SEP",
                       "shipment_event": f"S{i}", "received_kg": kg})
        received.append((f"T{i}", kg, grade, comp))
    per_el = {el: sum(kg * g * c.get(el, 0.0) for _, kg, g, c in received) for el in ELEMENTS}
    present = [el for el in ELEMENTS if per_el[el] > 0]
    groups = draw(st.integers(1, min(4, len(present))))
    keep = draw(st.floats(0.8, 1.0))
    outputs = []
    for g in range(groups):
        els = present[g::groups]
        reo = sum(per_el[el] for el in els) * keep
        outputs.append(out(f"O{g}", "separated_oxide", reo / 0.99, 0.99, {el: per_el[el] * keep / reo for el in els}))
    events.append({"event_id": "P", "kind": "processing", "time": t(3), "facility": "SEP",
                   "inputs": [{"batch": b, "mass_kg": kg} for b, kg, _, _ in received], "outputs": outputs})
    return events


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):  # type: ignore[no-untyped-def]
    from restrat.store.db import make_engine
    from restrat.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.db'}")
    upgrade(engine=engine)
    return engine


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=chains())
def test_random_valid_chains_import_balance_and_trace_exactly(sqlite_engine, events) -> None:  # type: ignore[no-untyped-def]
    wipe(sqlite_engine)
    with session_factory(sqlite_engine)() as s, s.begin():
        registry_for_ledger(s)
        import_events(session=s, frames=read_records(events))
    with session_factory(sqlite_engine)() as s:
        bal = service.balance(session=s, facility="SEP", start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 1))
        for row in bal["elements"]:
            expected = row["received_kg"] + row["produced_kg"] - row["processed_kg"]
            assert row["closing_kg"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
            assert row["process_loss_kg"] >= -1e-3 * max(row["processed_kg"], 1)
        for o in events[-1]["outputs"]:
            tr = service.trace(session=s, batch=o["batch"], direction="up")
            origin_total = sum(r["reo_kg"] for r in tr["origin"]["by_mine"])
            assert origin_total == pytest.approx(o["mass_kg"] * o["reo_grade"], rel=1e-5)
        assert service.verify(session=s).ok
