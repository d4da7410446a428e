"""REST API: authentication, roles, enterprise scoping, field paths in errors, OpenAPI; on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from restrat.api.app import create_app


@pytest.fixture
def client(demo_db) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(demo_db))


def _login(client: TestClient, user: str, password: str | None = None) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": password or f"{user}-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_reads_without_a_token_are_refused(client: TestClient) -> None:
    assert client.get("/api/v1/catalog/elements").status_code == 401
    assert client.get("/api/v1/registry/facilities").status_code == 401


def test_wrong_password_and_forged_token_are_refused(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "regulator", "password": "wrong-password"})
    assert r.status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_token_identifies_the_user_and_role(client: TestClient) -> None:
    me = client.get("/api/v1/auth/me", headers=_login(client, "enterprise")).json()
    assert me["username"] == "enterprise" and me["role"] == "enterprise" and me["enterprise_id"] is not None


def test_element_read_carries_the_computed_factor(client: TestClient) -> None:
    nd = client.get("/api/v1/catalog/elements/neodymium", headers=_login(client, "analyst")).json()
    assert nd["oxide_formula"] == "Nd2O3" and round(nd["oxide_to_metal_factor"], 4) == 0.8574


def test_facility_filters_and_row_cap(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    h = _login(client, "analyst")
    mines = client.get("/api/v1/registry/facilities", params={"stage": "mining"}, headers=h).json()
    assert mines and all(f["stage"] == "mining" for f in mines)
    monkeypatch.setenv("RESTRAT_ROW_CAP", "5")
    assert len(client.get("/api/v1/registry/facilities", params={"limit": 100}, headers=h).json()) == 5


def test_unknown_records_answer_404_naming_the_field(client: TestClient) -> None:
    h = _login(client, "analyst")
    r = client.get("/api/v1/registry/facilities/NOPE", headers=h)
    assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["facility"]
    r = client.get("/api/v1/catalog/elements/Xx", headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "element"]


def test_malformed_hs_code_answers_422_with_the_field(client: TestClient) -> None:
    r = client.get("/api/v1/catalog/hs-codes/28x", headers=_login(client, "analyst"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "code"]


def test_analyst_may_not_register_enterprises(client: TestClient) -> None:
    body = {"code": "NEW", "name": "New Co", "country": "China"}
    assert client.post("/api/v1/registry/enterprises", json=body, headers=_login(client, "analyst")).status_code == 403
    r = client.post("/api/v1/registry/enterprises", json=body, headers=_login(client, "regulator"))
    assert r.status_code == 201 and r.json()["code"] == "NEW"


FACILITY = {"code": "NEWFAC", "name": "New separation line", "stage": "separation", "lat": 25.8, "lon": 114.9,
            "capacity_t_reo_per_year": 3000}


def test_enterprise_user_registers_facilities_only_for_its_own_enterprise(client: TestClient) -> None:
    h = _login(client, "enterprise")
    own = client.post("/api/v1/registry/facilities", json={**FACILITY, "enterprise": "ILL-SEP-001"}, headers=h)
    assert own.status_code == 201, own.text
    other = client.post("/api/v1/registry/facilities", json={**FACILITY, "code": "X2", "enterprise": "ILL-MIN-001"},
                        headers=h)
    assert other.status_code == 403


def test_bad_facility_fields_answer_422_with_field_paths(client: TestClient) -> None:
    h = _login(client, "regulator")
    r = client.post("/api/v1/registry/facilities", json={**FACILITY, "enterprise": "NOPE"}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "enterprise"]
    r = client.post("/api/v1/registry/facilities", json={**FACILITY, "enterprise": "ILL-SEP-001", "lat": 95},
                    headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "lat"]
    r = client.post("/api/v1/registry/facilities", json={**FACILITY, "enterprise": "ILL-SEP-001",
                                                         "capacity_t_reo_per_year": -1}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "capacity_t_reo_per_year"]


def test_bulk_import_with_one_bad_row_writes_nothing(client: TestClient) -> None:
    h = _login(client, "regulator")
    rows = [{**FACILITY, "code": "B1", "enterprise": "ILL-SEP-001"},
            {**FACILITY, "code": "B2", "enterprise": "ILL-SEP-001", "stage": "moon"}]
    r = client.post("/api/v1/registry/facilities/import", json={"rows": rows}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "rows", 1, "stage"]
    assert client.get("/api/v1/registry/facilities/B1", headers=h).status_code == 404


def test_writes_are_attributed_in_the_audit_log(client: TestClient, demo_db) -> None:  # type: ignore[no-untyped-def]
    from restrat.auth.service import recent_audit
    from restrat.store.db import session_factory

    client.post("/api/v1/registry/enterprises", json={"code": "AUD", "name": "Audited", "country": "China"},
                headers=_login(client, "regulator"))
    with session_factory(demo_db)() as s:
        entry = recent_audit(session=s, limit=1)[0]
    got = (entry.username, entry.action, entry.entity, entry.entity_key)
    assert got == ("regulator", "create", "enterprise", "AUD")


def test_openapi_documents_every_capability(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/auth/token", "/api/v1/catalog/elements", "/api/v1/registry/facilities"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
