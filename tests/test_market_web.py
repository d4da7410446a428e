"""Market API and pages on SQLite and PostgreSQL: run a scenario from the form and the API, see it beside the
baseline, compare runs, the calibration page, role rules, bad input over HTTP; one Chromium test draws the charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the other browser tests

from restrat.api.app import create_app
from restrat.auth import service as auth
from restrat.registry import service as registry
from restrat.store.db import session_factory

USERS = {"analyst": "analyst", "assoc": "association", "regul": "regulator"}
SMALL = '[scenario]\nname = "api small"\nhorizon = 3\n[[export_control]]\nelements = ["Dy"]\nban = true\n'


@pytest.fixture
def app_db(db: Engine) -> Engine:
    with session_factory(db)() as s, s.begin():
        for name, role in USERS.items():
            auth.create_user(session=s, username=name, password=f"{name}-pass", role=role)
        registry.create_enterprise(session=s, code="ENT-1", name="A mine", country="China")
        auth.create_user(session=s, username="miner", password="miner-pass", role="enterprise",
                         enterprise_code="ENT-1")
    return db


def _client(engine: Engine, username: str | None) -> TestClient:
    client = TestClient(create_app(engine))
    if username:
        r = client.post("/login", data={"username": username, "password": f"{username}-pass", "next": "/market"},
                        follow_redirects=False)
        assert r.status_code == 303
    return client


def _token(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": f"{username}-pass"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.parametrize("path", ["/market", "/market/compare", "/market/calibration", "/market/runs/1"])
def test_market_pages_send_a_visitor_to_login(app_db: Engine, path: str) -> None:
    r = _client(app_db, None).get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_an_analyst_runs_a_library_scenario_and_sees_it_beside_the_baseline(app_db: Engine) -> None:
    client = _client(app_db, "analyst")
    home = client.get("/market")
    assert home.status_code == 200 and 'id="scenario-form"' in home.text and "No stored runs yet" in home.text
    r = client.post("/market/run", data={"library": "tighter_environment"}, follow_redirects=False)
    assert r.status_code == 303
    page_ = client.get(r.headers["location"])
    assert page_.status_code == 200
    for chart in ("market-prices", "market-supply", "market-indicators"):
        assert f'id="{chart}"' in page_.text
    assert "Baseline" in page_.text and "China&#39;s share of mining" in page_.text
    assert "assumption" in page_.text  # the illustrative/assumption notice
    assert "tighter_environment" in client.get("/market").text


def test_the_form_builds_an_export_cut_scenario_that_opens_a_price_gap(app_db: Engine) -> None:
    client = _client(app_db, "assoc")
    form = {"name": "heavy cut", "horizon": "4", "conduct": "competitive", "iea_scenario": "STEPS",
            "china_quota_growth": "3", "export_elements": "medium_heavy", "export_to": "outside",
            "export_cut": "80", "export_from_year": "2026"}
    r = client.post("/market/run", data=form, follow_redirects=False)
    assert r.status_code == 303
    run_id = int(r.headers["location"].rsplit("/", 1)[1])
    page_ = client.get(f"/market/runs/{run_id}").text
    gaps = re.search(r"Largest price gaps[^:]*: (.*?)\.</p>", page_)
    assert gaps and re.search(r"(Dy|Tb|Y|Gd) 20\d\d \+", gaps.group(1))
    detail = client.get(f"/api/v1/market/runs/{run_id}").json()
    assert detail["run"]["scenario"] == "heavy cut"
    assert {row["market"] for row in detail["prices"]} == {"china", "united_states", "rest_of_world"}


def test_bad_form_input_is_shown_on_the_page_with_the_field(app_db: Engine) -> None:
    client = _client(app_db, "analyst")
    r = client.post("/market/run", data={"name": "x", "horizon": "many"})
    assert r.status_code == 400 and "field &#39;horizon&#39;: must be a number" in r.text


def test_an_enterprise_may_look_but_not_run(app_db: Engine) -> None:
    client = _client(app_db, "miner")
    assert client.get("/market").status_code == 200
    r = client.post("/market/run", data={"library": "baseline"})
    assert r.status_code == 403 and "may view scenarios but not run them" in r.text
    api = client.post("/api/v1/market/runs", json={"scenario_toml": SMALL}, headers=_token(client, "miner"))
    assert api.status_code == 403


def test_the_api_runs_stores_and_lists_a_scenario(app_db: Engine) -> None:
    client = _client(app_db, None)
    headers = _token(client, "regul")
    r = client.post("/api/v1/market/runs", json={"scenario_toml": SMALL}, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    dy = [p for p in body["prices"] if p["element"] == "Dy" and p["year"] == 2026]
    by_market = {p["market"]: p for p in dy}
    assert by_market["rest_of_world"]["price_usd_per_kg"] > by_market["china"]["price_usd_per_kg"] + 10
    assert by_market["rest_of_world"]["from_china_t"] == pytest.approx(0.0, abs=1e-6)
    runs = client.get("/api/v1/market/runs", headers=headers).json()
    assert [x["scenario"] for x in runs] == ["api small"]
    assert client.get("/api/v1/market/scenarios", headers=headers).status_code == 200
    assert "[scenario]" in client.get("/api/v1/market/scenarios/baseline", headers=headers).text
    assert client.get("/api/v1/market/calibration", headers=headers).json()["passed"] is True
    assert "/api/v1/market/runs" in client.get("/openapi.json").json()["paths"]


def test_the_api_names_a_typo_and_an_infeasible_scenario(app_db: Engine) -> None:
    client = _client(app_db, None)
    headers = _token(client, "analyst")
    r = client.post("/api/v1/market/runs", json={"scenario_toml": '[scenario]\nname = "t"\nhorizn = 3\n'},
                    headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "scenario.horizn"]
    assert "did you mean 'horizon'" in r.json()["detail"][0]["msg"]
    infeasible = ('[scenario]\nname = "t"\nhorizon = 2\n[[stockpile]]\nmarket = "rest_of_world"\nelements = ["Tb"]\n'
                  'target_t = 9000\n[[mining_quota]]\ncountry = "China"\ntonnes = 500\n')
    r = client.post("/api/v1/market/runs", json={"scenario_toml": infeasible}, headers=headers)
    assert r.status_code == 422 and "stockpile target" in r.json()["detail"][0]["msg"]
    assert client.get("/api/v1/market/runs", headers=headers).json() == []  # nothing half-landed


def test_compare_and_calibration_pages(app_db: Engine) -> None:
    client = _client(app_db, "analyst")
    ids = []
    for lib in ("export_quota_era", "association_coordinates_exports"):
        r = client.post("/market/run", data={"library": lib}, follow_redirects=False)
        ids.append(int(r.headers["location"].rsplit("/", 1)[1]))
    page_ = client.get(f"/market/compare?run={ids[0]}&run={ids[1]}").text
    assert page_.count('data-figure="cmp-') == 6 and "export_quota_era" in page_
    cal = client.get("/market/calibration").text
    assert "within tolerance" in cal and "USGS MCS 2026" in cal and "badge-illustrative" in cal


@pytest.mark.browser
def test_run_page_draws_its_charts_in_chromium(server: str, page, tmp_path: Path) -> None:  # noqa: F811
    """A library scenario run from the page in Chromium: every price panel and the supply areas are drawn."""
    page.goto(f"{server}/market")
    page.select_option("select[name=library]", "tighter_environment")
    page.click("form[action='/market/run'] >> nth=1 >> button", no_wait_after=True)
    page.wait_for_url(re.compile(r".*/market/runs/\d+"), timeout=120_000)
    page.wait_for_selector("#market-prices .main-svg", timeout=30_000)
    assert page.locator("#market-prices .scatterlayer .trace").count() >= 9 * 3
    assert page.locator("#market-supply .scatterlayer .trace").count() >= 5
    page.screenshot(path=str(tmp_path / "market-run.png"), full_page=True)


def test_the_demo_shows_the_baseline_and_example_scenarios_before_anyone_runs_one(demo_db: Engine) -> None:
    from restrat.market.demo import DEMO_SCENARIOS

    client = TestClient(create_app(demo_db))
    r = client.post("/login", data={"username": "analyst", "password": "analyst-demo", "next": "/market"},
                    follow_redirects=False)
    assert r.status_code == 303
    home = client.get("/market").text
    token = client.post("/api/v1/auth/token", data={"username": "analyst", "password": "analyst-demo"}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    runs = client.get("/api/v1/market/runs", headers=headers).json()
    assert sorted(x["scenario"] for x in runs) == sorted(DEMO_SCENARIOS)
    for name in DEMO_SCENARIOS:
        assert name in home
    cut = next(x for x in runs if x["scenario"] == "medium_heavy_export_cut")
    detail = client.get(f"/api/v1/market/runs/{cut['id']}", headers=headers).json()
    price = {(p["element"], p["market"]): p["price_usd_per_kg"] for p in detail["prices"] if p["year"] == 2027}
    # the cut opens a price gap between China and outside for a controlled element, not for an uncontrolled one
    assert price["Dy", "rest_of_world"] > price["Dy", "china"] + 5
    assert price["Nd", "rest_of_world"] == pytest.approx(price["Nd", "china"], abs=0.01)
    page_ = client.get(f"/market/runs/{cut['id']}").text
    for chart in ("market-prices", "market-supply", "market-indicators"):
        assert chart in page_
