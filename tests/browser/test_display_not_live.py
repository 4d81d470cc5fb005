"""A wall display never says "Live" over counts it is not receiving: when the server's
stream reader stops keeping up, the heartbeats show the page it is behind, the badge says
"Not live: last change ... ago, reconnecting" and the counts are dimmed; once the reader
recovers the page is live again with the counts it missed."""

from __future__ import annotations

import asyncio

from inventory.live import Event
from tests.browser.pages import WALL, open_page, wait_text
from tests.browser.test_display_page import wall_directory
from tests.conftest import Server


async def tile_opacity(page: object) -> float:
    return float(await page.locator(".tile").first.evaluate(  # type: ignore[attr-defined]
        "n => getComputedStyle(n).opacity"))


async def test_display_says_not_live_and_dims_counts_while_the_feed_lags(
        contexts: object, server: Server) -> None:
    ids = await wall_directory(server)
    page = await open_page(contexts, server, "/display", None, WALL)
    assert await tile_opacity(page) == 1.0
    release = asyncio.Event()

    async def stuck(events: list[Event]) -> None:
        await release.wait()

    server.svc.reader.listen("stuck", stuck)
    async with server.client(await server.token("admin")) as admin:
        for available in (13, 14, 15):
            reply = await admin.put(f"/api/v1/units/{ids['shelter']}/availability",
                                    json={"available": available})
            assert reply.status_code == 200
            if available == 13:
                await wait_text(page, ".tile .count", "13")
        # Two heartbeats (one second apart in tests) show the page its last seq lags.
        await wait_text(page, "#conn[data-state='stale']",
                        "Not live: last change less than a minute ago, reconnecting", timeout=6)
        assert await tile_opacity(page) < 0.6
        release.set()
        await page.wait_for_selector("#conn[data-state='live']", timeout=10_000)
        await wait_text(page, ".tile .count", "15", timeout=5)
    assert await page.locator("#conn-text").inner_text() == "Live"
    await page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.tile')).opacity === '1'")
    assert page.errors == []  # type: ignore[attr-defined]
