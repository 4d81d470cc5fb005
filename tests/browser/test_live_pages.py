"""The navigator and the wall display follow the inventory live, without a reload."""

from __future__ import annotations

import time

from tests.browser.pages import WALL, open_page, wait_text
from tests.conftest import Server


async def directory(server: Server) -> dict[str, str]:
    org = await server.org("Harbor Health")
    detox = await server.program(org, name="Harbor Detox", level_of_care="withdrawal_management",
                                 genders=["female"], area="Mission")
    residential = await server.program(org, name="Mission Residential", area="Mission")
    full = await server.program(org, name="Full House Residential", area="Bayview")
    return {
        "org": org, "detox": detox, "residential": residential, "full": full,
        "detox_unit": await server.unit(detox, capacity=10, available=2, label="Women's beds"),
        "res_unit": await server.unit(residential, capacity=20, available=5, label="Beds"),
        "full_unit": await server.unit(full, capacity=8, available=0, label="Beds"),
    }


async def test_navigator_search_filters_and_shows_results(contexts, server: Server) -> None:
    await directory(server)
    async with server.client() as anonymous:
        policy = (await anonymous.get("/")).headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    page = await open_page(contexts, server, "/", await server.token("navigator"))
    results = page.locator("#results > li")
    await wait_text(page, "#results-summary", "2 programs match")
    names = await page.locator("#results h3").all_inner_texts()
    assert sorted(names) == ["Harbor Detox", "Mission Residential"]  # full one filtered out
    await wait_text(page, "#results li", "2 open")

    await page.get_by_label("Withdrawal management (detox)").check()
    await page.get_by_role("button", name="Search", exact=True).click()
    await wait_text(page, "#results-summary", "1 program match")
    assert await page.locator("#results h3").all_inner_texts() == ["Harbor Detox"]
    row = results.first
    assert "updated just now" in await row.inner_text()
    assert "Ages 18–120" in await row.inner_text()

    await page.get_by_label("Gender").select_option("male")
    await page.get_by_role("button", name="Search", exact=True).click()
    await wait_text(page, "#results-summary", "No programs match")
    assert await results.count() == 0

    await page.get_by_label("Gender").select_option("")
    await page.get_by_label("Only with open beds now").uncheck()
    await page.get_by_label("Withdrawal management (detox)").uncheck()
    await page.get_by_role("button", name="Search", exact=True).click()
    await wait_text(page, "#results-summary", "3 programs match")
    assert page.errors == []


async def test_update_through_api_reaches_navigator_and_display_live(contexts, server: Server
                                                                     ) -> None:
    ids = await directory(server)
    navigator = await open_page(contexts, server, "/", await server.token("navigator"))
    await wait_text(navigator, "#results-summary", "2 programs match")
    display = await open_page(contexts, server, "/display", None, WALL)
    tile = display.locator(".tile", has_text="Mission Residential")
    assert "5" in await tile.locator(".count").inner_text()
    await navigator.evaluate("window.marker = 'same page'")

    provider = server.client(await server.token("provider", ids["org"]))
    started = time.monotonic()
    reply = await provider.put(f"/api/v1/units/{ids['res_unit']}/availability",
                               json={"available": 7})
    assert reply.status_code == 200, reply.text
    await wait_text(display, ".tile", "7", timeout=1.0)
    await wait_text(navigator, f"#results [data-unit='{ids['res_unit']}']", "7 open", timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert await navigator.evaluate("window.marker") == "same page"  # not reloaded
    assert await navigator.locator("#results li.changed").count() >= 1  # briefly highlighted
    assert "7" in await tile.locator(".count").inner_text()
    await wait_text(display, "#ticker li", "Mission Residential: 5 → 7")

    # The program stops matching "only with open beds now": it drops out of the list,
    # while the display keeps it, marked Full in words.
    reply = await provider.put(f"/api/v1/units/{ids['res_unit']}/availability",
                               json={"available": 0})
    assert reply.status_code == 200
    await navigator.locator("#results h3", has_text="Mission Residential").wait_for(
        state="detached", timeout=2000)
    await wait_text(display, ".tile.status-full", "Mission Residential")
    assert "Full" in await tile.locator(".pill").inner_text()

    # And one that starts matching appears.
    reply = await provider.put(f"/api/v1/units/{ids['full_unit']}/availability",
                               json={"available": 3})
    assert reply.status_code == 200
    await wait_text(navigator, "#results h3", "Full House Residential", timeout=4.0)
    await provider.aclose()
    assert navigator.errors == [] and display.errors == []
