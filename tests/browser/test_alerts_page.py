"""The alert list on a page: an alert arrives live, is acknowledged where it was tapped, and
reads in the page's language; its text is the generated one, never the timeline's note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alerts.helpers import event, member, transition
from tests.browser.conftest import publish
from tests.browser.pages import open_page
from tests.conftest import Server

NOTE = "call back re bed 4B, room of Mr. Okafor's cousin"


async def follower(server: Server) -> tuple[str, str]:
    """A provider of the receiving program on a transition's care team: (token, transition)."""
    org = await server.org("Receiving Residential")
    # No bed free: the connector's watch then makes no bed_match of its own.
    await server.unit(await server.program(org), capacity=4, available=0)
    token = await server.token("provider", org)
    actor = await server.svc.tokens.actor(token)
    assert actor is not None
    navigator = await server.token("navigator")
    lead = await server.svc.tokens.actor(navigator)
    assert lead is not None
    trn = await transition(server, lead.token_id, "C-2207")
    await member(server, trn, actor.token_id)
    return token, trn


async def test_an_alert_arrives_live_and_is_acknowledged_where_it_was_tapped(
        contexts: Any, server: Server, shots: Path) -> None:
    token, trn = await follower(server)
    page = await open_page(contexts, server, "/provider", token)
    await page.wait_for_selector("#alerts:not([hidden])")
    await page.wait_for_selector("#alerts-empty:not([hidden])")
    await event(server, trn, "referral_accepted", note=NOTE)
    item = page.locator("#alerts-list li").first
    await item.wait_for()
    text = await item.inner_text()
    assert "C-2207: a referral was accepted" in text
    assert "Okafor" not in text and "4B" not in text
    assert await page.locator("#alerts-count").inner_text() == "1 new"
    assert await item.locator("a").get_attribute("href") == f"/?transition={trn}"
    shot = shots / "alerts-provider.png"
    await page.screenshot(path=str(shot), full_page=False)
    publish(shot)
    await item.get_by_role("button", name="Acknowledge the alert for C-2207").click()
    await item.get_by_text("Acknowledged").wait_for()
    assert await page.locator("#alerts-count").inner_text() == ""
    async with server.client(token) as client:
        assert (await client.get("/api/v1/alerts")).json()[0]["acknowledged_at"]


async def test_the_alert_list_speaks_the_pages_language(
        contexts: Any, server: Server, shots: Path) -> None:
    token, trn = await follower(server)
    page = await open_page(contexts, server, "/provider?lang=es", token)
    await page.wait_for_selector("#alerts:not([hidden])")
    await event(server, trn, "referral_declined")
    item = page.locator("#alerts-list li").first
    await item.wait_for()
    assert "C-2207: se rechazó una derivación" in await item.inner_text()
    assert await page.locator("#alerts-title").inner_text() == "Alertas 1 nuevas"
    await item.get_by_role("button", name="Confirmar la alerta de C-2207").wait_for()
    shot = shots / "alerts-provider-es.png"
    await page.screenshot(path=str(shot), full_page=False)
    publish(shot)


async def test_the_lead_connector_sees_the_alert_on_the_connectors_page(
        contexts: Any, server: Server, shots: Path) -> None:
    navigator = await server.token("navigator")
    lead = await server.svc.tokens.actor(navigator)
    assert lead is not None
    trn = await transition(server, lead.token_id, "C-3301")
    page = await open_page(contexts, server, "/", navigator)
    await page.wait_for_selector("#alerts:not([hidden])")
    await event(server, trn, "at_risk")
    item = page.locator("#alerts-list li").first
    await item.wait_for()
    assert "C-3301: at risk" in await item.inner_text()
    shot = shots / "alerts-navigator.png"
    await page.screenshot(path=str(shot), full_page=False)
    publish(shot)
