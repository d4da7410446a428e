"""Scenario runs and sweeps: one equilibrium per parameter set, on a local process pool or a Dask cluster.

Reproducible to the bit: run r draws its uncertain parameters from numpy's generator seeded with (seed, r), so a
run's inputs do not depend on which worker solves it or how the runs are split; results are ordered by run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from restrat.market import model
from restrat.market.calibration import Base, calibrate
from restrat.market.results import tables
from restrat.market.scenario import Scenario, export_key, export_selection, to_inputs


@cache
def _base() -> Base:
    return calibrate()


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


def _solve_one(scn: Scenario, run: int, values: dict[str, float]) -> RunResult:
    return solve_scenario(scn.with_parameters(values), run=run)


def sweep(scn: Scenario, *, runs: int, workers: int = 1, scheduler: str | None = None,
          progress: Callable[[int, int], None] | None = None) -> list[RunResult]:
    """Solve every parameter set; locally in `workers` processes, or on the Dask cluster at `scheduler`."""
    sets = parameter_sets(scn, runs)
    done: list[RunResult] = []

    def tick(result: RunResult) -> None:
        done.append(result)
        if progress:
            progress(len(done), len(sets))

    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futures = [client.submit(_solve_one, scn, r, v, pure=False) for r, v in enumerate(sets)]
            for fut in dask_completed(futures):
                tick(fut.result())
    elif workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_solve_one, scn, r, v) for r, v in enumerate(sets)]
            for fut in as_completed(futures):
                tick(fut.result())
    else:
        for r, v in enumerate(sets):
            tick(_solve_one(scn, r, v))
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
