"""Every page, filled with the demo directory: axe-core finds nothing serious, the main
controls are reachable by keyboard with a visible focus, and screenshots are saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.browser.conftest import publish
from tests.browser.pages import (
    DESKTOP,
    PHONE,
    WALL,
    no_horizontal_scroll,
    open_page,
    overlapping_text,
    serious_violations,
    wait_text,
)
from tests.conftest import Server
from web.demo import PROVIDER_ORGANIZATION, load_directory

DETOX = "unit-fogline-detox-women"


async def busy_day(server: Server) -> dict[str, str]:
    """The demo directory with a hold, a referral and a transition under way."""
    await load_directory(server.svc.system)
    org = PROVIDER_ORGANIZATION
    navigator = await server.token("navigator")
    async with server.client(navigator) as client:
        programs = (await client.get("/api/v1/programs", params={"limit": 100})).json()
        mine = [p for p in programs["programs"] if p["organization_id"] == org]
        unit = next(u for p in mine for u in p["units"] if u["available"] > 0)
        assert (await client.post("/api/v1/holds", json={
            "unit_id": unit["id"], "client_ref": "case-2291", "minutes": 90})).status_code == 201
        referral = await client.post("/api/v1/referrals", json={
            "client_ref": "case-3307", "program_ids": [mine[0]["id"]],
            "needs": {"gender": "female", "age": 34, "payer": "medi-cal"}})
        assert referral.status_code == 201, referral.text
        soon = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
        transition = await client.post("/api/v1/transitions", json={
            "client_ref": "case-1150", "from_program_id": mine[0]["id"], "discharge_at": soon,
            "needs": {"age": 41}})
        assert transition.status_code == 201, transition.text
    return {"org": org, "navigator": navigator,
            "provider": await server.token("provider", org)}


async def test_pages_pass_axe_fit_their_screens_and_are_photographed(
        contexts, server: Server, shots: Path) -> None:
    tokens = await busy_day(server)

    navigator = await open_page(contexts, server, "/", tokens["navigator"], DESKTOP)
    await wait_text(navigator, "#results-summary", "programs match")
    await wait_text(navigator, "#holds", "case-2291")
    await wait_text(navigator, "#transitions", "case-1150")
    await wait_text(navigator, "#referrals", "case-3307")
    await navigator.get_by_label("Residential SUD treatment").check()
    await navigator.get_by_label("Recovery residence").check()
    await navigator.get_by_label("Payer").select_option("medi-cal")
    await navigator.get_by_role("button", name="Search", exact=True).click()
    await wait_text(navigator, "#results-summary", "programs match")
    await navigator.get_by_label("Client is now in").select_option("withdrawal_management")
    await navigator.get_by_role("button", name="Rank options").click()
    await wait_text(navigator, "#phase-msg", "options, best first")
    await navigator.mouse.click(5, 995)  # no button left looking pressed in the picture
    await navigator.evaluate("window.scrollTo(0, 0)")
    assert await serious_violations(navigator) == []
    await navigator.screenshot(path=shots / "navigator.png")

    provider = await open_page(contexts, server, "/provider", tokens["provider"], PHONE)
    await wait_text(provider, "#referrals", "case-3307")
    await wait_text(provider, "#holds", "case-2291")
    assert await serious_violations(provider) == []
    assert await no_horizontal_scroll(provider)
    assert await overlapping_text(provider, ".prov-unit h4, .stepper button, .stepper input, "
                                  ".attest, .prov-counts, .status, .age, .top a") == []
    await provider.screenshot(path=shots / "provider.png")
    await provider.screenshot(path=shots / "provider-full.png", full_page=True)

    display = await open_page(contexts, server, "/display", None, WALL)
    assert await display.locator(".tile").count() >= 15
    assert await serious_violations(display) == []
    assert await no_horizontal_scroll(display)
    assert await overlapping_text(display, ".tile h3, .tile .count, .tile .pill, .tile-age, "
                                  ".wall-level, .wall-head h1, .wall-clock, #conn") == []
    await display.screenshot(path=shots / "display.png")

    signin = await (await contexts.new()).new_page()
    await signin.goto(server.base_url + "/provider")
    await signin.wait_for_selector("#signin:not([hidden])")
    assert await serious_violations(signin) == []

    for name in ("navigator.png", "provider.png", "display.png"):
        assert (shots / name).stat().st_size > 20_000
        publish(shots / name)
    for page in (navigator, provider, display):
        assert page.errors == []


async def focus_path(page, stop_at: str, limit: int = 150) -> list[str]:
    """Names of the elements Tab visits from the top until `stop_at` (an accessible name)."""
    seen = []
    await page.locator("body").focus()
    for _ in range(limit):
        await page.keyboard.press("Tab")
        name = await page.evaluate("""() => {
          const n = document.activeElement;
          const label = n.labels && n.labels[0] ? n.labels[0].textContent : '';
          return (n.getAttribute('aria-label') || label || n.textContent || n.id).trim();
        }""")
        seen.append(name)
        if name == stop_at:
            outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("none", ""), f"{name} has no visible focus"
            return seen
    raise AssertionError(f"never reached {stop_at!r} by Tab; went through {seen}")


async def test_main_controls_are_reachable_with_the_keyboard(contexts, server: Server) -> None:
    org = await server.org("Keys")
    program = await server.program(org, name="Tab House", level_of_care="shelter")
    unit = await server.unit(program, capacity=5, available=2, label="Dorm")

    page = await open_page(contexts, server, "/", await server.token("navigator"))
    await wait_text(page, "#results", "Tab House")
    path = await focus_path(page, "Hold a bed: Tab House, Dorm")
    for control in ("Skip to main content", "Shelter / navigation center", "Gender", "Age",
                    "Near (latitude, longitude)", "Only with open beds now", "Search"):
        assert any(control in name for name in path), f"{control} not reached: {path}"
    await page.keyboard.press("Enter")  # opens the hold dialog
    await page.get_by_label("Your client reference").wait_for()
    await page.keyboard.type("kb-1")
    await page.keyboard.press("Enter")
    await wait_text(page, "#holds", "kb-1 → Tab House")

    provider = await open_page(contexts, server, "/provider",
                               await server.token("provider", org), PHONE)
    path = await focus_path(provider, "No change: confirm counts for Dorm")
    for control in ("One fewer open: Dorm", "Open beds now", "One more open: Dorm",
                    "Save number"):
        assert control in path, f"{control} not reached: {path}"
    await provider.get_by_role("button", name="One more open: Dorm").focus()
    await provider.keyboard.press("Space")
    await wait_text(provider, ".prov-unit .msg", "Saved: 2 open.")  # 1 left after the hold, +1
    async with server.client(await server.token("display")) as client:
        live = (await client.get(f"/api/v1/units/{unit}")).json()
    assert (live["available"], live["held"]) == (2, 1)
