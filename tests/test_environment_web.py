"""Environment pages, API and CLI on the demo database: every page with its ILLUSTRATIVE/UNVERIFIED labels, the
role rules (association aggregates only, enterprise its own facilities), API reads and a refused bad submission,
the CLI, and the facility chart drawn in Chromium."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the other browser tests

from restrat.api.app import create_app
from restrat.cli import run

PAGES = ["/environment", "/environment/standards", "/environment/facility", "/environment/facility/ILL-SEP-003",
         "/environment/ingestion", "/environment/wastes?year=2026"]


def _client(engine: Engine, username: str) -> TestClient:
    client = TestClient(create_app(engine))
    r = client.post("/login", data={"username": username, "password": f"{username}-demo", "next": "/environment"},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


def test_every_page_renders_with_its_labels_for_an_analyst(demo_db: Engine) -> None:
    client = _client(demo_db, "analyst")
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert "ILLUSTRATIVE data and UNVERIFIED limits" in r.text, path
    overview = client.get("/environment?year=2026").text
    assert 'data-figure="env-map-figure"' in overview and 'id="ranking-table"' in overview
    assert re.search(r"ILL-MET-001.*suspension", overview, re.S)
    standards = client.get("/environment/standards", params={"on": "2013-06-01"}).text
    assert "UNVERIFIED" in standards and "DB41/777-2013" in standards and "25.0" in standards
    facility = client.get("/environment/facility/ILL-SEP-003", params={"series": "DW-01:ammonia_nitrogen:hour"}).text
    assert '"upper limit"' in facility and '"type": "rect"' in facility
    assert 'id="episode-table"' in facility and "special" not in facility.split('id="series-table"')[0][-10:]
    assert "SUB-" in client.get("/environment/ingestion").text
    assert client.get("/environment/facility/NOPE").status_code == 404


def test_role_rules_for_the_association_and_an_enterprise(demo_db: Engine) -> None:
    assoc = _client(demo_db, "association")
    overview = assoc.get("/environment").text
    assert "national aggregates only" in overview and 'id="ranking-table"' not in overview
    assert assoc.get("/environment/facility/ILL-SEP-001").status_code == 403
    assert assoc.get("/environment/ingestion").status_code == 403
    ent = _client(demo_db, "enterprise")  # bound to ILL-SEP-001
    assert ent.get("/environment/facility/ILL-SEP-001").status_code == 200
    assert ent.get("/environment/facility/ILL-SEP-003").status_code == 403
    ranking = ent.get("/environment?year=2026").text.split('id="ranking-table"')[1]
    assert "ILL-SEP-001" in ranking and "ILL-SEP-003" not in ranking
    token = ent.post("/api/v1/auth/token", data={"username": "enterprise", "password": "enterprise-demo"}).json()
    api = {"Authorization": f"Bearer {token['access_token']}"}
    rows = ent.get("/api/v1/environment/compliance", params={"year": 2026}, headers=api).json()
    assert rows and {r["facility"] for r in rows} == {"ILL-SEP-001"}
    refused = ent.post("/api/v1/environment/monitoring", headers=api, json={"values": [
        {"facility": "ILL-SEP-003", "outlet": "DW-01", "pollutant": "cod", "time": "2026-03-01T00:00:00",
         "value": 10, "unit": "mg/L"}]})
    assert refused.status_code == 422 and "C2 outlet" in refused.json()["detail"][0]["msg"]


def test_api_reads_and_a_bad_submission_names_the_row(demo_db: Engine) -> None:
    client = TestClient(create_app(demo_db))
    token = client.post("/api/v1/auth/token", data={"username": "regulator", "password": "regulator-demo"}).json()
    api = {"Authorization": f"Bearer {token['access_token']}"}
    limits = client.get("/api/v1/environment/facilities/ILL-SEP-003/limits", params={"on": "2026-01-05"},
                        headers=api).json()
    ammonia = next(r for r in limits if r["pollutant"] == "ammonia_nitrogen")
    assert ammonia["limit_high"] == 5.0 and ammonia["status"] == "seen"
    scores = client.get("/api/v1/environment/scores", params={"year": 2026}, headers=api).json()
    assert len(scores) == 5 and all(0 <= s["score"] <= 100 for s in scores)
    levels = {r["facility"]: r["level"] for r in client.get("/api/v1/environment/escalations", params={"year": 2026},
                                                             headers=api).json()}
    assert levels["ILL-MET-001"] == "suspension"
    bad = client.post("/api/v1/environment/monitoring", headers=api, json={"values": [
        {"facility": "ILL-SEP-001", "outlet": "DW-01", "pollutant": "cod", "time": "2026-04-01T00:00:00",
         "value": 10, "unit": "mg/L"},
        {"facility": "ILL-SEP-001", "outlet": "DW-01", "pollutant": "cod", "time": "2026-04-01T01:00:00",
         "value": 10, "unit": "ppb"}]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "rows", 1, "unit"]
    wastes = client.get("/api/v1/environment/wastes", params={"year": 2026}, headers=api).json()
    assert wastes["residue_inventory"] and all(r["inventory_kg"] >= 0 for r in wastes["residue_inventory"])
    assert "/api/v1/environment/monitoring" in client.get("/openapi.json").json()["paths"]


def test_cli_reads_as_json_and_a_bad_file_exits_2(cli_db_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["seed", "demo"]) == 0
    capsys.readouterr()
    assert run(["environment", "standards", "--on", "2013-06-01", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"seen", "recalled"} <= {r["status"] for r in rows}
    assert run(["environment", "episodes", "--year", "2026", "--facility", "ILL-MET-001", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)
    path = tmp_path / "bad.csv"
    path.write_text("facility,outlet,pollutant,time,value,unit\nILL-SEP-001,DW-01,cod,2026-05-01T00:00:00,1,mg/L\n"
                    "ILL-SEP-001,DW-01,cod,2026-05-01T01:00:00,1,ppb\n")
    assert run(["environment", "ingest", str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 2, field 'unit'" in err and "Traceback" not in err
    assert run(["environment", "hj212", "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;"
                "MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["cn"] == "1062"
    assert run(["environment", "register-logger", "--mn", "ILLDEMO00W", "--password", "12"]) == 2
    assert "field 'password'" in capsys.readouterr().err
    assert run(["environment", "register-logger", "--mn", "ILLDEMO00W", "--password", "pw-2026", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mn"] == "ILLDEMO00W"
    assert run(["environment", "loggers", "--json"]) == 0
    assert [r["mn"] for r in json.loads(capsys.readouterr().out)] == ["ILLDEMO00W"]
    assert run(["environment", "logger-events", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.fixture
def cli_db_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from restrat.store.db import get_engine

    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_engine.cache_clear()
    yield
    get_engine.cache_clear()


@pytest.mark.browser
def test_facility_chart_draws_the_limit_and_the_episodes(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/environment/facility/ILL-MET-001?series=DA-01:sulfur_dioxide:hour")
    page.wait_for_selector("#series-chart .main-svg")
    assert page.locator("#series-chart .shapelayer path").count() > 0  # episode bands
    assert page.locator("#series-chart .scatterlayer .trace").count() >= 3  # values, over-limit points, limit line
    page.goto(server + "/environment")
    page.wait_for_selector("#env-map .main-svg")


def test_api_registers_a_logger_password_for_the_regulator_only_and_never_returns_its_hash(demo_db: Engine) -> None:
    client = TestClient(create_app(demo_db))

    def headers(user: str) -> dict[str, str]:
        token = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-demo"}).json()
        return {"Authorization": f"Bearer {token['access_token']}"}

    reg, analyst = headers("regulator"), headers("analyst")
    body = {"mn": "ILLDEMO00W", "password": "pw-2026"}
    assert client.post("/api/v1/environment/loggers", json=body, headers=analyst).status_code == 403
    short = client.post("/api/v1/environment/loggers", json={**body, "password": "12"}, headers=reg)
    assert short.status_code == 422 and short.json()["detail"][0]["loc"][-1] == "password"
    created = client.post("/api/v1/environment/loggers", json=body, headers=reg)
    assert created.status_code == 201 and created.json()["replaced"] is False
    listed = client.get("/api/v1/environment/loggers", headers=reg).json()
    assert [r["mn"] for r in listed] == ["ILLDEMO00W"] and listed[0]["outlet"] == "DW-01"
    assert "password_hash" not in listed[0] and "pw-2026" not in json.dumps(listed)
    assert client.get("/api/v1/environment/logger-events", headers=reg).json() == []


def test_ingestion_page_shows_loggers_and_listener_events_to_the_regulator_only(demo_db: Engine) -> None:
    from restrat.environment import hj212, service
    from restrat.store.db import transaction

    with transaction(demo_db) as s:
        service.register_logger(session=s, mn="ILLDEMO00W", password="pw-2026", username="regulator")
        service.record_logger_event(session=s, event=hj212.ListenerEvent(
            outcome="refused_pw", peer="127.0.0.1:50000", detail="PW error", mn="ILLDEMO00W", cn="2061"))
    html = _client(demo_db, "regulator").get("/environment/ingestion").text
    loggers = html.split('id="logger-table"')[1].split("</table>")[0]
    events = html.split('id="logger-event-table"')[1].split("</table>")[0]
    assert "ILLDEMO00W" in loggers and "DW-01" in loggers and "pw-2026" not in html
    assert "refused pw" in events and "127.0.0.1:50000" in events
    assert 'id="logger-table"' not in _client(demo_db, "analyst").get("/environment/ingestion").text
