"""Market benchmarks: one 20-year equilibrium of the calibrated model (17 elements, 38 sources, 10 applications,
3 markets) and a sweep's scaling with workers, each beside a naive baseline measured in the same run. Prints a
Markdown table.

    python -m benchmarks.market [--repeat 5] [--sweep-runs 40] [--naive-years 1] [--joint]

Baselines: the same QP (same matrices) handed to SciPy's SLSQP, for --naive-years years (SLSQP on the 20-year
problem would take hours; its time per year is reported and scaled to 20 years, which flatters it since SLSQP
grows faster than linearly); the sweep's baseline is the same runs solved one after another in one process.
--joint also times HiGHS on the whole 20-year QP at once (the path taken when stocks or cumulative caps link years).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import LinearConstraint, minimize

from restrat.market import model, service
from restrat.market.scenario import parse
from restrat.market.sweep import sweep


def _inputs(horizon: int) -> model.Inputs:
    from restrat.market.scenario import to_inputs

    base = service.base()
    return to_inputs(base, parse({"scenario": {"name": "bench", "horizon": horizon}}, base=base))


def time_equilibrium(repeat: int) -> tuple[float, model.Inputs, model.Solution]:
    """Median seconds to build and solve the 20-year baseline (inputs built once, as a sweep reuses them)."""
    inp = _inputs(20)
    model.solve(inp)  # warm the caches of the first call
    times, sol = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        sol = model.solve(inp)
        times.append(time.perf_counter() - start)
    assert sol is not None
    return statistics.median(times), inp, sol


def time_joint(inp: model.Inputs) -> tuple[float, float]:
    """Seconds of HiGHS on the whole horizon at once, and the largest price difference to the year blocks."""
    start = time.perf_counter()
    joint = model.solve(inp, joint=True)
    seconds = time.perf_counter() - start
    return seconds, float(np.nanmax(np.abs(joint.price - model.solve(inp).price)))


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


def time_sweep(runs: int, workers: int) -> float:
    """Seconds for a Monte Carlo sweep of `runs` 20-year runs of the baseline's uncertain parameters."""
    scn = service.load_scenario(path="baseline")
    start = time.perf_counter()
    sweep(scn, runs=runs, workers=workers)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.market")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--sweep-runs", type=int, default=40)
    p.add_argument("--naive-years", type=int, default=1)
    p.add_argument("--joint", action="store_true")
    args = p.parse_args()

    seconds, inp, sol = time_equilibrium(args.repeat)
    lay = sol.layout
    size = (f"{len(inp.elements)} elements, {len(inp.sources)} sources, {inp.segments.application.nunique()} "
            f"applications, {len(inp.markets)} markets, {lay.per_year * len(inp.years):,} variables")
    naive_s, naive_obj, highs_obj = naive_slsqp(args.naive_years)
    naive_20 = naive_s / args.naive_years * 20
    rows = [("one 20-year equilibrium (" + size + ")", f"{seconds:.3f} s (method: {sol.method})",
             f"SLSQP on the same QP: {naive_s:.2f} s for {args.naive_years} year(s), ~{naive_20:.0f} s for 20 "
             f"(objective {naive_obj:,.2f} vs HiGHS {highs_obj:,.2f})", f"{naive_20 / seconds:,.0f}x",
             "< 0.5 s")]
    if args.joint:
        joint_s, diff = time_joint(inp)
        rows.append(("the same 20 years as one QP at once (joint path)", f"{joint_s:.2f} s",
                     f"year blocks: {seconds:.3f} s; largest price difference {diff:.2e} USD/kg",
                     f"{joint_s / seconds:.0f}x slower", "(used only when stocks or reserves link years)"))
    one = time_sweep(args.sweep_runs, 1)
    two = time_sweep(args.sweep_runs, 2)
    rows.append((f"sweep of {args.sweep_runs} 20-year runs, 2 local processes", f"{two:.1f} s "
                 f"({args.sweep_runs / two:.1f} runs/s)", f"1 process: {one:.1f} s ({args.sweep_runs / one:.1f} "
                 "runs/s)", f"{one / two:.2f}x on 2 workers", "near-linear in workers"))
    print("| work | restrat | naive baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
