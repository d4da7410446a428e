"""Scenario runs and sweeps: one equilibrium per parameter set, on a local process pool or a Dask cluster.

Reproducible to the bit: run r draws its uncertain parameters from numpy's generator seeded with (seed, r), so a
run's inputs do not depend on which worker solves it or how the runs are split; results are ordered by run.

Parallel sweeps send work in batches: the calibrated base goes to each worker once (the pool's initializer, or
a Dask scatter broadcast), the runs go in contiguous batches (`batches`) so the per-task cost (pickling the
scenario, scheduling, returning results) is paid per batch, not per run, and each batch limits BLAS/OpenMP to
one thread so two workers on two cores do not oversubscribe them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from restrat.market import model
from restrat.market.calibration import Base, calibrate
from restrat.market.results import tables
from restrat.market.scenario import Scenario, export_key, export_selection, to_inputs

BATCHES_PER_WORKER = 4  # at least this many batches per worker: balances uneven runs, keeps the progress bar moving
BATCH_RUNS = 25  # at most this many runs per batch

_process_base: Base | None = None


def _base() -> Base:
    """The calibrated base of this process: calibrated on first use, or handed over by the pool's initializer."""
    global _process_base
    if _process_base is None:
        _process_base = calibrate()
    return _process_base


def _init_worker(base: Base) -> None:
    """Pool initializer: keep the parent's calibrated base (sent once per worker, not once per run)."""
    global _process_base
    _process_base = base


@dataclass
class RunResult:
    """The three result tables of one run, how it was solved and how long it took."""

    run: int
    parameters: dict[str, float]
    markets: pd.DataFrame
    supply: pd.DataFrame
    summary: pd.DataFrame
    method: str
    seconds: float


def _reference_exports(base: Base, scn: Scenario) -> dict[str, np.ndarray] | None:
    """Exports each relative cut is measured against: the same scenario solved without its cuts."""
    cuts = [c for c in scn.levers.get("export_control", []) if "cut" in c]
    if not cuts:
        return None
    ref = scn.without_cuts()
    inp = to_inputs(base, ref)
    sol = model.solve(inp)
    return {export_key(c): sol.y[:, export_selection(inp, c)].sum(axis=1) for c in cuts}


def solve_scenario(scn: Scenario, *, run: int = 0, base: Base | None = None) -> RunResult:
    """Solve one scenario (its current parameters) and return its result tables."""
    b = base or _base()
    start = time.perf_counter()
    inp = to_inputs(b, scn, reference_exports=_reference_exports(b, scn))
    sol = model.solve(inp)
    out = tables(inp, sol, reserves_t=b.reserves_t)
    return RunResult(run=run, parameters=dict(scn.parameters), markets=out["markets"], supply=out["supply"],
                     summary=out["summary"], method=sol.method, seconds=time.perf_counter() - start)


def draw(scn: Scenario, run: int) -> dict[str, float]:
    """The uncertain parameters of run `run`: drawn from the generator seeded with (scenario seed, run)."""
    rng = np.random.default_rng([scn.seed, run])
    values = {}
    for name in sorted(scn.uncertain):
        spec = scn.uncertain[name]
        dist = spec["distribution"]
        if dist == "uniform":
            values[name] = float(rng.uniform(spec["low"], spec["high"]))
        elif dist == "normal":
            values[name] = float(rng.normal(spec["mean"], spec["sd"]))
        elif dist == "triangular":
            values[name] = float(rng.triangular(spec["low"], spec["mode"], spec["high"]))
        else:  # lognormal with the given mean and sd of the variable itself
            sigma2 = np.log(1 + (spec["sd"] / spec["mean"]) ** 2)
            values[name] = float(rng.lognormal(np.log(spec["mean"]) - sigma2 / 2, np.sqrt(sigma2)))
    return values


def parameter_sets(scn: Scenario, runs: int) -> list[dict[str, float]]:
    """Every run's parameters: each grid point (the cartesian product of [grid]) times `runs` Monte Carlo draws
    of [uncertain]; with neither, `runs` copies of the scenario's own parameters."""
    names = sorted(scn.grid)
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(scn.grid[n] for n in names))]
    sets = []
    for i, point in enumerate(points or [{}]):
        for r in range(runs):
            sets.append({**draw(scn, i * runs + r), **point})
    return sets


def batches(n_runs: int, workers: int) -> list[range]:
    """Contiguous run ranges for `workers` workers: at least BATCHES_PER_WORKER per worker and at most BATCH_RUNS
    runs each (never more batches than runs)."""
    count = min(n_runs, max(workers * BATCHES_PER_WORKER, -(-n_runs // BATCH_RUNS)))
    edges = [i * n_runs // count for i in range(count + 1)] if count else [0]
    return [range(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def _solve_batch(scn: Scenario, runs: list[tuple[int, dict[str, float]]], base: Base | None = None
                 ) -> list[RunResult]:
    """Solve a batch of runs of one scenario in this worker, BLAS/OpenMP limited to one thread."""
    b = base or _base()
    with threadpool_limits(limits=1):
        return [solve_scenario(scn.with_parameters(values), run=run, base=b) for run, values in runs]


def sweep(scn: Scenario, *, runs: int, workers: int = 1, scheduler: str | None = None,
          progress: Callable[[int, int], None] | None = None, base: Base | None = None) -> list[RunResult]:
    """Solve every parameter set; locally in `workers` processes, or on the Dask cluster at `scheduler`."""
    sets = parameter_sets(scn, runs)
    b = base or _base()
    done: list[RunResult] = []

    def tick(results: list[RunResult]) -> None:
        for result in results:
            done.append(result)
            if progress:
                progress(len(done), len(sets))

    def batch(rng: range) -> list[tuple[int, dict[str, float]]]:
        return [(r, sets[r]) for r in rng]

    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            n_workers = max(1, sum(client.nthreads().values()))
            base_f, scn_f = client.scatter([b, scn], broadcast=True)
            futures = [client.submit(_solve_batch, scn_f, batch(rng), base_f, pure=False)
                       for rng in batches(len(sets), n_workers)]
            for fut in dask_completed(futures):
                tick(fut.result())
    elif workers > 1 and len(sets) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(sets)), initializer=_init_worker,
                                 initargs=(b,)) as pool:
            futures = [pool.submit(_solve_batch, scn, batch(rng)) for rng in batches(len(sets), workers)]
            for fut in as_completed(futures):
                tick(fut.result())
    else:
        for rng in batches(len(sets), 1):
            tick([solve_scenario(scn.with_parameters(v), run=r, base=b) for r, v in batch(rng)])
    return sorted(done, key=lambda res: res.run)


def combine(results: list[RunResult], scenario: str) -> dict[str, pd.DataFrame]:
    """Stack the runs' tables into the long format with scenario and run columns first."""
    out = {}
    for name in ("markets", "supply", "summary"):
        frames = [getattr(r, name).assign(scenario=scenario, run=r.run) for r in results]
        table = pd.concat(frames, ignore_index=True)
        out[name] = table[["scenario", "run", *[c for c in table.columns if c not in ("scenario", "run")]]]
    params = pd.DataFrame([{"scenario": scenario, "run": r.run, "method": r.method, "seconds": r.seconds,
                            **r.parameters} for r in results])
    out["runs"] = params
    return out


def fan(table: pd.DataFrame, *, by: list[str], value: str) -> pd.DataFrame:
    """Percentile bands (5, 25, 50, 75, 95) of value across runs, per group (for fan charts)."""
    q = table.groupby(by)[value].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    q.columns = ["p5", "p25", "p50", "p75", "p95"]
    return q.reset_index()
