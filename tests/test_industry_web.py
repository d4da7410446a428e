"""Industry API routes and pages on the demo database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from restrat.api.app import create_app
from restrat.store.db import session_factory


@pytest.fixture
def client(demo_db: Engine) -> TestClient:
    return TestClient(create_app(demo_db))


def _token(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_industry_api_answers_concentration_merger_access_and_clusters(client: TestClient,
                                                                       demo_db: Engine) -> None:
    h = _token(client, "analyst")
    assert client.get("/api/v1/industry/concentration").status_code == 401
    r = client.get("/api/v1/industry/concentration", params={"measure": "quota", "by": ["stage", "year"],
                                                              "year": 2024}, headers=h)
    assert r.status_code == 200, r.text
    mining = next(c for c in r.json() if c["stage"] == "mining")
    assert mining["total"] == 134_900 and mining["leader"] == "CNRE" and mining["region"] is None
    r = client.get("/api/v1/industry/concentration", params={"measure": "production", "by": "stage"}, headers=h)
    with session_factory(demo_db)() as s:
        made_t = s.execute(text("SELECT SUM(b.reo_kg) FROM ledger_batch b JOIN ledger_event e ON e.id = b.event_id "
                                "WHERE e.kind IN ('extraction', 'processing')")).scalar_one() / 1000
    assert sum(c["total"] for c in r.json()) == pytest.approx(made_t)
    r = client.post("/api/v1/industry/mergers/screen", headers=h, json={
        "owners": ["SOUTHERN_RE", "CHINALCO_RE"], "into": "CREG", "measure": "quota", "by": ["stage", "year"],
        "years": [2020]})
    assert r.status_code == 200, r.text
    assert next(c for c in r.json() if c["stage"] == "mining")["presumed_harmful"] is True
    r = client.post("/api/v1/industry/mergers/screen", headers=h, json={"owners": ["NOPE", "CNRE"], "into": "X"})
    assert r.status_code == 422 and "NOPE" in r.text
    r = client.get("/api/v1/industry/access-checks", params={"on": "2016-07-01", "only_short": True}, headers=h)
    assert r.status_code == 200 and r.json() and {c["verdict"] for c in r.json()} == {"falls_short"}
    assert all(c["reasons"] for c in r.json())
    r = client.get("/api/v1/industry/clusters", params={"eps_km": 80}, headers=h)
    assert r.status_code == 200 and r.json()[0]["completeness"] > 0
    r = client.get("/api/v1/industry/vertical-integration", headers=h)
    groups = {c["owner"]: c for c in r.json() if c["owner_kind"] == "group"}
    assert r.status_code == 200 and groups and all(0 <= c["vi_pct"] <= 100 for c in groups.values())
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/industry/concentration", "/api/v1/industry/mergers/screen", "/api/v1/industry/access-checks",
            "/api/v1/industry/clusters", "/api/v1/industry/vertical-integration"} <= set(paths)


def test_industry_pages_render_with_charts_and_labels(client: TestClient) -> None:
    for path in ("/industry/concentration", "/industry/access", "/industry/clusters"):
        assert client.get(path, follow_redirects=False).status_code == 303
    client.post("/login", data={"username": "analyst", "password": "analyst-demo", "next": "/"})
    r = client.get("/industry/concentration")
    assert r.status_code == 200 and 'id="hhi-chart"' in r.text and "cn_quota_groups.csv" in r.text
    assert "Vertical integration of the groups" in r.text and "<code>CNRE</code>" in r.text
    r = client.get("/industry/concentration", params={"measure": "capacity", "dim": "region"})
    assert r.status_code == 200 and "illustrative" in r.text
    r = client.post("/industry/merger", data={"measure": "quota", "dim": "stage", "owners": ["SOUTHERN_RE",
                                                                                             "CHINALCO_RE"],
                                              "into": "CREG"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "presumed to lessen competition" in r.text
    r = client.post("/industry/merger", data={"measure": "quota", "dim": "stage", "owners": ["CNRE"], "into": "CNRE"})
    assert "name at least two owners" in r.text
    r = client.get("/industry/access", params={"on": "2016-07-01"})
    assert r.status_code == 200 and "falls short" in r.text and "2016 conditions" in r.text
    r = client.get("/industry/access", params={"on": "2012-08-05"})
    assert "No access conditions were in force" in r.text
    r = client.get("/industry/clusters", params={"eps_km": 80, "min_samples": 3})
    assert r.status_code == 200 and 'id="cluster-map"' in r.text and "ILLUSTRATIVE" in r.text


def test_value_chain_api_and_page_label_assumptions_and_keep_enterprises_national(client: TestClient) -> None:
    h = _token(client, "analyst")
    r = client.get("/api/v1/industry/value-chain", params={"by": "group"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {s["stage"] for s in body["stages"]} >= {"mining", "separation", "material"}
    assert any(m["multiplier"] and m["multiplier"] > 1 for m in body["multipliers"])
    assert {p["status"] for p in body["stage_prices"]} == {"seen", "assumption"}
    r = client.get("/api/v1/industry/value-chain", params={"by": "nation"}, headers=h)
    assert r.status_code == 422 and "national" in r.text
    e = _token(client, "enterprise")
    assert client.get("/api/v1/industry/value-chain", params={"by": "group"}, headers=e).status_code == 403
    assert client.get("/api/v1/industry/value-chain", headers=e).status_code == 200
    clusters = client.get("/api/v1/industry/clusters", params={"eps_km": 80}, headers=h).json()
    assert any(c["value_added_usd"] for c in clusters) and clusters[0]["value_year"]
    client.post("/login", data={"username": "analyst", "password": "analyst-demo", "next": "/"})
    page = client.get("/industry/value-chain?by=cluster")
    assert page.status_code == 200
    assert 'id="value-sankey"' in page.text and 'id="mass-sankey"' in page.text
    assert "ILLUSTRATIVE assumption" in page.text and "Multiplier from ore" in page.text
    assert "Value added" in client.get("/industry/clusters").text
