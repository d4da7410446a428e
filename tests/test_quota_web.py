"""Quota over the REST API, the web pages and the CLI, with the role rules (an enterprise sees its own facilities,
the association national totals), on the demo database (SQLite and PostgreSQL); the optimiser form in Chromium."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the other browser tests

from restrat.api.app import create_app
from restrat.auth import service as auth
from restrat.cli import run
from restrat.store.db import session_factory

OWN = "SYN-MIN-I-JI03"  # a synthetic mine of the demo that went over its 2026 quota


@pytest.fixture
def client(demo_db: Engine) -> TestClient:
    with session_factory(demo_db)() as s, s.begin():
        auth.create_user(session=s, username="miner", password="miner-demo", role="enterprise",
                         enterprise_code=f"E-{OWN}")
    return TestClient(create_app(demo_db))


def _token(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_balances_and_infractions_follow_the_role(client: TestClient) -> None:
    everyone = client.get("/api/v1/quota/balances?year=2026", headers=_token(client, "regulator")).json()
    assert len(everyone) == 52 and {r["status"] for r in everyone} >= {"over quota", "within quota"}
    own = client.get("/api/v1/quota/balances", headers=_token(client, "miner")).json()
    assert [(r["facility"], r["status"]) for r in own] == [(OWN, "over quota")]
    found = client.get("/api/v1/quota/infractions", headers=_token(client, "miner")).json()
    assert [(f["facility"], f["infraction"]) for f in found] == [(OWN, "over_quota")]
    assert "Art. 21" in found[0]["penalty"] and "reduced" in found[0]["next_year"]
    r = client.get("/api/v1/quota/balances", headers=_token(client, "association"))
    assert r.status_code == 403 and "national" in r.json()["detail"]


def test_only_a_regulator_issues_plans_and_bad_ones_answer_422_naming_the_field(client: TestClient) -> None:
    plan = {"year": 2027, "kind": "mining", "ore_type": "rock", "batch": "1", "tonnes_reo": 20000,
            "issued_on": "2027-01-10"}
    assert client.post("/api/v1/quota/plans", json=plan, headers=_token(client, "analyst")).status_code == 403
    r = client.post("/api/v1/quota/plans", json=plan, headers=_token(client, "regulator"))
    assert r.status_code == 201 and r.json()["in_force_t_reo"] == 20000
    again = client.post("/api/v1/quota/plans", json=plan, headers=_token(client, "regulator"))
    assert again.status_code == 422 and "record a change instead" in again.json()["detail"][0]["msg"]
    bad = client.post("/api/v1/quota/plans", json=plan | {"tonnes_reo": -1}, headers=_token(client, "regulator"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "tonnes_reo"


def test_an_allocation_import_with_a_bad_row_answers_422_at_that_row_and_writes_nothing(client: TestClient) -> None:
    reg = _token(client, "regulator")
    rows = [{"code": "A1", "year": 2026, "kind": "smelting_separation", "ore_type": "total", "level": "facility",
             "holder": "SYN-SEP-JI02", "tonnes_reo": 10},
            {"code": "A2", "year": 2026, "kind": "mining", "ore_type": "rock", "level": "facility",
             "holder": "SYN-MIN-I-JI01", "tonnes_reo": 5}]
    r = client.post("/api/v1/quota/allocations/import", json={"rows": rows}, headers=reg)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "rows", 1, "ore_type"]
    codes = {a["code"] for a in client.get("/api/v1/quota/allocations?year=2026", headers=reg).json()}
    assert not codes & {"A1", "A2"}


def test_the_optimiser_over_the_api_explains_and_only_a_regulator_records(client: TestClient) -> None:
    body = {"year": 2027, "kind": "smelting_separation", "total_t_reo": 30000}
    r = client.post("/api/v1/quota/allocate", json=body, headers=_token(client, "analyst"))
    assert r.status_code == 200, r.text
    result = r.json()
    assert sum(f["allocated_t_reo"] for f in result["facilities"]) == pytest.approx(30000)
    assert result["explanations"][0].startswith("Each extra tonne of separation quota is worth")
    saved = client.post("/api/v1/quota/allocate", json=body | {"save": True}, headers=_token(client, "analyst"))
    assert saved.status_code == 403
    assert client.post("/api/v1/quota/allocate", json=body, headers=_token(client, "miner")).status_code == 403


def test_quota_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/quota/plans", "/api/v1/quota/allocations", "/api/v1/quota/balances", "/api/v1/quota/infractions",
            "/api/v1/quota/allocate", "/api/v1/quota/consume", "/api/v1/quota/history"} <= set(paths)


def _sign_in(client: TestClient, user: str) -> TestClient:
    r = client.post("/login", data={"username": user, "password": f"{user}-demo", "next": "/quota/balances"},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


@pytest.mark.parametrize("path", ["/quota/history", "/quota/allocations", "/quota/allocations?kind=smelting_separation",
                                  "/quota/balances", "/quota/optimiser"])
def test_every_quota_page_renders_for_an_analyst(client: TestClient, path: str) -> None:
    r = _sign_in(client, "analyst").get(path)
    assert r.status_code == 200, r.text[:500]
    assert 'href="/quota/optimiser"' in r.text and 'href="/quota/balances"' in r.text


def test_the_balance_page_shows_alerts_with_penalties_and_labels_illustrative_data(client: TestClient) -> None:
    text = _sign_in(client, "regulator").get("/quota/balances").text
    assert "ILLUSTRATIVE data" in text and "id=\"infraction-table\"" in text and "XQ-" in text
    assert "1000000-5000000" in text and "next year&#39;s total-quantity-control indicator reduced" in text
    own = _sign_in(TestClient(client.app), "miner").get("/quota/balances").text
    assert OWN in own and "SYN-MIN-I-JI05" not in own
    national = _sign_in(TestClient(client.app), "association").get("/quota/balances").text
    assert "national totals only" in national and "infraction-table" not in national


def test_the_optimiser_page_is_for_planners_and_explains_a_conflict(client: TestClient) -> None:
    miner = _sign_in(TestClient(client.app), "miner")
    assert miner.get("/quota/optimiser").status_code == 403
    analyst = _sign_in(client, "analyst")
    r = analyst.post("/quota/optimiser/run", data={"year": "2027", "kind": "mining", "total": "500000",
                                                   "ionic_share": "0.2", "max_change": "0.2", "min_share": ""})
    assert r.status_code == 200 and "optimiser-errors" in r.text and "can take at most" in r.text
    ok = analyst.post("/quota/optimiser/run", data={"year": "2027", "kind": "mining", "total": "27000",
                                                    "ionic_share": "0.18", "max_change": "", "min_share": "CNRE=0.5"})
    assert "ionic-clay quota is worth" in ok.text and "optimiser-chart" in ok.text


def test_cli_reads_as_json_and_refuses_a_bad_total(demo_db: Engine, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from restrat.store.db import get_engine

    monkeypatch.setenv("RESTRAT_DATABASE_URL", demo_db.url.render_as_string(hide_password=False))
    get_engine.cache_clear()
    try:
        assert run(["quota", "balances", "--year", "2026", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert len(rows) == 52
        assert run(["quota", "allocate", "--year", "2027", "--kind", "smelting_separation", "--total", "30000",
                    "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["total_t_reo"] == 30000
        assert run(["quota", "allocate", "--year", "2027", "--total", "-1"]) == 2
        assert "field 'total'" in capsys.readouterr().err
        assert run(["quota", "consume", "--from-ledger", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["events_counted"] == 0  # the import already counted them
    finally:
        get_engine.cache_clear()


@pytest.mark.browser
def test_the_optimiser_form_draws_its_result_in_chromium(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/quota/optimiser")
    page.fill("input[name=total]", "27000")
    page.fill("input[name=ionic_share]", "0.18")
    page.click("#optimiser-form button[type=submit]")
    page.wait_for_selector("#optimiser-chart .main-svg", timeout=30_000)
    assert "ionic-clay quota is worth" in page.locator("#optimiser-explanations").inner_text()
    page.goto(server + "/quota/balances")
    page.wait_for_selector("#balance-chart .main-svg", timeout=30_000)
    bars = page.evaluate("() => document.getElementById('balance-chart').data.reduce((n, t) => n + t.x.length, 0)")
    assert bars == 52
