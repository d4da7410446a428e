"""Sweeps: the same parameter draws however runs are split, a local process pool and a real Dask cluster on
loopback giving the same results to the bit as a serial run; grids times draws; the simulate CLI writes the
Parquet tables and the report with fan charts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from restrat.cli import run as cli
from restrat.market import service
from restrat.market.sweep import BATCH_RUNS, BATCHES_PER_WORKER, batches, combine, draw, parameter_sets, sweep

SCENARIO = """
[scenario]
name = "small sweep"
horizon = 3
seed = 11

[uncertain]
demand_growth_multiplier = { distribution = "triangular", low = 0.5, mode = 1.0, high = 1.5 }
elasticity_multiplier = { distribution = "uniform", low = 0.7, high = 1.3 }
supply_cost_multiplier = { distribution = "lognormal", mean = 1.0, sd = 0.1 }
"""


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return service.parse_scenario(text=SCENARIO, source="sweep.toml")


def _tables(results: list) -> dict[str, pd.DataFrame]:  # type: ignore[type-arg]
    out = combine(results, "small sweep")
    out["runs"] = out["runs"].drop(columns=["seconds"])
    return out


def test_a_runs_draws_depend_only_on_seed_and_run_number(scenario) -> None:  # type: ignore[no-untyped-def]
    assert draw(scenario, 3) == draw(scenario, 3)
    assert draw(scenario, 3) != draw(scenario, 4)
    assert parameter_sets(scenario, 5)[3] == draw(scenario, 3)


def test_a_grid_is_crossed_with_the_monte_carlo_draws() -> None:
    scn = service.parse_scenario(text=SCENARIO + "\n[grid]\nchina_quota_growth = [0.0, 0.05]\n", source="g.toml")
    sets = parameter_sets(scn, 3)
    assert len(sets) == 6
    assert [s["china_quota_growth"] for s in sets] == [0.0] * 3 + [0.05] * 3


@pytest.mark.parametrize(("n_runs", "workers"), [(1, 2), (4, 2), (7, 3), (1000, 2), (1000, 1)])
def test_batches_cover_every_run_once_in_order_within_the_size_limits(n_runs: int, workers: int) -> None:
    parts = batches(n_runs, workers)
    assert [r for part in parts for r in part] == list(range(n_runs))
    assert all(1 <= len(part) <= BATCH_RUNS for part in parts)
    assert len(parts) >= min(n_runs, workers * BATCHES_PER_WORKER)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_a_process_pool_sweep_equals_the_serial_sweep_to_the_bit(scenario) -> None:  # type: ignore[no-untyped-def]
    serial = _tables(sweep(scenario, runs=4, workers=1))
    pooled = _tables(sweep(scenario, runs=4, workers=2))
    for name in ("markets", "supply", "summary", "runs"):
        pd.testing.assert_frame_equal(serial[name], pooled[name], check_exact=True)
    assert serial["runs"].run.tolist() == [0, 1, 2, 3]
    # the draws changed the outcome: runs differ from each other
    nd = serial["markets"].query("element == 'Nd' and market == 'china' and year == 2027")
    assert nd.price_usd_per_kg.nunique() == 4


def test_a_sweep_on_a_dask_cluster_equals_the_same_sweep_run_locally(scenario) -> None:  # type: ignore[no-untyped-def]
    from distributed import LocalCluster

    ticks: list[tuple[int, int]] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        remote = _tables(sweep(scenario, runs=4, scheduler=cluster.scheduler_address,
                               progress=lambda done, total: ticks.append((done, total))))
    local = _tables(sweep(scenario, runs=4, workers=1))
    for name in ("markets", "supply", "summary", "runs"):
        pd.testing.assert_frame_equal(local[name], remote[name], check_exact=True)
    assert ticks[-1] == (4, 4) and len(ticks) == 4


def test_simulate_writes_parquet_tables_and_a_report_with_fan_charts(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    assert cli(["simulate", str(path), "--out", str(out), "--runs", "3", "--workers", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["runs"] == 3
    markets = pd.read_parquet(out / "markets.parquet")
    assert list(markets.columns[:4]) == ["scenario", "run", "year", "element"]
    assert set(markets.scenario) == {"small sweep", "baseline"}
    assert markets[markets.scenario == "small sweep"].run.nunique() == 3
    for name in ("supply", "summary", "runs"):
        assert (out / f"{name}.parquet").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "fan_nd" in html and "Calibration fit" in html and "assumption" in html
    assert (out / "plotly.min.js").is_file()
