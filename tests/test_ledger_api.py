"""Ledger over the REST API and CLI: reporting events, enterprise scoping, association aggregates, verify."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from ledger_builders import registry_for_ledger, simple_chain

from restrat.api.app import create_app
from restrat.auth import service as auth
from restrat.store.db import session_factory


@pytest.fixture
def client(db) -> TestClient:  # type: ignore[no-untyped-def]
    with session_factory(db)() as s, s.begin():
        registry_for_ledger(s)
        for name, role, ent in (("reg", "regulator", None), ("up", "enterprise", "E-UP"),
                                ("down", "enterprise", "E-DOWN"), ("assoc", "association", None)):
            auth.create_user(session=s, username=name, password=f"{name}-password", role=role, enterprise_code=ent)
    return TestClient(create_app(db))


def _h(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-password"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_regulator_reports_events_and_reimport_is_idempotent(client: TestClient) -> None:
    h = _h(client, "reg")
    r = client.post("/api/v1/ledger/events", json={"events": simple_chain()}, headers=h)
    assert r.status_code == 200 and r.json()["events_new"] == 7
    r = client.post("/api/v1/ledger/events", json={"events": simple_chain()}, headers=h)
    assert r.json()["events_skipped"] == 7
    assert client.get("/api/v1/ledger/verify", headers=h).json()["ok"] is True


def test_bad_event_answers_422_with_row_and_field(client: TestClient) -> None:
    events = simple_chain()
    events[2]["inputs"][0]["batch"] = "GHOST"
    r = client.post("/api/v1/ledger/events", json={"events": events}, headers=_h(client, "reg"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "rows", 2, "inputs.batch"]


def test_an_enterprise_reports_only_at_its_own_facilities(client: TestClient) -> None:
    mines_only = simple_chain()[:2]
    first = client.post("/api/v1/ledger/events", json={"events": mines_only}, headers=_h(client, "up"))
    assert first.status_code == 200
    r = client.post("/api/v1/ledger/events", json={"events": simple_chain()}, headers=_h(client, "up"))
    assert r.status_code == 403


def test_an_enterprise_traces_only_its_own_batches_and_sees_its_own_events(client: TestClient) -> None:
    client.post("/api/v1/ledger/events", json={"events": simple_chain()}, headers=_h(client, "reg"))
    down = _h(client, "down")
    assert client.get("/api/v1/ledger/batches/PRND/trace", headers=down).status_code == 200
    assert client.get("/api/v1/ledger/batches/C1/trace", headers=down).status_code == 403
    kinds = {e["facility"] for e in client.get("/api/v1/ledger/events", headers=down).json()}
    assert kinds == {"SEP"}


def test_the_association_sees_national_flows_but_no_events(client: TestClient) -> None:
    client.post("/api/v1/ledger/events", json={"events": simple_chain()}, headers=_h(client, "reg"))
    assoc = _h(client, "assoc")
    assert client.get("/api/v1/ledger/events", headers=assoc).status_code == 403
    assert client.get("/api/v1/ledger/batches/PRND/trace", headers=assoc).status_code == 403
    flows = client.get("/api/v1/ledger/flows", headers=assoc).json()
    assert any(f["source"] == "mining" and f["target"] == "separation" for f in flows)


def test_trace_over_the_api_gives_the_origin_mix(client: TestClient) -> None:
    h = _h(client, "reg")
    client.post("/api/v1/ledger/events", json={"events": simple_chain()}, headers=h)
    body = client.get("/api/v1/ledger/batches/DY/trace", params={"direction": "both"}, headers=h).json()
    assert body["origin"]["by_ore_type"][0]["ore_type"] == "ionic"
    assert client.get("/api/v1/ledger/batches/NOPE/trace", headers=h).status_code == 404


def test_cli_import_trace_and_verify(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from restrat.cli import run
    from restrat.store.db import get_engine, make_engine
    from restrat.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'l.db'}"
    engine = make_engine(url)
    upgrade(engine=engine)
    with session_factory(engine)() as s, s.begin():
        registry_for_ledger(s)
    monkeypatch.setenv("RESTRAT_DATABASE_URL", url)
    get_engine.cache_clear()
    path = tmp_path / "ev.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in simple_chain()))
    assert run(["ledger", "import", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events_new"] == 7
    assert run(["ledger", "trace", "PRND", "--up", "--json"]) == 0
    assert {r["mine"] for r in json.loads(capsys.readouterr().out)["origin"]["by_mine"]} == {"MINE-R", "MINE-I"}
    assert run(["ledger", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**simple_chain()[0], "event_id": "NEW", "facility": "NOWHERE"}))
    assert run(["ledger", "import", str(bad)]) == 2
    assert "row 1, field 'facility'" in capsys.readouterr().err
    get_engine.cache_clear()
