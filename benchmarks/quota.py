"""Quota benchmarks: the allocation LP over 5,000 facilities and what quota consumption adds to a ledger import,
each beside a naive baseline measured in the same run. Prints a Markdown table.

    python -m benchmarks.quota [--facilities 5000] [--repeat 5] [--events 200000] [--skip-import]

The facilities are SYNTHETIC (generated here, labelled so): random capacities, last-year quotas, groups, ore types
and scores. The import measure uses the cached generated ledger of `make bench` when present
(benchmarks/.cache/ledger-1000000-s1), else generates one of --events events (ILLUSTRATIVE, restrat synth ledger).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.optimize import linprog

from benchmarks import markdown_table
from restrat.ledger import consumers, importer, synth
from restrat.ledger.format import read_events
from restrat.ledger.importer import import_events
from restrat.quota import consumption, optimiser
from restrat.quota import demo as quota_demo
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade

HERE = Path(__file__).resolve().parent
CACHED = HERE / ".cache" / "ledger-1000000-s1"
GROUPS = ("G1", "G2", "G3", "G4", "G5", "G6")


def synthetic_facilities(n: int, seed: int = 1) -> pd.DataFrame:
    """SYNTHETIC facilities for the benchmark: nothing here describes a real mine or plant."""
    rng = np.random.default_rng(seed)
    held = rng.random(n) < 0.7
    cap = rng.uniform(200, 6000, n)
    return pd.DataFrame({
        "code": [f"BENCH-{i:05d}" for i in range(n)], "group": rng.choice(GROUPS, n).tolist(),
        "ore_type": rng.choice(["rock", "ionic"], n, p=[0.8, 0.2]).tolist(), "capacity_t": cap,
        "last_t": np.where(held, cap * rng.uniform(0.2, 0.7, n), 0.0), "penalised": rng.random(n) < 0.03,
        "technology_level": rng.integers(1, 6, n) / 5.0, "recovery_rate": rng.uniform(0.8, 0.98, n),
        "environmental_compliance": np.where(rng.random(n) < 0.8, rng.random(n), np.nan)})


def naive_allocate(fac: pd.DataFrame, targets: dict[str, float], policy: optimiser.Policy) -> float:
    """The baseline: the same programme built row by row in Python (a dict per facility, a dense matrix filled
    cell by cell) and solved by SciPy's linprog on dense arrays. Returns the optimal score."""
    rows = fac.to_dict("records")
    n = len(rows)
    cost, bounds = [], []
    for r in rows:
        score = 0.0
        for k in optimiser.CRITERIA:
            v = r.get(k)
            score += policy.weights[k] * (policy.neutral[k] if v is None or v != v else v)
        cost.append(-score)
        hi = r["capacity_t"]
        lo = 0.0
        if r["last_t"] > 0:
            hi = min(hi, (1 + policy.max_change) * r["last_t"])
            if r["penalised"]:
                hi = min(hi, (1 - policy.penalty_reduction) * r["last_t"])
            lo = min((1 - policy.max_change) * r["last_t"], hi)
        bounds.append((lo, hi))
    ores = list(targets)
    a_eq = np.zeros((len(ores), n))
    a_ub = np.zeros((len(policy.min_group_share), n))
    groups = list(policy.min_group_share)
    for j, r in enumerate(rows):
        for i, o in enumerate(ores):
            if r["ore_type"] == o:
                a_eq[i, j] = 1.0
        for i, g in enumerate(groups):
            if r["group"] == g:
                a_ub[i, j] = -1.0
    total = sum(targets.values())
    res = linprog(cost, A_ub=a_ub, b_ub=[-policy.min_group_share[g] * total for g in groups], A_eq=a_eq,
                  b_eq=[targets[o] for o in ores], bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(res.message)
    return float(-res.fun)


def bench_lp(n: int, repeat: int) -> list[tuple[str, str, str, str, str]]:
    fac = synthetic_facilities(n)
    policy = optimiser.load_policy(min_group_share={"G1": 0.18, "G2": 0.15, "G3": 0.12})
    free = fac["last_t"].where(fac["last_t"] > 0, fac["capacity_t"] * 0.5)
    total = float(free.sum())
    ionic = float(free[fac["ore_type"] == "ionic"].sum())
    targets = {"rock": total - ionic, "ionic": ionic}
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = optimiser.solve(facilities=fac, targets=targets, policy=policy)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    naive_score = naive_allocate(fac, targets, policy)
    naive_s = time.perf_counter() - t
    assert result is not None and abs(result.objective - naive_score) <= 1e-6 * abs(naive_score), \
        (result.objective, naive_score)
    fast = statistics.median(times)
    return [(f"Allocation LP, {n:,} SYNTHETIC facilities, build + solve (s)", f"{fast:.3f}", f"{naive_s:.3f}",
             f"{naive_s / fast:.0f}x", f"median of {repeat}; {len(result.rows)} rows; same optimum "
                                       f"({result.objective:,.1f}); naive: Python-built dense linprog")]


def _ledger(events: int) -> Path:
    if CACHED.is_dir():
        return CACHED
    data = HERE / ".cache" / f"quota-ledger-{events}"
    if not (data / "events.parquet").exists():
        synth.write(synth.generate(events=events, seed=1, anomaly_rate=0.01), data)
    return data


def _import(data: Path, consumers_on: tuple[str, ...]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine=engine)
        ledger = synth.SynthLedger(events=pq.read_table(data / "events.parquet"),
                                   facilities=pd.read_csv(data / "facilities.csv"),
                                   quotas=pd.read_csv(data / "quotas.csv"), truth=[])
        with session_factory(engine)() as s, s.begin():
            synth.load_registry(session=s, ledger=ledger)
            quota_demo.seed(session=s, ledger=ledger)
        consumers.CONSUMERS = consumers_on
        frames = read_events(data / "events.parquet")
        t = time.perf_counter()
        with session_factory(engine)() as s, s.begin():
            result = import_events(session=s, frames=frames, source_name="bench", username="bench")
        seconds = time.perf_counter() - t
        engine.dispose()
        return seconds, result.events_new


SPENT = {"written": 0.0, "quota": 0.0}


def timed_on_import(*, session: object, written: consumers.Written) -> None:
    """The quota consumer, timed (registered in place of restrat.quota.consumption:on_import for the run)."""
    t = time.perf_counter()
    consumption.on_import(session=session, written=written)  # type: ignore[arg-type]
    SPENT["quota"] += time.perf_counter() - t


def _timed_written(fn: Callable[..., consumers.Written]) -> Callable[..., consumers.Written]:
    def run(*args: object, **kw: object) -> consumers.Written:
        t = time.perf_counter()
        out = fn(*args, **kw)
        SPENT["written"] += time.perf_counter() - t
        return out

    return run


def bench_import(events: int) -> list[tuple[str, str, str, str, str]]:
    data = _ledger(events)
    saved, saved_written = consumers.CONSUMERS, importer._written
    try:
        off, n = _import(data, consumers_on=())
        importer._written = _timed_written(saved_written)
        on, _ = _import(data, consumers_on=(f"{__name__}:timed_on_import",))  # this module, also as __main__
    finally:
        consumers.CONSUMERS, importer._written = saved, saved_written
    inside = SPENT["written"] + SPENT["quota"]
    return [
        (f"Ledger import (SQLite), {n:,} events: with / without quota consumption, wall (s)", f"{on:.2f}",
         f"{off:.2f}", f"{100 * (on - off) / off:+.1f}%", "two separate imports on a shared machine: noisy"),
        ("Quota consumption inside that import, timed in place (s)", f"{inside:.2f}", f"{off:.2f}",
         f"{100 * inside / off:.1f}% of the import",
         f"consumer {SPENT['quota']:.2f} s (use, limits, crossings, writes) + handing over the written rows "
         f"{SPENT['written']:.2f} s; baseline column: the import without consumption"),
    ]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quota")
    p.add_argument("--facilities", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--events", type=int, default=200_000, help="ledger size when no cached 1M ledger exists")
    p.add_argument("--skip-import", action="store_true")
    a = p.parse_args()
    rows = bench_lp(a.facilities, a.repeat)
    if not a.skip_import:
        rows += bench_import(a.events)
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
