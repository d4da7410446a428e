"""Export control over HTTP on the demo database: the API (OpenAPI, control list, classification, licences for the
exporter and the authority, role rules) and the pages (control list, changes, classification, licences, review,
screening), on SQLite and PostgreSQL; one browser test in Chromium."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the other browser tests

from restrat.api.app import create_app

PAGES = ["/exports", "/exports/diff", "/exports/classify", "/exports/content", "/exports/licences", "/exports/review",
         "/exports/screening", "/exports/flags"]
APPLICATION = {"consignee": "Magnet GmbH", "consignee_country": "Germany", "end_user": "Motor AG",
               "end_user_country": "DE", "end_use": "EV traction motors", "end_use_class": "civil",
               "destination": "Germany", "lines": [{"form": "magnet_ndfeb", "hs_code": "8505111000",
                                                    "composition": "Nd:0.7;Pr:0.25;Dy:0.05", "quantity_kg": 500}]}


@pytest.fixture
def app(demo_db: Engine) -> object:
    return create_app(demo_db)


def _client(app: object, username: str) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    r = client.post("/login", data={"username": username, "password": f"{username}-demo", "next": "/exports"},
                    follow_redirects=False)
    assert r.status_code == 303
    return client


def _token(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": f"{username}-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_api_is_in_openapi_and_answers_what_applied_on_a_date(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/exports/control-list", "/api/v1/exports/classify", "/api/v1/exports/licences",
            "/api/v1/exports/review/proposals", "/api/v1/exports/screening/screen"} <= set(paths)
    assert client.get("/api/v1/exports/control-list").status_code == 401
    h = _token(client, "analyst")
    during = client.get("/api/v1/exports/control-list?on=2026-01-01", headers=h).json()
    assert "1C909.a" in {s["item_code"] for s in during["suspended"]}
    after = client.get("/api/v1/exports/control-list?on=2026-11-29", headers=h).json()
    assert "1C909.a" in {e["item_code"] for e in after["entries"]} and after["lapsed_suspensions"]
    r = client.post("/api/v1/exports/classify", headers=h, json={"form": "magnet_ndfeb", "hs_code": "8505111000",
                                                                 "composition": "Nd:0.7;Dy:0.05",
                                                                 "on": "2026-11-29"})
    assert r.status_code == 200 and r.json()["licence"] == "dual_use_licence"
    bad = client.post("/api/v1/exports/classify", headers=h, json={"form": "magnet", "hs_code": "99"})
    assert bad.status_code == 422 and {d["loc"][-1] for d in bad.json()["detail"]} == {"form", "hs_code"}


def test_exporter_applies_and_the_authority_decides_over_the_api(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    ent, reg = _token(client, "enterprise"), _token(client, "regulator")
    missing = client.post("/api/v1/exports/licences", headers=ent, json={**APPLICATION, "end_use_class": None})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "end_use_class"
    assert client.post("/api/v1/exports/licences", headers=reg, json=APPLICATION).status_code == 403
    lic = client.post("/api/v1/exports/licences", headers=ent, json=APPLICATION).json()
    code = lic["code"]
    assert lic["state"] == "draft"
    move = f"/api/v1/exports/licences/{code}/transitions"
    assert client.post(move, headers=reg, json={"to": "submitted"}).status_code == 403
    submitted = client.post(move, headers=ent, json={"to": "submitted"}).json()
    assert submitted["review_due"] and submitted["screening_band"] in ("no_match", "review", "potential_match")
    client.post(move, headers=reg, json={"to": "under_review"})
    assert client.post(move, headers=reg, json={"to": "approved"}).status_code == 422  # a reason is required
    approved = client.post(move, headers=reg, json={"to": "approved", "reason": "end use verified"}).json()
    assert approved["state"] == "approved" and approved["valid_to"]
    detail = client.get(f"/api/v1/exports/licences/{code}", headers=ent).json()
    assert [h["to"] for h in detail["history"]] == ["draft", "submitted", "under_review", "approved"]
    others = [r["code"] for r in client.get("/api/v1/exports/licences", headers=reg).json() if r["code"] != code]
    assert client.get(f"/api/v1/exports/licences/{others[0]}", headers=ent).status_code == 403
    assert {r["code"] for r in client.get("/api/v1/exports/licences", headers=ent).json()} == {code}


@pytest.mark.parametrize("path", PAGES)
def test_every_export_page_renders_for_the_analyst(app: object, path: str) -> None:
    r = _client(app, "analyst").get(path)
    assert r.status_code == 200, r.text[:400]
    assert 'href="/exports/review"' in r.text


def test_control_list_page_shows_the_lapsed_suspension_and_the_timeline(app: object) -> None:
    text = _client(app, "analyst").get("/exports?on=2026-11-29").text
    assert "Suspension lapsed" in text and "2026-11-11" in text and "timeline-chart" in text
    assert "1C909.a" in text and "inferred" in text
    during = _client(app, "analyst").get("/exports?on=2026-03-01").text
    assert 'id="suspended"' in during and "Suspension lapsed" not in during
    diff = _client(app, "analyst").get("/exports/diff?start=2025-11-01&end=2026-11-29").text
    assert 'id="no-changes"' in diff and "suspension lapses" in diff


def test_classification_form_answers_with_items_and_reasons_or_field_errors(app: object) -> None:
    client = _client(app, "analyst")
    r = client.post("/exports/classify", headers={"HX-Request": "true"},
                    data={"form": "magnet_ndfeb", "hs_code": "8505111000", "composition": "Nd:0.7;Tb:0.01",
                          "value_usd": "100", "on": "2026-11-29"})
    assert "controlled" in r.text and "1C904.a" in r.text and "Tb 1.0% of REO" in r.text
    bad = client.post("/exports/classify", data={"form": "metal", "hs_code": "12", "on": "2026-11-29"})
    assert bad.status_code == 422 and "field &#39;hs_code&#39;" in bad.text


def test_exporter_applies_on_the_page_and_the_regulator_decides_there(app: object) -> None:
    ent = _client(app, "enterprise")
    r = ent.post("/exports/licences", data={"consignee": "A", "consignee_country": "Japan", "end_user": "B",
                                            "end_user_country": "Japan", "destination": "Japan", "end_use": "x",
                                            "end_use_class": "", "form": "metal", "quantity_kg": "10"})
    assert r.status_code == 422 and "end-use declaration is required" in r.text
    r = ent.post("/exports/licences", follow_redirects=False, data={
        "consignee": "A", "consignee_country": "Japan", "end_user": "B", "end_user_country": "Japan",
        "destination": "Japan", "end_use": "motors", "end_use_class": "civil", "form": "metal",
        "composition": "Nd:1", "quantity_kg": "10"})
    assert r.status_code == 303
    code = re.search(r"/exports/licences/([^?]+)", r.headers["location"]).group(1)
    ent.post(f"/exports/licences/{code}/move", data={"to": "submitted"})
    reg = _client(app, "regulator")
    queue = reg.get("/exports/licences").text
    assert code in queue and "Working days left" in queue
    reg.post(f"/exports/licences/{code}/move", data={"to": "under_review"})
    refused = reg.post(f"/exports/licences/{code}/move", data={"to": "denied"}, follow_redirects=False)
    assert "reason" in refused.headers["location"]
    reg.post(f"/exports/licences/{code}/move", data={"to": "denied", "reason": "end user unknown"})
    html = ent.get(f"/exports/licences/{code}").text
    assert "denied" in html and "end user unknown" in html
    assert _client(app, "association").get(f"/exports/licences/{code}").status_code == 200
    flags = reg.get("/exports/licences").text
    assert 'id="flags"' in flags and "beyond licence" in flags


def test_flags_page_lists_flagged_ledger_exports_by_reason_and_filters(app: object, demo_db: Engine) -> None:
    from restrat.exports import licences
    from restrat.store.db import session_factory

    with session_factory(demo_db)() as s:
        counts = licences.flag_counts(session=s).set_index("rule").exports.to_dict()
        newest = licences.list_flags(session=s, limit=1).iloc[0]
    assert counts, "the demo ledger has flagged exports"
    reg = _client(app, "regulator")
    html = reg.get("/exports/flags").text
    assert 'id="flag-table"' in html and 'data-figure="flag-chart-figure"' in html
    assert newest.uid in html and newest.facility in html and newest.reason in html
    for rule, n in counts.items():
        assert f'href="/exports/flags?rule={rule}">{rule.replace("_", " ")}</a></td><td class="num">{n}</td>' in html
    rule = next(iter(counts))
    one = reg.get("/exports/flags", params={"rule": rule}).text.split('id="flag-table"')[1]
    shown = re.findall(r'<td class="nowrap" title="[^"]*">([a-z ]+)</td>', one)
    assert shown and set(shown) == {rule.replace("_", " ")}
    bad = reg.get("/exports/flags", params={"rule": "late"})
    assert bad.status_code == 422 and "must be one of" in bad.text
    assert _client(app, "association").get("/exports/flags").status_code == 403
    api = TestClient(app)  # type: ignore[arg-type]
    rows = api.get("/api/v1/exports/flags", params={"rule": rule}, headers=_token(api, "regulator")).json()
    assert len(rows) == min(counts[rule], 1000) and {r["rule"] for r in rows} == {rule} and rows[0]["reason"]


def test_content_page_reports_the_computation_over_several_batches_and_the_dated_rules(app: object,
                                                                                     demo_db: Engine) -> None:
    from sqlalchemy import text

    with demo_db.connect() as c:
        batches = [r[0] for r in c.execute(text("SELECT code FROM ledger_batch WHERE form = 'separated_oxide' "
                                                "ORDER BY id LIMIT 2"))]
    client = _client(app, "analyst")
    html = client.get("/exports/content", params={"batch": batches[0], "kg": "100", "more": f"{batches[1]}:50",
                                                  "value": "100000", "on": "2026-12-01"}).text
    assert 'id="content-result"' in html and 'id="content-inputs"' in html and 'id="content-steps"' in html
    assert batches[0] in html and batches[1] in html and "threshold 0.1000% on 2026-12-01" in html
    rules = html.split('id="content-rules"')[1]
    assert "MOFCOM-2025-61" in rules and "0.10%" in rules and "2025-11-07 to 2026-11-10" in rules
    bad = client.get("/exports/content", params={"batch": batches[0], "kg": "100", "more": "NOPE:5",
                                                 "value": "1", "on": "2026-12-01"}).text
    assert "row 2" in bad and "is not a ledger batch" in bad


def test_review_page_proposes_and_the_regulator_accepts(app: object) -> None:
    analyst = _client(app, "analyst")
    analyst.post("/exports/review/propose", data={"effective_date": "2027-01-01"})
    html = analyst.get("/exports/review").text
    assert "Proposal 1 from 2027-01-01" in html and "Accept" not in html
    reg = _client(app, "regulator")
    reg.post("/exports/review/1/decide", data={"accept": "accept", "reason": "data review"})
    assert "accepted" in reg.get("/exports/review").text


def test_screening_page_finds_a_listed_synthetic_party(app: object, demo_db: Engine) -> None:
    from restrat.exports import screening
    from restrat.store.db import session_factory

    with session_factory(demo_db)() as s:
        entry = screening.list_entries(session=s, name="synthetic-denied-parties").iloc[5]
    r = _client(app, "analyst").get("/exports/screening", params={"name": entry["name"], "country": entry.country},
                                    headers={"HX-Request": "true"})
    assert "potential match" in r.text and entry.entity_key in r.text


def test_browser_draws_the_control_list_timeline_and_classifies(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/exports?on=2026-11-29")
    page.wait_for_selector("#timeline-chart .barlayer .point", timeout=30_000)
    names = page.evaluate("() => document.getElementById('timeline-chart').data.map(t => t.name)")
    assert names == ["in force", "suspended"]
    page.goto(server + "/exports/classify")
    page.select_option("#form", "magnet_ndfeb")
    page.fill("#composition", "Nd:0.7;Dy:0.05")
    page.fill("#on", "2026-11-29")
    page.click("#classify-button")
    page.wait_for_selector("#classify-items", timeout=10_000)
    assert "1C905.a" in page.locator("#classify-result").inner_text()


def test_browser_draws_the_flagged_exports_chart(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/exports/flags")
    page.wait_for_selector("#flag-chart .barlayer .point", timeout=30_000)
    bars = page.evaluate("() => document.getElementById('flag-chart').data[0].x.reduce((a, b) => a + b, 0)")
    rows = page.locator("#flag-counts tbody tr").count()
    assert bars > 0 and rows >= 1
