"""The analytics page in Debian's Chromium: a coordinator signs in with an analyst token,
sees the month's answer, charts with tables, and a heat map; nothing breaks the strict CSP.
Saves analytics.png where `publish` says (nothing in the work tree by default). Skips without /usr/bin/chromium unless
BEDFINDER_REQUIRE_BROWSER=1, where a missing browser fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inventory.config import Settings
from tests.analytics.conftest import demo_with_history
from tests.browser.conftest import publish
from tests.conftest import Server

CHROMIUM = Path(os.environ.get("BEDFINDER_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def need_browser() -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError as error:
            reason = f"playwright is not installed ({error})"
    if reason and os.environ.get("BEDFINDER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"BEDFINDER_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(f"browser test needs Chromium: {reason}")


@pytest.mark.timeout(600)  # a month of demo history, then desktop and phone on 2 shared cores
async def test_analytics_page_answers_the_coordinators_question(settings: Settings,
                                                                tmp_path: Path) -> None:
    need_browser()
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    async with demo_with_history(settings, 30) as (server, counts):
        assert counts
        token = await server.token("analyst")
        problems: list[str] = []
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                                    timezone_id="America/Los_Angeles")
                page = await context.new_page()
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                await page.goto(f"{server.base_url}/analytics?token={token}")
                await page.wait_for_selector("body[data-loaded='true']", timeout=90_000)
                assert "token=" not in page.url
                answer = await page.inner_text("#answer")
                assert "ran out most" in answer and "lapsed" in answer
                heat_rows = await page.locator("table.heat tbody tr").count()
                assert heat_rows >= 5
                assert await page.locator("table.heat thead th").count() == 25
                # Every chart has a table with its numbers.
                charted = page.locator("section.chart:has(canvas)")
                assert await charted.count() >= 9
                assert await page.locator(
                    "section.chart:has(canvas) details.table-view table").count() == (
                    await charted.count())
                # Occupancy: one small chart per level (plus all levels), not one crowded band.
                multiples = await page.locator("#occupancy .multiple canvas").count()
                assert multiples >= 5
                assert await page.locator("#occupancy > .figure > .chart-box").count() == 0
                # Outcomes by group, with suppression marked and explained.
                outcomes = page.locator("#outcomes table.data")
                assert await outcomes.count() >= 4
                assert "Everyone" in await outcomes.first.inner_text()
                assert "Suppressed: fewer than 11 people" in await page.inner_text("#outcomes")
                await page.screenshot(path=str(tmp_path / "analytics.png"), full_page=True)
                publish(tmp_path / "analytics.png")
                results = await Axe().run(page)
                serious = [v["id"] for v in results.response["violations"]
                           if v["impact"] in ("serious", "critical")]
                assert serious == [], results.generate_report()
                # A navigator token is turned away with the reason, and may sign in again.
                await page.click("#signout")
                await page.fill("#signin-token", await server.token("navigator"))
                await page.click("#signin-form button[type=submit]")
                await page.wait_for_selector("#signin-error:has-text('analyst')", timeout=10_000)
                await phone_fits(browser, server.base_url, token, tmp_path)
            finally:
                await browser.close()
        assert [p for p in problems if "403" not in p] == []


async def phone_fits(browser, base_url: str, token: str, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """At 390 px the page scrolls only down: the heat map comes in 3-hour blocks."""
    context = await browser.new_context(viewport={"width": 390, "height": 844},
                                        device_scale_factor=2, is_mobile=True,
                                        timezone_id="America/Los_Angeles")
    page = await context.new_page()
    await page.goto(f"{base_url}/analytics?token={token}")
    await page.wait_for_selector("body[data-loaded='true']", timeout=90_000)
    assert await page.locator("table.heat thead th").count() == 9
    heat = await page.locator("table.heat").bounding_box()
    assert heat is not None and heat["x"] >= 0 and heat["x"] + heat["width"] <= 390
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the page is {wide} px wide on a 390 px phone"
    await page.screenshot(path=str(folder / "analytics-phone.png"), full_page=True)
    publish(folder / "analytics-phone.png")
    await context.close()


async def test_an_empty_installation_says_what_to_do(server: Server, tmp_path: Path) -> None:
    need_browser()
    from playwright.async_api import async_playwright

    token = await server.token("analyst")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{server.base_url}/analytics?token={token}")
            await page.wait_for_selector("body[data-loaded='true']", timeout=90_000)
            assert await page.inner_text("#answer-title") == "Getting started"
            answer = await page.inner_text("#answer")
            assert "bedfinder demo --history 30d" in answer and "transitions" in answer
            assert "no data" not in answer.lower()
            assert await page.locator("canvas").count() == 0
            await page.screenshot(path=str(tmp_path / "analytics-empty.png"), full_page=True)
            publish(tmp_path / "analytics-empty.png")
        finally:
            await browser.close()
