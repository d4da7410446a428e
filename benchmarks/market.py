"""Market benchmarks: one 20-year equilibrium of the calibrated model (17 elements, 38 sources, 10 applications,
3 markets) and a sweep's scaling with workers, each beside a naive baseline measured in the same run. Prints a
Markdown table.

    python -m benchmarks.market [--repeat 5] [--sweep-runs 1000] [--sweep-horizon 5] [--naive-years 1] [--joint]

Baselines: the same QP (same matrices) handed to SciPy's SLSQP, for --naive-years years (SLSQP on the 20-year
problem would take hours; its time per year is reported and scaled to 20 years, which flatters it since SLSQP
grows faster than linearly); the sweep's baseline is the same runs solved one after another in one process; each
parallel sweep reports its speed-up and parallel efficiency (speed-up / workers) against it, and the CPU seconds
of all processes involved (wall time on a shared machine also reflects other jobs; CPU time does not).
The export-cut example's linked year blocks are timed beside the same scenario solved as one QP over the whole
horizon (the path used before blocks were linked, and still used when a cumulative reserve cap binds); --joint also
times the baseline as one QP.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from dataclasses import replace

import numpy as np
from scipy.optimize import LinearConstraint, minimize

from benchmarks import markdown_table
from restrat.market import model, service
from restrat.market.scenario import parse, to_inputs
from restrat.market.sweep import _reference_exports, solve_scenario, sweep


def _inputs(horizon: int) -> model.Inputs:
    base = service.base()
    return to_inputs(base, parse({"scenario": {"name": "bench", "horizon": horizon}}, base=base))


def time_equilibrium(repeat: int) -> tuple[float, float, float, model.Inputs, model.Solution]:
    """Median wall and CPU seconds to build and solve the 20-year baseline (inputs built once, as in a sweep), and
    median wall seconds of the whole run (scenario to inputs, solve, result tables)."""
    inp = _inputs(20)
    model.solve(inp)  # warm the caches of the first call
    walls, cpus, runs, sol = [], [], [], None
    scn = service.load_scenario(path="baseline")
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        sol = model.solve(inp)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        start = time.perf_counter()
        solve_scenario(scn, base=service.base())
        runs.append(time.perf_counter() - start)
    assert sol is not None
    return statistics.median(walls), statistics.median(cpus), statistics.median(runs), inp, sol


def time_joint(inp: model.Inputs) -> tuple[float, float]:
    """Seconds of HiGHS on the whole horizon at once, and the largest price difference to the year blocks."""
    start = time.perf_counter()
    joint = model.solve(inp, joint=True)
    seconds = time.perf_counter() - start
    return seconds, float(np.nanmax(np.abs(joint.price - model.solve(inp).price)))


def time_linked() -> tuple[float, float, str, float, float]:
    """The export-cut example, whose stocks link years: seconds on the linked year blocks, seconds on the whole
    horizon at once (the previous path), the linked years, the largest price gap and the relative objective gap."""
    base = service.base()
    scn = service.load_scenario(path="medium_heavy_export_cut")
    inp = to_inputs(base, scn, reference_exports=_reference_exports(base, scn))
    start = time.perf_counter()
    linked = model.solve(inp)
    linked_s = time.perf_counter() - start
    start = time.perf_counter()
    joint = model.solve(inp, joint=True)
    joint_s = time.perf_counter() - start
    return (linked_s, joint_s, f"{linked.method} {', '.join(linked.linked)}",
            float(np.nanmax(np.abs(joint.price - linked.price))),
            abs(linked.objective / joint.objective - 1.0))


def naive_slsqp(years: int) -> tuple[float, float, float]:
    """SciPy SLSQP on the same QP over `years` years: (seconds, its objective, HiGHS's objective)."""
    built = model.build(_inputs(years))
    h, c, a = built.hessian.toarray(), built.c, built.a.toarray()
    lo = np.where(np.isfinite(built.col_lo), built.col_lo, None)
    hi = np.where(built.col_hi < model.INF, built.col_hi, None)
    start = time.perf_counter()
    res = minimize(lambda x: 0.5 * x @ h @ x + c @ x, np.zeros(len(c)), jac=lambda x: h @ x + c, method="SLSQP",
                   bounds=list(zip(lo, hi, strict=True)),
                   constraints=[LinearConstraint(a, -np.inf, built.row_hi)], options={"maxiter": 2000})
    seconds = time.perf_counter() - start
    col, _dual, objective = model._solve_joint(built)
    return seconds, float(res.fun), objective


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (pool and Dask worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_sweep(runs: int, horizon: int, workers: int = 1, dask: bool = False) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a Monte Carlo sweep of `runs` runs of the baseline's uncertain parameters
    over `horizon` years: serially in this process (workers=1), on a local process pool, or on a Dask
    LocalCluster of `workers` single-threaded worker processes (cluster start-up and warm-up neither timed nor
    counted in the CPU seconds)."""
    scn = replace(service.load_scenario(path="baseline"), horizon=horizon)
    base = service.base()
    if not dask:
        cpu, start = _cpu(), time.perf_counter()
        sweep(scn, runs=runs, workers=workers, base=base)
        return time.perf_counter() - start, _cpu() - cpu
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        sweep(scn, runs=min(runs, 2 * workers), scheduler=cluster.scheduler_address, base=base)  # warm workers
        before = _process_cpu() + sum(client.run(_process_cpu).values())  # this process runs the scheduler
        start = time.perf_counter()
        sweep(scn, runs=runs, scheduler=cluster.scheduler_address, base=base)
        wall = time.perf_counter() - start
        cpu = _process_cpu() + sum(client.run(_process_cpu).values()) - before
    return wall, cpu


def _process_cpu() -> float:
    """CPU seconds of the calling process (run on each Dask worker through Client.run)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.market")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--sweep-runs", type=int, default=1000)
    p.add_argument("--sweep-horizon", type=int, default=5, help="years per sweep run (20 = the full model)")
    p.add_argument("--naive-years", type=int, default=1)
    p.add_argument("--joint", action="store_true")
    args = p.parse_args()
    load0 = tuple(round(x, 2) for x in os.getloadavg())

    seconds, cpu, run_s, inp, sol = time_equilibrium(args.repeat)
    lay = sol.layout
    size = (f"{len(inp.elements)} elements, {len(inp.sources)} sources, {inp.segments.application.nunique()} "
            f"applications, {len(inp.markets)} markets, {lay.per_year * len(inp.years):,} variables")
    naive_s, naive_obj, highs_obj = naive_slsqp(args.naive_years)
    naive_20 = naive_s / args.naive_years * 20
    rows = [("one 20-year equilibrium (" + size + ")", f"{seconds:.3f} s build + solve (CPU {cpu:.3f} s; "
             f"method: {sol.method}); {run_s:.3f} s the whole run with result tables",
             f"SLSQP on the same QP: {naive_s:.2f} s for {args.naive_years} year(s), ~{naive_20:.0f} s for 20 "
             f"(objective {naive_obj:,.2f} vs HiGHS {highs_obj:,.2f})", f"{naive_20 / seconds:,.0f}x",
             "< 0.5 s")]
    linked_s, joint_s, how, diff, obj_gap = time_linked()
    rows.append(("export-cut example (medium_heavy_export_cut, 20 years; carrying stock pays ahead of the cut)",
                 f"{linked_s:.2f} s ({how})", f"the whole horizon as one QP (previous path): {joint_s:.1f} s; "
                 f"largest price difference {diff:.1e} USD/kg, objective {obj_gap:.1e} relative",
                 f"{joint_s / linked_s:.0f}x", "much faster than the joint path"))
    if args.joint:
        joint_s, diff = time_joint(inp)
        rows.append(("the same 20 years as one QP at once (joint path)", f"{joint_s:.2f} s",
                     f"year blocks: {seconds:.3f} s; largest price difference {diff:.2e} USD/kg",
                     f"{joint_s / seconds:.0f}x slower", "(used only when stocks or reserves link years)"))
    n, hz = args.sweep_runs, args.sweep_horizon
    one, one_cpu = time_sweep(n, hz)
    label = f"Monte Carlo sweep, {n:,} runs of {hz} years"
    rows.append((f"{label}, 1 worker (serial, this process)", f"{one:.1f} s ({n / one:.2f} runs/s), "
                 f"CPU {one_cpu:.0f} s ({n / one_cpu:.2f} runs per CPU-second; it had {one_cpu / one:.0%} of a "
                 "core)", "(the baseline of the rows below)", "1.00x", ""))
    for what, dask in (("local process pool", False), ("Dask LocalCluster", True)):
        wall, cpu = time_sweep(n, hz, workers=2, dask=dask)
        rows.append((f"{label}, 2 workers, {what}", f"{wall:.1f} s ({n / wall:.2f} runs/s), CPU {cpu:.0f} s "
                     f"({n / cpu:.2f} runs per CPU-second; the workers had {cpu / wall:.0%} of a core)",
                     f"serial: {one:.1f} s ({n / one:.2f} runs/s), CPU {one_cpu:.0f} s",
                     f"{one / wall:.2f}x wall, efficiency {one / wall / 2:.0%}; CPU-bound efficiency "
                     f"{one_cpu / cpu:.0%} (serial CPU / parallel CPU: what 2 free cores would give)",
                     "near-linear in workers"))
    print(f"load average before/after: {load0} / {tuple(round(x, 2) for x in os.getloadavg())} on "
          f"{os.cpu_count()} cores")
    print(markdown_table(rows, ("work", "restrat", "naive baseline (same run)", "ratio", "target")))


if __name__ == "__main__":
    main()
