"""The wall display: no token with public reading, readable at 1920x1080, in Spanish on
request, and it rides out a server restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from inventory.clock import utcnow
from inventory.config import Settings
from tests.browser.conftest import Contexts
from tests.browser.pages import WALL, no_horizontal_scroll, open_page, overlapping_text, wait_text
from tests.conftest import Server, free_port, serve


async def wall_directory(server: Server) -> dict[str, str]:
    org = await server.org("Bayshore")
    shelter = await server.program(org, name="Bayshore Community Shelter",
                                   level_of_care="shelter", area="Bayview")
    detox = await server.program(org, name="Bayshore Withdrawal Center",
                                 level_of_care="withdrawal_management", area="Bayview")
    respite = await server.program(org, name="Mission Respite", level_of_care="crisis_residential",
                                   area="Mission")
    return {"org": org,
            "shelter": await server.unit(shelter, capacity=40, available=12),
            "detox": await server.unit(detox, capacity=10, available=0, waitlist=3),
            "respite": await server.unit(respite, capacity=6, available=0)}


async def test_display_needs_no_token_and_fits_1920x1080(contexts, server: Server) -> None:
    await wall_directory(server)
    page = await open_page(contexts, server, "/display", None, WALL)
    assert await page.evaluate("sessionStorage.length") == 0  # no token anywhere
    levels = await page.locator(".wall-level-name").all_inner_texts()
    assert levels == ["Withdrawal management (detox)", "Crisis residential",
                      "Shelter / navigation center"]
    shelter = page.locator(".tile", has_text="Bayshore Community Shelter")
    assert await shelter.locator(".count").inner_text() == "12"
    assert await shelter.locator(".pill").inner_text() == "Open"  # words, not colour alone
    assert "updated just now" in await shelter.inner_text()
    detox = page.locator(".tile", has_text="Bayshore Withdrawal Center")
    assert await detox.locator(".pill").inner_text() == "Waitlist"
    assert await page.locator(".tile", has_text="Mission Respite").locator(".pill"
                                                                          ).inner_text() == "Full"
    assert await no_horizontal_scroll(page)
    assert await overlapping_text(page, ".tile h3, .tile .count, .tile .pill, .wall-level, "
                                  ".wall-head h1, .wall-clock, #conn") == []
    font = await shelter.locator(".count").evaluate("n => parseFloat(getComputedStyle(n).fontSize)")
    assert font >= 48  # readable across a room

    filtered = await open_page(contexts, server, "/display?levels=shelter,crisis_residential"
                               "&area=mission&lang=es", None, WALL)
    assert await filtered.locator("h1").inner_text() == "Camas disponibles ahora"
    assert await filtered.locator(".tile h3").all_inner_texts() == ["Mission Respite"]
    assert await filtered.locator(".tile .pill").inner_text() == "Lleno"
    assert await filtered.evaluate("document.documentElement.lang") == "es"
    assert page.errors == [] and filtered.errors == []


async def test_stale_counts_are_dimmed_and_labelled(contexts, server: Server) -> None:
    await wall_directory(server)
    server.svc.clock = lambda: utcnow() + timedelta(hours=5)  # past the 4 h update cadence
    page = await open_page(contexts, server, "/display", None, WALL)
    shelter = page.locator(".tile", has_text="Bayshore Community Shelter")
    assert "stale" in (await shelter.get_attribute("class")).split()
    assert "Not confirmed recently" in await shelter.inner_text()
    assert await shelter.locator(".count").inner_text() == "12"  # still shown, marked


@asynccontextmanager
async def app_on(settings: Settings, port: int) -> AsyncIterator[Server]:
    running = serve(settings, port)
    try:
        yield await anext(running)
    finally:
        await running.aclose()


SEEN = """() => {
  window.seen = [];
  const record = () => {
    const tile = [...document.querySelectorAll('.tile')].find(
      (t) => t.textContent.includes('Bayshore Community Shelter'));
    if (tile) {
      const n = tile.querySelector('.count').textContent;
      if (window.seen[window.seen.length - 1] !== n) window.seen.push(n);
    }
  };
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true,
                                                       characterData: true});
  record();
}"""


async def test_display_survives_a_server_restart(browser, settings: Settings) -> None:
    port = free_port()
    contexts = Contexts(browser)
    async with app_on(settings, port) as first:
        ids = await wall_directory(first)
        page = await open_page(contexts, first, "/display", None, WALL)
        await page.evaluate(SEEN)
        async with first.client(await first.token("admin")) as admin:
            assert (await admin.put(f"/api/v1/units/{ids['shelter']}/availability",
                                    json={"available": 13})).status_code == 200
        await wait_text(page, ".tile .count", "13")
    await wait_text(page, "#conn[data-state='stale']", "Not live: last change", timeout=5)
    async with app_on(settings, port) as second:
        await page.wait_for_selector("#conn[data-state='live']", timeout=15_000)
        async with second.client(await second.token("admin")) as admin:
            assert (await admin.put(f"/api/v1/units/{ids['shelter']}/availability",
                                    json={"available": 14})).status_code == 200
        await wait_text(page, ".tile .count", "14", timeout=2)
        assert await page.evaluate("window.seen") == ["12", "13", "14"]
        await contexts.close()
    assert page.errors == []
