"""Industry and association pages in Chromium: the HHI chart draws, the merger form swaps in its screening result
with a chart, the cluster map and the price index draw."""

from __future__ import annotations

from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the other browser tests


def test_concentration_chart_and_merger_screening(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/industry/concentration")
    page.wait_for_selector("#hhi-chart .scatterlayer .trace", timeout=30_000)
    names = page.evaluate("() => document.getElementById('hhi-chart').data.map(t => t.name)")
    assert "mining" in names and "separation" in names and any("1,800" in n for n in names)
    page.check("input[name=owners][value=SOUTHERN_RE]")
    page.check("input[name=owners][value=CHINALCO_RE]")
    page.fill("input[name=into]", "CREG")
    page.click("form.merger-form button[type=submit]")
    page.wait_for_selector("#merger-chart .barlayer .point", timeout=30_000)
    assert "presumed to lessen competition" in page.locator("#merger-result").inner_text()


def test_cluster_map_and_price_index_draw(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/industry/clusters?eps_km=80&min_samples=3")
    page.wait_for_selector("#cluster-map .scattergeo .point", timeout=30_000)
    assert page.locator("#cluster-bars .barlayer .point").count() > 0
    page.goto(server + "/association")
    page.wait_for_selector("#index-chart .scatterlayer .trace", timeout=30_000)
    assert "suppressed (disclosure control)" in page.locator("table").last.inner_text()
