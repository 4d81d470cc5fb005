"""The right bed for this person, on the pages, with the demo directory: Bayshore Withdrawal
Management Center's women's unit is 0 of 8 and its one free bed is a men's bed (issue 13).

For a woman, the navigator shows the men's unit greyed with the reason and no hold button and
counts no open bed; the provider's answer to her referral preselects the women's unit and
cannot choose the men's; the wall display shows the program's women's and men's counts apart.
Screenshots (phone and desktop) go to the session's screenshot folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import publish
from tests.browser.pages import DESKTOP, PHONE, WALL, no_horizontal_scroll, open_page, wait_text
from tests.conftest import Server
from web.demo import load_directory

BAYSHORE = "prg-bayshore-withdrawal-center"
WOMEN, MEN = "unit-bayshore-detox-women", "unit-bayshore-detox-men"
ORG = "org-bayshore-wellness"


async def shoot(page: Any, shots: Path, name: str) -> None:
    shot = shots / f"right-bed-{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    publish(shot)


async def search_for_a_woman(page: Any) -> Any:
    await page.select_option("#f-gender", "female")
    await page.fill("#f-q", "Bayshore Withdrawal")
    await page.locator("input[name=available_only]").uncheck()
    await page.get_by_role("button", name="Search", exact=True).click()
    # The page's first search (no needs) may still be on screen: wait for this one's answer.
    await wait_text(page, "#results-summary", "1 program match")
    program = page.locator(f"#results [data-program='{BAYSHORE}']")
    await program.wait_for(timeout=5000)
    return program


async def test_navigator_greys_the_mens_unit_for_a_woman_with_no_hold_button(
        contexts: Any, server: Server, shots: Path) -> None:
    await load_directory(server.svc.system)
    token = await server.token("navigator")
    for name, viewport in (("navigator-phone", PHONE), ("navigator-desktop", DESKTOP)):
        page = await open_page(contexts, server, "/", token, viewport)
        program = await search_for_a_woman(page)
        men = program.locator(f"[data-unit='{MEN}']")
        women = program.locator(f"[data-unit='{WOMEN}']")
        assert "not-fitting" in (await men.get_attribute("class") or "")
        assert "Does not fit: men only" in await men.inner_text()
        assert await men.locator(".hold-button").count() == 0
        assert "not-fitting" not in (await women.get_attribute("class") or "")
        assert await women.locator(".hold-button").count() == 1
        assert await program.locator(".program-total .big").inner_text() == "0"
        greyed = await men.evaluate("(n) => getComputedStyle(n).backgroundColor")
        assert greyed != await women.evaluate("(n) => getComputedStyle(n).backgroundColor")
        assert await no_horizontal_scroll(page)
        assert page.errors == []
        await program.scroll_into_view_if_needed()
        await shoot(page, shots, name)


async def test_provider_answer_preselects_the_womens_unit_and_cannot_choose_the_mens(
        contexts: Any, server: Server, shots: Path) -> None:
    await load_directory(server.svc.system)
    async with server.client(await server.token("navigator")) as navigator:
        sent = await navigator.post("/api/v1/referrals", json={
            "client_ref": "ref-31", "program_ids": [BAYSHORE],
            "needs": {"gender": "female", "age": 31}})
        assert sent.status_code == 201, sent.text
    token = await server.token("provider", ORG)
    for name, viewport in (("provider-phone", PHONE), ("provider-desktop", DESKTOP)):
        page = await open_page(contexts, server, "/provider", token, viewport)
        await wait_text(page, "#referrals", "Client ref-31 → Bayshore Withdrawal Management Center")
        choice = page.get_by_label("Accept into")
        assert await choice.input_value() == WOMEN
        men = choice.locator(f"option[value='{MEN}']")
        assert await men.is_disabled()
        assert await men.inner_text() == "Men's beds: does not fit (men only)"
        assert not await choice.locator(f"option[value='{WOMEN}']").is_disabled()
        assert page.errors == []
        await page.locator("#referrals").scroll_into_view_if_needed()
        await shoot(page, shots, name)


async def test_display_tile_shows_womens_and_mens_beds_apart(contexts: Any, server: Server,
                                                              shots: Path) -> None:
    await load_directory(server.svc.system)
    page = await open_page(contexts, server, "/display?levels=withdrawal_management", None, WALL)
    tile = page.locator(f".tile[data-program='{BAYSHORE}']")
    await tile.wait_for(timeout=5000)
    assert await tile.locator(".tile-split").inner_text() == "Women 0 · Men 1"
    assert await tile.locator(".count").inner_text() == "1"
    single = page.locator(".tile[data-program='prg-mission-creek-social-detox']")
    assert await single.locator(".tile-split").count() == 0  # one population: no split
    assert page.errors == []
    await shoot(page, shots, "display-wall")
    phone = await open_page(contexts, server, "/display?levels=withdrawal_management", None,
                            PHONE)
    await phone.locator(f".tile[data-program='{BAYSHORE}'] .tile-split").wait_for(timeout=5000)
    await shoot(phone, shots, "display-phone")
