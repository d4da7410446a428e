"""Ledger web pages on the demo ledger: overview with Sankey and verification, batch trace, facility balance,
anomalies with the scan, the role rules (enterprise, association) and the login gate; on SQLite and PostgreSQL.
One browser test draws the lineage graph and the Sankey in Chromium."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the other browser tests

from restrat.api.app import create_app
from restrat.auth import service as auth
from restrat.ledger import service
from restrat.store.db import session_factory

LEDGER_PAGES = ["/ledger", "/ledger/trace", "/ledger/balance", "/ledger/anomalies"]


@pytest.fixture
def client(demo_db: Engine) -> TestClient:
    return TestClient(create_app(demo_db))


def _sign_in(client: TestClient, username: str) -> TestClient:
    r = client.post("/login", data={"username": username, "password": f"{username}-demo", "next": "/ledger"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ledger"
    return client


@pytest.fixture
def analyst(client: TestClient) -> TestClient:
    return _sign_in(client, "analyst")


def _newest(engine: Engine, prefix: str) -> str:
    with session_factory(engine)() as s:
        return service.recent_batches(session=s, code_prefix=prefix, limit=1)[0]["code"]


@pytest.mark.parametrize("path", LEDGER_PAGES + ["/ledger/trace?batch=MAGNET-X&direction=up"])
def test_ledger_pages_send_a_visitor_to_login(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.post("/ledger/verify", headers={"HX-Request": "true"}, follow_redirects=False).status_code == 401
    assert client.post("/ledger/anomalies/scan", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", LEDGER_PAGES)
def test_every_ledger_page_renders_with_the_illustrative_banner(analyst: TestClient, path: str) -> None:
    r = analyst.get(path)
    assert r.status_code == 200, r.text[:500]
    assert "ILLUSTRATIVE data" in r.text and "recalled deposit profiles" in r.text
    assert 'href="/ledger/trace"' in r.text and 'href="/ledger/anomalies"' in r.text


def test_overview_counts_head_sankey_and_newest_events(analyst: TestClient, demo_db: Engine) -> None:
    html = analyst.get("/ledger").text
    with session_factory(demo_db)() as s:
        head = service.head(session=s)
        counts = service.event_counts(session=s)
    assert head["chain_hex"] in html
    assert f"{sum(counts.values()):,}" in html and "extraction" in html and "stock count" in html
    assert '"type": "sankey"' in html
    for stage in ("Mining and beneficiation", "Cracking and separation", "Metal smelting", "Functional materials",
                  "Exports", "Process losses"):
        assert stage in html
    assert re.search(r"<td><code>[A-Z0-9-]+</code></td><td>(stock count|export|processing)", html)
    assert 'id="event-table"' in html and "SYN-" in html


def test_flows_fragment_for_a_year_and_for_a_year_without_events(analyst: TestClient) -> None:
    frag = analyst.get("/ledger/flows", params={"year": 2026}, headers={"HX-Request": "true"}).text
    assert "<html" not in frag and '"type": "sankey"' in frag and "2026:" in frag
    assert "Cracking and separation" in frag
    # A year outside the ledger falls back to all years rather than drawing an empty chart.
    assert "all years:" in analyst.get("/ledger/flows", params={"year": 1990}).text


def test_verify_fragment_says_the_chain_is_intact(analyst: TestClient, demo_db: Engine) -> None:
    frag = analyst.post("/ledger/verify", headers={"HX-Request": "true"}).text
    with session_factory(demo_db)() as s:
        n = service.head(session=s)["last_event_id"]
    assert "<html" not in frag and "The chain is intact" in frag and f"{n:,} events" in frag


def test_verify_fragment_names_the_first_altered_event(analyst: TestClient, demo_db: Engine) -> None:
    with demo_db.begin() as conn:
        uid = conn.execute(text("SELECT uid FROM ledger_event WHERE kind = 'receipt' ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("UPDATE ledger_event SET declared_kg = declared_kg + 1 WHERE uid = :u"), {"u": uid})
    frag = analyst.post("/ledger/verify", headers={"HX-Request": "true"}).text
    assert "The chain is broken" in frag and f"<code>{uid}</code>" in frag


def test_ledger_pages_render_on_an_empty_database(db: Engine) -> None:
    with session_factory(db)() as s, s.begin():
        auth.create_user(session=s, username="reg", password="reg-pass-123", role="regulator", enterprise_code=None)
    client = TestClient(create_app(db))
    client.post("/login", data={"username": "reg", "password": "reg-pass-123"})
    for path in LEDGER_PAGES:
        assert client.get(path).status_code == 200, path
    assert "holds no events yet" in client.get("/ledger").text
    assert "No scan has been stored yet" in client.get("/ledger/anomalies").text
    assert "no chain to verify yet" in client.post("/ledger/verify").text


def test_trace_up_of_a_magnet_shows_its_mines_and_shares(analyst: TestClient, demo_db: Engine) -> None:
    magnet = _newest(demo_db, "MAGNET-")
    html = analyst.get("/ledger/trace", params={"batch": magnet, "direction": "up"}).text
    assert f"<code>{magnet}</code>" in html and 'data-figure="lineage-graph-figure"' in html
    mines = re.findall(r'href="/registry/facilities/(SYN-MIN-[A-Z0-9-]+)"', html)
    assert mines, "the origin table names the mines"
    shares = [float(x) for x in re.findall(r'<td class="num">([\d.]+)%</td>', html.split('id="origin-mine-table"')[1]
                                           .split("</table>")[0])]
    assert shares and abs(sum(shares) - 100) < 0.5
    assert "China" in html and "100.0%" in html
    assert "Per element: share from each mine" in html and "Nd" in html
    assert 'id="lineage-table"' in html and "concentrate" in html


def test_trace_down_and_both_list_destinations(analyst: TestClient, demo_db: Engine) -> None:
    prnd = _newest(demo_db, "PRND-")
    html = analyst.get("/ledger/trace", params={"batch": prnd, "direction": "down"}).text
    assert 'id="destination-table"' in html and "exported to" in html
    assert "Origin mix" not in html
    both = analyst.get("/ledger/trace", params={"batch": prnd, "direction": "both"}).text
    assert "Origin mix" in both and 'id="destination-table"' in both


def test_trace_page_without_a_batch_offers_examples_and_unknown_batch_is_404(analyst: TestClient) -> None:
    html = analyst.get("/ledger/trace").text
    assert re.search(r'href="/ledger/trace\?batch=MAGNET-[A-Z0-9-]+&amp;direction=up"', html)
    assert re.search(r'href="/ledger/trace\?batch=PRND-[A-Z0-9-]+&amp;direction=up"', html)
    r = analyst.get("/ledger/trace", params={"batch": "NO-SUCH-BATCH"})
    assert r.status_code == 404 and "no batch with the code" in r.text


def test_balance_shows_element_rows_totals_and_stock_counts(analyst: TestClient, demo_db: Engine) -> None:
    with session_factory(demo_db)() as s:
        first, last = service.time_span(session=s)
    r = analyst.get("/ledger/balance", params={"facility": "SYN-SEP-IN01", "from": first.isoformat(),
                                               "to": last.isoformat()})
    assert r.status_code == 200
    html = r.text
    table = html.split('id="balance-table"')[1].split("</table>")[0]
    elements = re.findall(r'<th scope="row">([A-Za-z ]+)</th>', table)
    assert {"La", "Ce", "Pr", "Nd", "All REO"} <= set(elements)
    assert "= Closing" in table and "Process loss" in table
    assert 'id="stock-count-table"' in html and "K-SEP-IN01-" in html
    assert 'data-figure="balance-chart-figure"' in html
    default = analyst.get("/ledger/balance").text
    assert 'id="balance-table"' in default and "selected>SYN-SEP-" in default


def test_balance_refuses_bad_dates_and_unknown_facilities_with_a_message(analyst: TestClient) -> None:
    html = analyst.get("/ledger/balance", params={"facility": "SYN-SEP-IN01", "from": "soon"}).text
    assert "is not a date" in html and 'id="balance-table"' in html
    r = analyst.get("/ledger/balance", params={"facility": "SYN-SEP-IN01", "from": "2026-09-10", "to": "2026-09-01"})
    assert r.status_code == 422 and "must be after start" in r.text
    r = analyst.get("/ledger/balance", params={"facility": "NOPE"})
    assert r.status_code == 404 and "no facility with the code" in r.text


def test_anomalies_list_the_kinds_of_the_demo_scan_and_filter_by_kind(analyst: TestClient, demo_db: Engine) -> None:
    with session_factory(demo_db)() as s:
        found = service.latest_findings(session=s)
    html = analyst.get("/ledger/anomalies").text
    assert {"over_quota", "no_quota", "origin_mismatch", "stock_discrepancy"} <= set(found["counts"])
    for kind in found["counts"]:
        assert kind in html
    assert 'data-figure="finding-chart-figure"' in html and 'id="alert-table"' in html
    assert f"<strong>{found['total']}</strong> findings" in html
    assert "Scan now" not in html  # analysts read; regulators and admins scan
    frag = analyst.get("/ledger/anomalies/rows", params={"kind": "over_quota"}, headers={"HX-Request": "true"}).text
    kinds = re.findall(r'<td class="nowrap">([a-z_]+)</td>', frag.split('id="finding-table"')[1])
    assert "<html" not in frag and kinds and set(kinds) == {"over_quota"}
    assert len(kinds) == found["counts"]["over_quota"]


def test_regulator_scans_now_and_the_page_shows_the_new_scan(client: TestClient) -> None:
    regulator = _sign_in(client, "regulator")
    assert "Scan now" in regulator.get("/ledger/anomalies").text
    r = regulator.post("/ledger/anomalies/scan", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ledger/anomalies?scanned=2"
    html = regulator.get(r.headers["location"]).text
    assert "Scan 2 stored" in html and "Latest scan <strong>2</strong>" in html and "over_quota" in html


def test_analyst_may_not_scan(analyst: TestClient) -> None:
    r = analyst.post("/ledger/anomalies/scan", follow_redirects=False)
    assert r.status_code == 403 and "may not run the anomaly scan" in r.text


def test_enterprise_sees_its_own_records_only_and_may_not_trace_others(client: TestClient, demo_db: Engine) -> None:
    enterprise = _sign_in(client, "enterprise")
    magnet = _newest(demo_db, "MAGNET-")
    r = enterprise.get("/ledger/trace", params={"batch": magnet})
    assert r.status_code == 403 and "Not allowed (403)" in r.text and "neither produced nor held" in r.text
    r = enterprise.get("/ledger/balance", params={"facility": "SYN-SEP-IN01"})
    assert r.status_code == 403 and "belongs to another enterprise" in r.text
    overview = enterprise.get("/ledger").text
    events = overview.split('id="event-table"')[1].split("</table>")[0]
    assert "SYN-" not in events and "No events at your enterprise" in events
    assert '"type": "sankey"' in overview  # national flows are an aggregate everyone may see
    trace_form = enterprise.get("/ledger/trace").text
    assert "MAGNET-" not in trace_form.split('class="examples"')[1].split("</div>")[0]
    anomalies = enterprise.get("/ledger/anomalies").text
    assert "SYN-" not in anomalies.split('id="finding-table"')[1].split("</table>")[0]


def test_association_sees_national_flows_and_counts_only(client: TestClient, demo_db: Engine) -> None:
    association = _sign_in(client, "association")
    overview = association.get("/ledger").text
    assert '"type": "sankey"' in overview and 'id="event-counts"' in overview and 'id="event-table"' not in overview
    assert association.get("/ledger/trace", params={"batch": _newest(demo_db, "MAGNET-")}).status_code == 403
    assert association.get("/ledger/trace").status_code == 403
    assert association.get("/ledger/balance").status_code == 403
    anomalies = association.get("/ledger/anomalies")
    assert anomalies.status_code == 200 and "over_quota" in anomalies.text
    assert 'id="finding-table"' not in anomalies.text and 'id="alert-table"' not in anomalies.text
    assert association.get("/ledger/anomalies/rows").status_code == 403


def test_aspect_pages_list_the_ledger_pages_as_built(analyst: TestClient) -> None:
    html = analyst.get("/aspects/4").text
    for href in LEDGER_PAGES:
        assert f'<a href="{href}">' in html
    assert 'href="/ledger"' in analyst.get("/aspects/5").text
    assert "Traceability ledger" in analyst.get("/").text


@pytest.mark.browser
def test_browser_draws_the_lineage_graph_and_the_sankey(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/ledger/trace")
    page.click(".examples a >> nth=0")
    page.wait_for_url("**/ledger/trace?batch=MAGNET-*", timeout=10_000)
    page.wait_for_selector("#lineage-graph .scatterlayer .point", timeout=30_000)
    names = page.evaluate("() => document.getElementById('lineage-graph').data.map(t => t.name)")
    assert "Mining and beneficiation" in names and "batch traced" in names
    assert page.locator("#origin-mine .barlayer .point").count() >= 1
    page.goto(server + "/ledger")
    page.wait_for_selector("#flow-sankey .sankey-node", timeout=30_000)
    labels = page.locator("#flow-sankey .sankey-node .node-label").all_text_contents()
    assert "Cracking and separation" in labels and "Exports" in labels
    page.select_option("#flow-year", "2026")
    page.wait_for_function("() => document.querySelector('#ledger-flows p').textContent.startsWith('2026')",
                           timeout=10_000)
    page.wait_for_selector("#flow-sankey .sankey-node", timeout=30_000)
    page.click("text=Verify now")
    page.wait_for_selector("#verify-result .ok-box", timeout=30_000)
    assert "The chain is intact" in page.locator("#verify-result").inner_text()
