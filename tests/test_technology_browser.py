"""Technology pages in a real browser (Debian's Chromium through Playwright): the charts are drawn."""

from __future__ import annotations

import pytest
from test_web_browser import browser, page, server  # noqa: F401 - fixtures shared with the web shell tests

pytestmark = pytest.mark.browser


def test_network_and_pipeline_charts_are_drawn(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto(server + "/technology/network")
    page.wait_for_selector("#network-chart .scatterlayer .point", timeout=30_000)
    names = page.evaluate("() => document.getElementById('network-chart').data.map(t => t.name)")
    assert {"enterprise", "institute", "university"} <= set(names)
    points = page.evaluate("() => document.getElementById('network-chart').data.slice(1)"
                           ".reduce((n, t) => n + t.x.length, 0)")
    assert points == page.locator("table.data").first.locator("tbody tr").count()
    page.goto(server + "/technology")
    page.wait_for_selector("#pipeline-chart .barlayer .point", timeout=30_000)
    page.wait_for_selector("#benefit-chart .barlayer .point", timeout=30_000)
    assert "illustrative" in page.locator(".notice").first.inner_text().lower()
    page.goto(server + "/technology/export-control?on=2025-11-07")
    page.wait_for_selector("#control-chart .barlayer .point", timeout=30_000)
