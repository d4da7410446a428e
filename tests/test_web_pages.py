"""Web pages: the login gate, each page's real content, HTMX fragments and logout; on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from restrat.api.app import create_app
from restrat.auth import models as auth_models

PAGES = ["/", "/aspects/1", "/catalog", "/catalog/forms", "/catalog/hs", "/registry/facilities",
         "/registry/enterprises", "/registry/groups", "/reference", "/quota/history", "/world/production"]


@pytest.fixture
def client(demo_db: Engine) -> TestClient:
    return TestClient(create_app(demo_db))


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    r = client.post("/login", data={"username": "analyst", "password": "analyst-demo", "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    return client


def _codes(html: str) -> list[str]:
    return re.findall(r'href="/registry/facilities/([A-Z0-9-]+)"', html)


@pytest.mark.parametrize("path", PAGES + ["/registry/facilities/TP-001", "/reference/cn_quota_national.csv"])
def test_pages_send_a_visitor_to_login_and_back(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text
    assert f'value="{path}"' in form.text


def test_fragment_request_without_session_asks_htmx_to_redirect(client: TestClient) -> None:
    r = client.get("/registry/facilities/rows?q=Baotou", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login?next=")
    r = client.get("/catalog/hs/rows?q=Nd", follow_redirects=False,
                   headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/catalog/hs?q=N"})
    assert r.headers["HX-Redirect"] == "/login?next=%2Fcatalog%2Fhs%3Fq%3DN"


def test_wrong_password_is_refused_with_a_message_and_audited(client: TestClient, demo_db: Engine) -> None:
    r = client.post("/login", data={"username": "regulator", "password": "wrong"}, follow_redirects=False)
    assert r.status_code == 401
    assert "Wrong user name or password" in r.text and 'value="regulator"' in r.text
    assert client.get("/", follow_redirects=False).status_code == 303
    with Session(demo_db) as s:
        actions = s.scalars(select(auth_models.AuditLog.action).where(auth_models.AuditLog.username == "regulator"))
        assert "login_failed" in list(actions)


def test_login_returns_to_the_page_asked_for_but_never_off_site(client: TestClient, demo_db: Engine) -> None:
    r = client.post("/login", data={"username": "regulator", "password": "regulator-demo",
                                    "next": "/quota/history"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/quota/history"
    with Session(demo_db) as s:
        assert s.scalar(select(auth_models.AuditLog).where(auth_models.AuditLog.username == "regulator",
                                                           auth_models.AuditLog.action == "login")) is not None
    client.post("/logout")
    r = client.post("/login", data={"username": "regulator", "password": "regulator-demo",
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_user_role_and_the_seven_aspects(signed_in: TestClient, path: str) -> None:
    r = signed_in.get(path)
    assert r.status_code == 200, r.text[:500]
    assert "analyst" in r.text and 'action="/logout"' in r.text
    for n in range(1, 8):
        assert f'href="/aspects/{n}"' in r.text
    assert "Data provenance" in r.text


def test_home_map_carries_every_facility_and_the_approximation_notes(signed_in: TestClient) -> None:
    html = signed_in.get("/").text
    assert 'data-figure="facility-map-figure"' in html and '"type": "scattergeo"' in html
    assert "TP-001" in html and "ILL-MIN-001" in html
    assert "locations are approximate" in html and "illustrative" in html
    assert "Mining and beneficiation" in html and "China" in html


def test_aspect_page_says_what_is_not_built(signed_in: TestClient) -> None:
    from restrat.web.aspects import ASPECTS

    html = signed_in.get("/aspects/4").text
    assert 'href="/quota/history"' in html and 'href="/quota/optimiser"' in html and "total quantity control" in html
    # Aspect 4's capabilities are all built now; any aspect with a capability not yet built says so.
    unbuilt = [a.number for a in ASPECTS if any(c.href is None for c in a.pages)]
    for number in unbuilt:
        assert "not built yet" in signed_in.get(f"/aspects/{number}").text
    assert signed_in.get("/aspects/9").status_code == 404


def test_catalog_pages_show_real_elements_forms_and_tariff_lines(signed_in: TestClient) -> None:
    html = signed_in.get("/catalog").text
    assert "Nd2O3" in html and "0.8574" in html and "Neodymium" in html
    forms = signed_in.get("/catalog/forms").text
    assert "Cracking and separation" in forms and "mixed_carbonate" in forms
    hs = signed_in.get("/catalog/hs").text
    assert "2805301100" in hs and 'hx-get="/catalog/hs/rows"' in hs


def test_hs_fragment_filters_rows(signed_in: TestClient) -> None:
    frag = signed_in.get("/catalog/hs/rows", params={"q": "Dysprosium"}, headers={"HX-Request": "true"}).text
    assert "<html" not in frag and "2805301200" in frag and "2805301100" not in frag
    assert "No tariff line matches" in signed_in.get("/catalog/hs/rows", params={"q": "zzzz"}).text


def test_facility_search_fragment_filters_by_text_and_stage(signed_in: TestClient) -> None:
    everything = _codes(signed_in.get("/registry/facilities/rows").text)
    mines = _codes(signed_in.get("/registry/facilities/rows", params={"stage": "mining"}).text)
    assert mines and set(mines) < set(everything)
    assert all(c.startswith(("ILL-MIN-", "TP-", "SYN-MIN-")) for c in mines)
    baotou = signed_in.get("/registry/facilities/rows", params={"q": "Baotou", "stage": "separation"},
                           headers={"HX-Request": "true"}).text
    assert "<html" not in baotou
    assert _codes(baotou) and all("ILL-SEP" in c or c.startswith("TP-") for c in _codes(baotou))
    assert "row cap" in baotou


def test_facility_list_stops_at_the_row_cap(signed_in: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESTRAT_ROW_CAP", "5")
    html = signed_in.get("/registry/facilities").text
    assert len(_codes(html)) == 5 and "row cap of 5" in html


def test_facility_detail_shows_status_and_group(signed_in: TestClient) -> None:
    tp = signed_in.get("/registry/facilities/TP-001").text
    assert "Bayan Obo" in tp and "approximate" in tp and "China Northern Rare Earth (CNRE)" in tp
    ill = signed_in.get("/registry/facilities/ILL-SEP-001").text
    assert "illustrative" in ill and "It is not a real plant" in ill
    assert signed_in.get("/registry/facilities/NOPE").status_code == 404


def test_enterprises_and_groups(signed_in: TestClient) -> None:
    ents = signed_in.get("/registry/enterprises/rows", params={"q": "Northern"}).text
    assert "China Northern Rare Earth" in ents and "Lynas" not in ents
    today = signed_in.get("/registry/groups").text
    assert "China Rare Earth Group (CREG)" in today and "formed Dec 2021" in today
    before = signed_in.get("/registry/groups", params={"on": "2021-06-30"}).text
    assert re.search(r"CREG</code>.*?0 members on 2021-06-30", before, re.S)
    assert "is not a date" in signed_in.get("/registry/groups", params={"on": "yesterday"}).text


def test_reference_pages_show_sources_and_status_badges(signed_in: TestClient) -> None:
    index = signed_in.get("/reference").text
    assert "cn_quota_national.csv" in index and "public domain (USGS)" in index
    page = signed_in.get("/reference/cn_quota_national.csv").text
    assert 'class="badge badge-recalled"' in page and 'class="badge badge-seen"' in page
    assert 'class="badge badge-derived"' in page and "https://" in page
    usgs = signed_in.get("/reference/ree_usgs_mcs_world_mine_production.csv").text
    assert "MCS2022" in usgs and "every row is seen" in usgs
    assert signed_in.get("/reference/..%2F..%2Fpyproject.toml").status_code == 404
    assert signed_in.get("/reference/not_a_file.csv").status_code == 404


def test_quota_history_marks_recalled_values(signed_in: TestClient) -> None:
    html = signed_in.get("/quota/history").text
    assert 'class="badge badge-recalled"' in html and "Recalled values" in html
    assert '"type": "bar"' in html and "270,000" in html and "not published" in html


def test_world_production_charts_usgs_figures(signed_in: TestClient) -> None:
    html = signed_in.get("/world/production").text
    assert "production-chart-figure" in html and "reserves-chart-figure" in html
    assert "270,000" in html and "44,000,000" in html and "Mineral Commodity Summaries" in html


def test_logout_ends_the_session(signed_in: TestClient) -> None:
    assert signed_in.get("/", follow_redirects=False).status_code == 200
    r = signed_in.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_pages_render_on_a_database_without_demo_data(db: Engine) -> None:
    from restrat.auth import service as auth

    with Session(db) as s, s.begin():
        auth.create_user(session=s, username="solo", password="solo-password", role="analyst")
    client = TestClient(create_app(db))
    client.post("/login", data={"username": "solo", "password": "solo-password"})
    for path in ("/", "/registry/facilities", "/registry/groups", "/quota/history", "/catalog"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
    assert "0 facilities" in client.get("/").text
