"""The web shell in a real browser: Debian's Chromium driven by Playwright against uvicorn on a demo database.

Playwright cannot download its own browsers here, so the tests launch /usr/bin/chromium. Without it they are skipped
with the reason shown, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from restrat.api.app import create_app
from restrat.demo.service import seed_demo
from restrat.store.db import make_engine, session_factory
from restrat.store.migrate import upgrade

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is missing in CI; .ci/run installs Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); Playwright cannot download browsers here")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn serving the app on a demo-seeded SQLite file, in a background thread; yields its base URL."""
    _require_chromium()
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('web') / 'demo.db'}")
    upgrade(engine=engine)
    with session_factory(engine)() as s, s.begin():
        seed_demo(session=s, seed=7)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser context signed in as the analyst through the login form; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server + "/")
    assert "/login?next=" in pg.url
    pg.fill("input[name=username]", "analyst")
    pg.fill("input[name=password]", "analyst-demo")
    pg.click("button[type=submit]")
    pg.wait_for_url(server + "/")
    yield pg
    context.close()
    assert not errors, errors


def test_login_lands_on_the_home_map_with_facility_traces(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#facility-map .geolayer .countries path", timeout=30_000)
    page.wait_for_selector("#facility-map .scattergeo .point", timeout=30_000)
    trace_names = page.evaluate("() => document.getElementById('facility-map').data.map(t => t.name)")
    assert "Mining and beneficiation" in trace_names and "Cracking and separation" in trace_names
    points = page.evaluate("() => document.getElementById('facility-map').data.reduce((n, t) => n + t.lat.length, 0)")
    assert points == page.locator(".counts").first.locator("td.num").evaluate_all(
        "cells => cells.reduce((n, c) => n + Number(c.textContent), 0)")
    assert page.locator("#facility-map .scattergeo .point").count() == points
    assert page.locator(".topbar .user").inner_text() == "analyst"
    assert "locations are approximate" in page.locator(".notice").inner_text()


def test_facility_search_swaps_in_filtered_rows(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/registry/facilities")
    all_rows = page.locator("#facility-table tbody tr").count()
    page.select_option("#facility-stage", "separation")
    page.fill("#facility-q", "Baotou")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#facility-table tbody tr td:nth-child(4)')]"
        ".every(td => td.textContent.trim() === 'separation')"
        " && [...document.querySelectorAll('#facility-table tbody tr td:nth-child(2)')]"
        ".every(td => td.textContent.includes('Baotou'))", timeout=10_000)
    codes = page.locator("#facility-table tbody tr td:first-child").all_inner_texts()
    assert 0 < len(codes) < all_rows
    page.click("#facility-table tbody tr td:first-child a >> nth=0")
    page.wait_for_selector("#facility-location .scattergeo .point", timeout=30_000)
    assert codes[0] in page.locator("h1").inner_text()


def test_search_after_the_session_is_gone_goes_to_login(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/registry/facilities")
    page.context.clear_cookies()
    page.fill("#facility-q", "Lynas")
    page.wait_for_url("**/login?next=*", timeout=10_000)
    assert page.locator("input[name=next]").input_value() == "/registry/facilities"


def test_quota_chart_and_logout(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/quota/history")
    page.wait_for_selector("#quota-chart .barlayer .point", timeout=30_000)
    assert "recalled" in page.locator("#quota-chart").inner_text()
    page.click("text=Sign out")
    page.wait_for_url(server + "/login")
    page.goto(server + "/quota/history")
    assert "/login?next=" in page.url
