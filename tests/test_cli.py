"""CLI: --json reads, one-line errors with non-zero exit, atomic imports, demo seeding."""

from __future__ import annotations

import json

import pytest

from restrat.cli import run


@pytest.fixture
def cli_db(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from restrat.store.db import get_engine

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("RESTRAT_DATABASE_URL", url)
    get_engine.cache_clear()
    yield url
    get_engine.cache_clear()


def test_elements_json_is_machine_readable(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["catalog", "elements", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["symbol"] for r in rows][:4] == ["La", "Ce", "Pr", "Nd"]


def test_convert_prints_metal_tonnes(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["catalog", "convert", "--element", "Nd", "--tonnes", "100", "--to", "metal", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output_t"] == pytest.approx(85.7356, abs=1e-4)


@pytest.mark.parametrize(("argv", "field"), [
    (["catalog", "element", "Xx"], "element"),
    (["catalog", "hs", "--code", "28x"], "code"),
    (["catalog", "convert", "--element", "Nd", "--tonnes", "-1"], "tonnes"),
])
def test_bad_input_exits_non_zero_with_one_line_naming_the_field(argv, field, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"field '{field}'" in err[0] and "Traceback" not in err[0]


def test_seed_then_read_registry_as_json(cli_db, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["seed", "demo", "--seed", "3"]) == 0
    capsys.readouterr()
    assert run(["registry", "facilities", "--stage", "separation", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["stage"] for r in rows} == {"separation"}
    assert run(["registry", "groups", "--on", "2020-06-01", "--json"]) == 0
    groups = {g["code"]: g["members"] for g in json.loads(capsys.readouterr().out)}
    assert groups["CREG"] == 0 and groups["SOUTHERN_RE"] > 0


def test_facility_import_with_a_bad_row_exits_2_and_writes_nothing(cli_db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["seed", "demo"]) == 0
    path = tmp_path / "fac.csv"
    path.write_text("code,name,enterprise,stage,lat,lon\nZ1,Good,ILL-SEP-001,separation,25,114\n"
                    "Z2,Bad,UNKNOWN,separation,25,114\n")
    capsys.readouterr()
    assert run(["registry", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "fac.csv: row 2, field 'enterprise'" in err
    assert run(["registry", "facility", "Z1"]) == 2
