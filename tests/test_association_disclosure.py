"""Disclosure control end to end on SQLite and PostgreSQL: no API path, page or export shows a suppressed cell or
one member's raw price to anyone but that member and the regulator; submissions are atomic, idempotent and
concurrent submitters lose nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from restrat.api.app import create_app
from restrat.association import models, service
from restrat.auth import service as auth
from restrat.registry import service as registry
from restrat.store.db import session_factory

# Distinctive prices that must never leave the platform except to their submitter and the regulator.
SECRET = {"E1": ["1234.56", "777.77"], "E2": ["1300.01"]}
USERS = [("reg", "regulator", None), ("assoc", "association", None), ("ana", "analyst", None),
         ("root", "admin", None)] + [(f"e{i}", "enterprise", f"E{i}") for i in range(1, 5)]


def _prices(rows: list[tuple[str, str, float, float]]) -> list[dict[str, object]]:
    return [{"product": p, "price_date": d, "price": price, "currency": "CNY", "volume_t": v}
            for p, d, price, v in rows]


@pytest.fixture
def market(db: Engine) -> Engine:
    with session_factory(db)() as s, s.begin():
        for i in range(1, 5):
            registry.create_enterprise(session=s, code=f"E{i}", name=f"Member {i}", country="China")
        for name, role, ent in USERS:
            auth.create_user(session=s, username=name, password=f"{name}-password", role=role, enterprise_code=ent)
        # Dy: two members only (suppressed). NdPr: E1 holds 70 % (suppressed). Tb: three equal members (published).
        service.submit(session=s, enterprise="E1", username="e1", rows=_prices([
            ("Dy_oxide", "2024-01-10", 1234.56, 5), ("NdPr_oxide", "2024-01-10", 777.77, 70),
            ("Tb_oxide", "2024-01-10", 5000.0, 10)]))
        service.submit(session=s, enterprise="E2", username="e2", rows=_prices([
            ("Dy_oxide", "2024-01-11", 1300.01, 5), ("NdPr_oxide", "2024-01-11", 800.5, 15),
            ("Tb_oxide", "2024-01-11", 5100.0, 10)]))
        service.submit(session=s, enterprise="E3", username="e3", rows=_prices([
            ("NdPr_oxide", "2024-01-12", 810.25, 15), ("Tb_oxide", "2024-01-12", 5350.0, 10)]))
    return db


@pytest.fixture
def client(market: Engine) -> TestClient:
    return TestClient(create_app(market))


def _h(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-password"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _page(client: TestClient, user: str) -> str:
    client.cookies.clear()
    client.post("/login", data={"username": user, "password": f"{user}-password", "next": "/association"})
    r = client.get("/association")
    assert r.status_code == 200
    return r.text


AGGREGATE_PATHS = ["/api/v1/association/index", "/api/v1/association/statistics", "/api/v1/association/products",
                   "/api/v1/association/index?product=Dy_oxide", "/api/v1/association/index?product=NdPr_oxide"]


def test_index_publishes_the_full_cell_and_blanks_the_suppressed_ones(client: TestClient) -> None:
    cells = {c["product"]: c for c in client.get("/api/v1/association/index", headers=_h(client, "assoc")).json()}
    assert cells["Tb_oxide"]["suppressed"] is False and cells["Tb_oxide"]["contributors"] == 3
    for product in ("Dy_oxide", "NdPr_oxide"):
        assert cells[product] == {"product": product, "currency": "CNY", "period": "2024-01", "suppressed": True,
                                  "contributors": None, "volume_t": None, "index_price": None}


@pytest.mark.parametrize("user", ["assoc", "ana", "root", "e3", "e4"])
def test_no_aggregate_path_or_page_shows_another_members_price(client: TestClient, user: str) -> None:
    h = _h(client, user)
    bodies = [client.get(p, headers=h).text for p in AGGREGATE_PATHS] + [_page(client, user)]
    for secret in SECRET["E1"] + SECRET["E2"]:
        assert not any(secret in b for b in bodies), (user, secret)


@pytest.mark.parametrize("user", ["assoc", "ana", "root"])
def test_raw_submissions_are_refused_to_everyone_but_members_and_the_regulator(client: TestClient,
                                                                               user: str) -> None:
    h = _h(client, user)
    assert client.get("/api/v1/association/submissions", headers=h).status_code == 403
    assert client.get("/api/v1/association/submissions?enterprise=E1", headers=h).status_code == 403


def test_a_member_sees_its_own_raw_prices_only(client: TestClient) -> None:
    h = _h(client, "e2")
    rows = client.get("/api/v1/association/submissions", headers=h).json()
    assert {r["enterprise"] for r in rows} == {"E2"} and len(rows) == 3
    assert client.get("/api/v1/association/submissions?enterprise=E1", headers=h).status_code == 403
    page = _page(client, "e2")
    assert "1300.01" in page.replace(",", "") and not any(s in page.replace(",", "") for s in SECRET["E1"])


def test_the_regulator_sees_every_raw_price(client: TestClient) -> None:
    h = _h(client, "reg")
    rows = client.get("/api/v1/association/submissions", headers=h).json()
    assert len(rows) == 8 and {r["enterprise"] for r in rows} == {"E1", "E2", "E3"}
    one = client.get("/api/v1/association/submissions", params={"enterprise": "E1"}, headers=h).json()
    assert sorted(r["price"] for r in one) == [777.77, 1234.56, 5000.0]


def test_only_enterprise_users_submit_and_resubmitting_changes_nothing(client: TestClient) -> None:
    body = {"prices": _prices([("Dy_oxide", "2024-01-20", 1400.0, 3)])}
    assert client.post("/api/v1/association/submissions", json=body, headers=_h(client, "assoc")).status_code == 403
    h = _h(client, "e4")
    r = client.post("/api/v1/association/submissions", json=body, headers=h)
    assert r.status_code == 201 and r.json() == {"new": 1, "updated": 0, "unchanged": 0}
    assert client.post("/api/v1/association/submissions", json=body, headers=h).json()["unchanged"] == 1
    body["prices"][0]["price"] = 1410.0
    assert client.post("/api/v1/association/submissions", json=body, headers=h).json()["updated"] == 1


def test_a_bad_row_writes_nothing_and_names_row_and_field(client: TestClient, market: Engine) -> None:
    body = {"prices": _prices([("Dy_oxide", "2024-02-01", 1400.0, 3), ("Unobtainium", "2024-02-01", 1.0, 1)])}
    r = client.post("/api/v1/association/submissions", json=body, headers=_h(client, "e4"))
    problem = r.json()["detail"][0]
    assert r.status_code == 422 and problem["row"] == 2 and problem["loc"][-1] == "product"
    with session_factory(market)() as s:
        assert s.scalar(select(func.count()).select_from(models.PriceSubmission)
                        .where(models.PriceSubmission.price_date >= dt.date(2024, 2, 1))) == 0


def test_concurrent_members_lose_no_submission(market: Engine) -> None:
    days = [f"2024-03-{d:02d}" for d in range(1, 29)]

    def member(code: str) -> None:
        for day in days:
            with session_factory(market)() as s, s.begin():
                service.submit(session=s, enterprise=code, username=code,
                               rows=_prices([("Ce_oxide", day, 7.0, 1.0)]))

    threads = [threading.Thread(target=member, args=(f"E{i}",)) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_factory(market)() as s:
        n = s.scalar(select(func.count()).select_from(models.PriceSubmission)
                     .where(models.PriceSubmission.product == "Ce_oxide"))
    assert n == 4 * len(days)
