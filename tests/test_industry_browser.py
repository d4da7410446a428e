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


def test_value_chain_sankeys_draw_one_above_the_other_at_full_width(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/industry/value-chain")
    page.wait_for_selector("#value-sankey .sankey .sankey-node", timeout=30_000)
    page.wait_for_selector("#mass-sankey .sankey .sankey-node", timeout=30_000)
    labels = page.evaluate("() => document.getElementById('value-sankey').data[0].node.label")
    assert "value added" in labels and "Mining and beneficiation" in labels
    value_box = page.locator("#value-sankey").bounding_box()
    mass_box = page.locator("#mass-sankey").bounding_box()
    # side by side, the stage labels of each Sankey overlapped; stacked, each has the page's width
    assert mass_box["y"] >= value_box["y"] + value_box["height"]
    assert abs(mass_box["width"] - value_box["width"]) < 5 and abs(mass_box["x"] - value_box["x"]) < 5


def test_scorecard_page_from_the_navigation_draws_indicator_charts(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.click("nav.sidenav a[href='/scorecard']")
    page.wait_for_selector("#ind-hhi_separation_quota .barlayer .point", timeout=30_000)
    year = page.locator("input[name=year]").input_value()
    assert page.locator("section.scorecard-aspect").count() == 7
    drawn = page.locator(".scorecard-aspect .js-plotly-plot").count()
    assert drawn == page.locator(".scorecard-aspect [data-figure]").count() and drawn >= 10
    recycling = page.locator("[data-indicator=recycling_rate_pct]").inner_text()
    assert f"No data for {year}" in recycling and "no scrap generated" in recycling
    page.fill("input[name=year]", "2024")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#ind-national_mining_quota_t .barlayer .point", timeout=30_000)
    assert "270,000 t REO in 2024" in page.locator("[data-indicator=national_mining_quota_t]").inner_text()
    page.goto(server + "/aspects/5")
    page.click("a[href='/scorecard#aspect-5']")
    page.wait_for_selector("#aspect-5", timeout=30_000)
