"""Technology benchmarks, each beside a naive baseline measured in the same run.

    python -m benchmarks.technology [--batches 1000000] [--changes 2000] [--naive 20000] [--rows 20000]

1. Economic effect: attribute ledger batches to the process change in use at their facility and form (as-of join)
   and value their contained REO at the annual oxide prices, set-wise; baseline: a Python loop over batches with a
   bisect per batch and a loop over elements (on the first --naive batches; the same figures are checked).
2. Registry import: readiness records written by one validated, append-only import on SQLite, and the same import
   again (idempotent, nothing written); baseline: the same rows recorded one by one through service.record.
Prints a Markdown table."""

from __future__ import annotations

import argparse
import bisect
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import markdown_table
from restrat.catalog.service import ELEMENTS, load_reference
from restrat.registry import service as registry
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade
from restrat.technology import pipeline, service

FORMS = ("separated_oxide", "metal", "magnet_ndfeb")
Row = tuple[str, str, str, str, str]


def synthetic(batches: int, changes: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """SYNTHETIC batches over 500 facilities and 3 forms in 2020-2026, and production records among them."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2020-01-01T00:00:00")
    b = pd.DataFrame({"facility_id": rng.integers(0, 500, batches), "form": rng.choice(FORMS, batches),
                      "at": start + rng.integers(0, 7 * 365 * 86400, batches).astype("timedelta64[s]"),
                      "gross_kg": rng.uniform(100, 5000, batches)})
    b["reo_kg"] = b.gross_kg * rng.uniform(0.3, 1.0, batches)
    b["k"] = np.arange(batches)
    comp = rng.dirichlet(np.full(len(ELEMENTS), 0.5), batches)
    days = rng.integers(0, 7 * 365, changes)
    c = pd.DataFrame({"facility_id": rng.integers(0, 500, changes), "form": rng.choice(FORMS, changes),
                      "reached_on": (np.datetime64("2020-01-01") + days.astype("timedelta64[D]")).astype(object),
                      "project_id": np.arange(changes)})
    c["reached_on"] = pd.to_datetime(c.reached_on).dt.date
    return b, comp, c


def effect_setwise(b: pd.DataFrame, comp: np.ndarray, c: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    made = pipeline.attribute(b, c)
    return pipeline.value(made, comp[made.k.to_numpy()], prices)


def effect_naive(b: pd.DataFrame, comp: np.ndarray, c: pd.DataFrame, prices: pd.DataFrame) -> dict[int, float]:
    """Per batch: find the latest change with bisect, then value element by element with dict price lookups."""
    by_key: dict[tuple[int, str], tuple[list[pd.Timestamp], list[int]]] = {}
    for r in c.sort_values("reached_on").itertuples(index=False):
        days, projects = by_key.setdefault((r.facility_id, r.form), ([], []))
        days.append(pd.Timestamp(r.reached_on))
        projects.append(r.project_id)
    price = {(r.element, r.year): r.usd_per_kg for r in prices.itertuples(index=False)}
    first = prices.groupby("element").year.min().to_dict()
    out: dict[int, float] = {}
    for r in b.itertuples(index=False):
        days, _ = by_key.get((r.facility_id, r.form), ([], []))
        if bisect.bisect_right(days, r.at) == 0:
            continue
        total = 0.0
        for j, el in enumerate(ELEMENTS):
            year = r.at.year
            while el in first and year >= first[el] and (el, year) not in price:
                year -= 1
            p = price.get((el, year))
            if p is not None:
                total += r.reo_kg * comp[r.k, j] * p
        out[r.k] = total
    return out


def bench_effect(batches: int, changes: int, naive: int) -> list[Row]:
    b, comp, c = synthetic(batches, changes)
    prices = pipeline.oxide_prices()
    t0 = time.perf_counter()
    valued = effect_setwise(b, comp, c, prices)
    summary = pipeline.benefit(valued)
    fast = time.perf_counter() - t0
    sample = b.iloc[:naive]
    t0 = time.perf_counter()
    slow = effect_naive(sample, comp, c, prices)
    slow_s = time.perf_counter() - t0
    check = valued[valued.k < naive].set_index("k").value_usd
    assert set(check.index) == set(slow) and np.allclose(check.loc[list(slow)].to_numpy(), list(slow.values()))
    rate, naive_rate = batches / fast, naive / slow_s
    return [("Economic effect: attribute and value ledger batches (batches/s)", f"{rate:,.0f}", f"{naive_rate:,.0f}",
             f"{rate / naive_rate:.0f}x", f"{batches:,} batches, {changes:,} production records, {len(valued):,} "
             f"attributed, {len(summary):,} project-years in {fast:.2f} s; naive on {naive:,} batches, same values")]


def bench_import(rows: int, naive: int) -> list[Row]:
    projects = max(1, rows // 10)
    bundle = {"projects": [{"code": f"P{i}", "title": "bench", "field": "magnets", "lead_enterprise": "ENT",
                            "start_date": "2000-01-01"} for i in range(projects)],
              "readiness": [{"project": f"P{i % projects}", "assessed_on": str(np.datetime64("2000-01-01")
                                                                                + i // projects),
                             "level": 1 + i % 9} for i in range(rows)]}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine=engine)
        factory = session_factory(engine)
        with factory() as s, s.begin():
            load_reference(session=s)
            registry.create_enterprise(session=s, code="ENT", name="Bench Co (SYNTHETIC)", country="China")
        t0 = time.perf_counter()
        with factory() as s, s.begin():
            service.import_bundle(session=s, bundle=bundle)
        fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        with factory() as s, s.begin():
            again = service.import_bundle(session=s, bundle=bundle)
        repeat = time.perf_counter() - t0
        assert set(again.values()) == {0}
        t0 = time.perf_counter()
        with factory() as s, s.begin():
            for i in range(naive):
                service.record(session=s, section="readiness", project="P0", assessed_on=str(
                    np.datetime64("2100-01-01") + i), level=5)
        slow = time.perf_counter() - t0
        engine.dispose()
    total = projects + rows
    rate, naive_rate = total / fast, naive / slow
    return [("Registry import, validated and append-only, SQLite (records/s)", f"{rate:,.0f}", f"{naive_rate:,.0f}",
             f"{rate / naive_rate:.0f}x", f"{projects:,} projects + {rows:,} readiness records in {fast:.2f} s; "
             f"naive: {naive:,} records one by one through service.record"),
            ("Re-import of the same records, nothing written (records/s)", f"{total / repeat:,.0f}", "", "",
             f"{repeat:.2f} s")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=2_000)
    ap.add_argument("--naive", type=int, default=20_000)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--naive-rows", type=int, default=300)
    a = ap.parse_args()
    rows = bench_effect(a.batches, a.changes, a.naive) + bench_import(a.rows, a.naive_rows)
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
