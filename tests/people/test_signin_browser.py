"""Signing in with the county's provider in headless Chromium: a navigator signs in,
searches and holds a bed, and the hold, the audit log and the provider's page name them; a
person without a role is told whom to ask; a person disabled at the provider is signed out;
sign-out ends the session here and at the provider."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from inventory.records import AuditEntry
from tests.browser.conftest import publish
from tests.browser.pages import DESKTOP, PHONE, open_page, wait_text
from tests.conftest import Server
from tests.people.conftest import Idp

NORA = {"name": "Nora Navigator", "email": "nora@county.example",
        "bedfinder_role": "navigator"}


async def county_sign_in(contexts: Any, server: Server, sub: str,
                         viewport: dict[str, int] = DESKTOP, shots: Path | None = None) -> Any:
    """Open the navigator page signed out, follow "Sign in with your organization account"
    to the provider's form and sign in there as `sub`."""
    context = await contexts.new(viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(server.base_url + "/")
    link = page.get_by_role("link", name="Sign in with your organization account")
    await link.wait_for(timeout=10_000)
    if shots is not None:
        name = f"people-signin-{'phone' if viewport == PHONE else 'desktop'}.png"
        await page.screenshot(path=shots / name, full_page=True)
        publish(shots / name)
    await link.click()
    await page.locator("input[name=sub]").fill(sub)
    await page.get_by_role("button", name="Authorize").click()
    return page


async def test_navigator_signs_in_searches_holds_and_is_named_everywhere(
        contexts: Any, server: Server, idp: Idp, shots: Path) -> None:
    org = await server.org("Harbor Health")
    program = await server.program(org, name="Harbor Residential")
    unit = await server.unit(program, capacity=10, available=3, label="Beds")
    await idp.user("nora", **NORA)

    page = await county_sign_in(contexts, server, "nora", DESKTOP, shots)
    await page.wait_for_selector("#app:not([hidden])", timeout=10_000)
    await page.wait_for_selector("#conn[data-state='live']", timeout=10_000)
    await wait_text(page, "#who", "Signed in: Nora Navigator")
    await page.get_by_role("button", name="Search", exact=True).click()
    await wait_text(page, "#results-summary", "1 program match")
    await page.get_by_role("button", name="Hold a bed: Harbor Residential, Beds").click()
    await page.get_by_label("Your client reference").fill("case-417")
    await page.get_by_label("Hold for (minutes)").fill("30")
    await page.get_by_role("button", name="Hold bed", exact=True).click()
    await wait_text(page, "#holds", "case-417 → Harbor Residential")

    provider = await open_page(contexts, server, "/provider",
                               await server.token("provider", org), PHONE)
    await wait_text(provider, "#holds", "held by Nora Navigator")
    await asyncio.sleep(0.5)  # the audit writer commits in groups
    async with server.svc.sessions() as session:
        actors = (await session.execute(select(AuditEntry.actor).where(
            AuditEntry.unit_id == unit, AuditEntry.op == "hold"))).scalars().all()
    assert len(actors) == 1 and actors[0].startswith("Nora Navigator (usr-")
    async with server.client(await server.token("admin")) as admin:
        reads = (await admin.get("/api/v1/audit/access",
                                 params={"client_ref": "case-417"})).json()["reads"]
    assert ("Nora Navigator", "page") in {(r["actor"].split(" (")[0], r["via"]) for r in reads}

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="End session").click()  # at the provider
    await wait_text(page, "h1", "Signed out")
    await page.goto(server.base_url + "/")
    await page.get_by_role("link", name="Sign in with your organization account").wait_for()
    assert await page.locator("#app").is_hidden()
    assert page.errors == []


async def test_person_without_a_role_sees_whom_to_ask(contexts: Any, server: Server, idp: Idp,
                                                      shots: Path) -> None:
    await idp.user("sam", name="Sam Newhire", email="sam@county.example")
    for viewport, kind in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = await county_sign_in(contexts, server, "sam", viewport,
                                    shots if kind == "phone" else None)
        await wait_text(page, "h1", "Ask your admin for access")
        assert "the county BH IT desk (x4357)" in await page.locator("main").inner_text()
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        await page.screenshot(path=shots / f"people-ask-admin-{kind}.png", full_page=True)
        publish(shots / f"people-ask-admin-{kind}.png")


async def test_person_disabled_at_the_provider_is_signed_out_of_the_page(
        contexts: Any, server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    page = await county_sign_in(contexts, server, "nora")
    await page.wait_for_selector("#conn[data-state='live']", timeout=10_000)
    await idp.disable("nora")
    # The page sends nothing: its live feed is closed by the sweep's recheck at the provider
    # (session_recheck_minutes is one second in these tests), and it says so, within the
    # bound: one recheck period plus one sweep (plus room for a loaded machine).
    bound = server.settings.session_recheck_minutes * 60 + server.settings.token_sweep_seconds
    await page.wait_for_selector("#conn[data-state='denied']", timeout=(bound + 5) * 1000)
    # It stays said: the feed's once-a-second watchdog once turned it into "stale" at once.
    await page.wait_for_timeout(2500)
    assert await page.locator("#conn").get_attribute("data-state") == "denied"
    await page.reload()
    await page.get_by_role("link", name="Sign in with your organization account").wait_for()
    assert await page.locator("#app").is_hidden()
