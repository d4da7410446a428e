"""`restrat industry ...` on a migrated empty database plus the shipped quota data: --json and one-line errors."""

from __future__ import annotations

import json

import pytest

from restrat.cli import run


@pytest.fixture
def cli_db(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from restrat.store.db import get_engine

    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_engine.cache_clear()
    assert run(["db", "upgrade"]) == 0
    yield
    get_engine.cache_clear()


def test_quota_concentration_and_merger_as_json(cli_db, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["industry", "concentration", "--measure", "quota", "--by", "stage", "--by", "year",
                "--year", "2024", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["stage"]: r["total"] for r in rows} == {"mining": 134_900, "separation": 127_000}
    assert run(["industry", "merger", "--measure", "quota", "--by", "stage", "--year", "2020",
                "--owner", "China Southern Rare Earth", "--owner", "Chinalco Rare Earth", "--into", "CREG",
                "--json"]) == 0
    mining = next(r for r in json.loads(capsys.readouterr().out) if r["stage"] == "mining")
    assert mining["presumed_harmful"] is True and mining["delta_hhi"] > 100


def test_bad_dimension_is_one_line_naming_the_field(cli_db, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["industry", "concentration", "--measure", "quota", "--by", "region"]) == 2
    assert "field 'by'" in capsys.readouterr().err


def test_access_and_clusters_on_an_empty_registry(cli_db, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["industry", "access", "--on", "2016-07-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(["industry", "clusters", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_value_chain_on_an_empty_ledger_and_a_bad_price_file(cli_db, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert run(["industry", "value-chain", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["stages"] == [] and body["multipliers"] == [] and len(body["stage_prices"]) == 18
    bad = tmp_path / "prices.csv"
    bad.write_text("form,factor_of_oxide_value,status,structure,basis,reason\nore,-2,seen,raw,x,y\n")
    assert run(["industry", "value-chain", "--prices", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 2, field 'factor_of_oxide_value'" in err


def test_strategy_report_writes_a_file_and_says_what_has_no_data(cli_db, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "strategy.html"
    assert run(["report", "strategy", "--year", "2024", "--span", "2", "--out", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert out.exists() and "Strategy scorecard 2024" in out.read_text(encoding="utf-8")
    quota = [r for r in rows if r["indicator"] == "hhi_separation_quota"]
    assert [r["year"] for r in quota] == [2023, 2024] and all(r["value"] > 0 for r in quota)
    assert all(r["note"] for r in rows if r["value"] is None)
    assert run(["report", "strategy", "--year", "1700", "--out", str(out)]) == 2
