"""`restrat technology ...`: a YAML bundle imported atomically and idempotently, bad rows as one line per problem
with exit code 2, reads as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from restrat.cli import run
from restrat.exports import service as exports
from restrat.store.db import get_engine, transaction
from restrat.store.migrate import upgrade


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from restrat.catalog.service import load_reference
    from restrat.registry import service as registry

    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_engine.cache_clear()
    upgrade()
    with transaction() as s:
        load_reference(session=s)
        exports.seed_control_list(session=s)
        registry.create_enterprise(session=s, code="ENT", name="Ent", country="China")
    yield tmp_path
    get_engine.cache_clear()


def test_import_twice_then_read_projects_and_control_as_json(cli_db: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = cli_db / "bundle.yaml"
    path.write_text(yaml.safe_dump({
        "institutions": [{"code": "U1", "name": "Uni", "kind": "university", "country": "China"}],
        "projects": [{"code": "M1", "title": "Magnets", "field": "magnets", "lead_enterprise": "ENT",
                      "start_date": "2022-01-01", "partners": "U1"}],
        "readiness": [{"project": "M1", "assessed_on": "2022-01-01", "level": 4}]}))
    assert run(["technology", "import", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["projects"] == 1
    assert run(["technology", "import", str(path), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out).values()) == {0}
    assert run(["technology", "projects", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["code"], r["partners"], r["readiness"]) for r in rows] == [("M1", "U1", 4)]
    assert run(["technology", "control", "--on", "2024-01-01", "--field", "magnets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "technology_prohibited"


def test_bad_bundle_exits_2_naming_every_problem_and_writes_nothing(cli_db: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = cli_db / "bad.json"
    path.write_text(json.dumps({
        "projects": [{"code": "M1", "title": "t", "field": "magnets", "lead_enterprise": "GHOST",
                      "start_date": "2022-01-01"}],
        "readiness": [{"project": "M1", "assessed_on": "2022-01-01", "level": 11}]}))
    assert run(["technology", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "readiness.level" in err and "whole number from 1 to 9" in err
    assert "projects.lead_enterprise" in err and "GHOST" in err
    assert run(["technology", "projects", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
