"""Technology API routes and pages on the demo database (SQLite and PostgreSQL): each part answers, and an
enterprise sees its own projects and public aggregates only; plus the network drawn in a real browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from restrat.api.app import create_app


@pytest.fixture
def client(demo_db: Engine) -> Iterator[TestClient]:
    yield TestClient(create_app(demo_db))


def _token(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_technology_api_answers_each_part_and_enforces_who_sees_what(client: TestClient) -> None:
    base = "/api/v1/technology"
    assert client.get(f"{base}/projects").status_code == 401
    analyst, ent, assoc = (_token(client, u) for u in ("analyst", "enterprise", "association"))
    projects = client.get(f"{base}/projects", headers=analyst).json()
    assert len(projects) == 7 and {p["data_status"] for p in projects} == {"illustrative"}
    mag = next(p for p in projects if p["code"] == "TP-MAG-01")
    assert (mag["pilot_on"], mag["production_on"], mag["days_to_pilot"]) == ("2023-09-01", "2026-09-01", 959)
    benefit = client.get(f"{base}/benefit", headers=analyst).json()
    assert {b["code"] for b in benefit} == {"TP-SEP-01", "TP-MAG-01", "TP-MET-01", "TP-ION-01"}
    assert all(b["value_usd"] > 0 and b["reo_t"] > 0 for b in benefit)
    names = {r["indicator"] for r in client.get(f"{base}/indicators", headers=analyst).json()}
    assert names == {"patents_filed", "projects_started", "median_years_to_production", "high_end_share",
                     "share_output_processes_last_5y"}
    net = client.get(f"{base}/network", headers=analyst).json()
    assert net["full"] and len(net["actors"]) == net["summary"]["actors"] == 13 and net["edges"]
    lonely = {f["field"] for f in net["fields"] if f["no_enterprise"] and f["institutions"]}
    assert lonely == {"catalysts", "polishing_powders"}
    status = client.get(f"{base}/control", params={"on": "2025-11-07", "field": "recycling"}, headers=analyst)
    assert status.json()[0]["status"] == "not_listed" and status.json()[0]["suspended_items"] == "1E902.a"
    assert client.get(f"{base}/control", params={"on": "2025-11-07", "field": "alchemy"},
                      headers=analyst).status_code == 422
    assert len(client.get(f"{base}/export-applications", headers=analyst).json()) == 3

    # the demo enterprise (ILL-SEP-001) leads TP-SEP-02 and joins TP-SEP-01
    mine = client.get(f"{base}/projects", headers=ent).json()
    assert {p["code"] for p in mine} == {"TP-SEP-01", "TP-SEP-02"}
    assert client.get(f"{base}/projects/TP-MAG-01", headers=ent).status_code == 403
    assert client.get(f"{base}/projects/TP-SEP-02", headers=ent).json()["project"]["lead_enterprise"] == "ILL-SEP-001"
    assert {b["code"] for b in client.get(f"{base}/benefit", headers=ent).json()} == {"TP-SEP-01"}
    assert {p["number"] for p in client.get(f"{base}/patents", headers=ent).json()} == {
        "ILL-PAT-0001", "ILL-PAT-0002", "ILL-PAT-0008"}
    ent_net = client.get(f"{base}/network", headers=ent).json()
    assert not ent_net["full"] and [a["actor"] for a in ent_net["actors"]] == ["E:ILL-SEP-001"]
    assert ent_net["edges"] == [] and ent_net["summary"] == net["summary"]
    assert client.get(f"{base}/export-applications", headers=ent).json() == []
    assert client.get(f"{base}/indicators", headers=ent).json() == client.get(f"{base}/indicators",
                                                                              headers=analyst).json()
    assert client.get(f"{base}/projects", headers=assoc).json() == []
    assert client.get(f"{base}/network", headers=assoc).json()["actors"] == []

    # writes: an enterprise records its own project's readiness, not another's; bad levels are named
    row = {"project": "TP-SEP-02", "assessed_on": "2026-10-01", "level": 6}
    r = client.post(f"{base}/import", json={"readiness": [row]}, headers=ent)
    assert r.status_code == 201 and r.json()["readiness"] == 1
    assert client.post(f"{base}/import", json={"readiness": [row]}, headers=ent).json()["readiness"] == 0
    assert client.post(f"{base}/import", json={"readiness": [{**row, "project": "TP-MAG-01"}]},
                       headers=ent).status_code == 403
    bad = client.post(f"{base}/import", json={"readiness": [{**row, "assessed_on": "2026-10-02", "level": 12}]},
                      headers=ent)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "readiness.level"
    applied = client.post(f"{base}/export-applications", headers=ent, json={
        "project": "TP-SEP-02", "recipient": "Buyer", "recipient_country": "Viet Nam", "applied_on": "2025-01-01"})
    assert applied.status_code == 201 and applied.json()["control_status"] == "technology_prohibited"
    assert client.post(f"{base}/export-applications", headers=ent, json={
        "project": "TP-SEP-01", "recipient": "Buyer", "recipient_country": "Viet Nam",
        "applied_on": "2025-01-01"}).status_code == 403  # a partner, not the lead
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"{base}/projects", f"{base}/benefit", f"{base}/network", f"{base}/indicators", f"{base}/control",
            f"{base}/export-applications", f"{base}/import"} <= set(paths)


def test_technology_pages_render_with_charts_labels_and_roles(client: TestClient) -> None:
    pages = ("/technology", "/technology/network", "/technology/export-control", "/technology/projects/TP-MAG-01")
    for path in pages:
        assert client.get(path, follow_redirects=False).status_code == 303
    client.post("/login", data={"username": "analyst", "password": "analyst-demo", "next": "/"})
    r = client.get("/technology")
    assert r.status_code == 200 and 'id="pipeline-chart"' in r.text and 'id="benefit-chart"' in r.text
    assert "ree_prices_usgs_annual_latest_edition.csv" in r.text and "None is a real project" in r.text
    r = client.get("/technology/network")
    assert 'id="network-chart"' in r.text and "no enterprise partner" in r.text
    r = client.get("/technology/export-control", params={"on": "2025-11-07"})
    assert 'id="control-chart"' in r.text and "1E902.a" in r.text
    r = client.get("/technology/projects/TP-MAG-01")
    assert 'id="readiness-chart"' in r.text and "technology prohibited" in r.text
    assert client.get("/technology/projects/NOPE").status_code == 404
    assert "/technology/network" in client.get("/aspects/2").text
    client.post("/logout")
    client.post("/login", data={"username": "enterprise", "password": "enterprise-demo", "next": "/"})
    assert client.get("/technology/projects/TP-MAG-01").status_code == 403
    r = client.get("/technology/network")
    assert r.status_code == 200 and 'id="network-chart"' not in r.text and "your own enterprise" in r.text
    form = client.get("/technology/export-control").text
    assert '<option value="TP-SEP-02">' in form and '<option value="TP-SEP-01">' not in form  # lead only
    r = client.post("/technology/export-control/apply", data={"project": "TP-SEP-02", "recipient": "Buyer",
                                                              "recipient_country": "Japan",
                                                              "applied_on": "2026-01-05"}, follow_redirects=False)
    assert r.status_code == 303
    assert "TEA-2026" in client.get("/technology/export-control").text
