"""The admin page in Chromium, signed in with the county's provider: build a program with two
units, mint a display token, revoke it, and a wall display using it closes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import publish
from tests.browser.pages import DESKTOP, PHONE, serious_violations, wait_text
from tests.conftest import Server
from tests.people.conftest import Idp
from tests.people.test_signin_browser import county_sign_in

ADA = {"name": "Ada Admin", "email": "ada@county.example", "bedfinder_role": "admin"}


async def test_admin_builds_a_program_mints_and_revokes_a_display_token(
        contexts: Any, server: Server, idp: Idp, shots: Path) -> None:
    await idp.user("ada", **ADA)
    await idp.user("sam", name="Sam Newhire")
    await county_sign_in(contexts, server, "sam")  # someone to assign a role to
    page = await county_sign_in(contexts, server, "ada")
    await page.wait_for_url(server.base_url + "/")
    await page.goto(server.base_url + "/admin")
    await page.wait_for_selector("#app:not([hidden])", timeout=10_000)

    await page.get_by_label("New organization name").fill("Harbor Health")
    await page.get_by_role("button", name="Add organization").click()
    await wait_text(page, "#orgs", "Harbor Health")
    await page.get_by_label("Organization", exact=True).select_option(label="Harbor Health")
    await page.get_by_label("Program name").fill("Harbor Women's Residential")
    await page.get_by_label("Men", exact=True).uncheck()
    await page.get_by_role("button", name="Add program").click()
    await wait_text(page, "#programs", "Harbor Women's Residential")
    for label, capacity in (("Dorm A", "12"), ("Dorm B", "8")):
        await page.get_by_label("Unit label").fill(label)
        await page.get_by_label("Capacity").fill(capacity)
        await page.get_by_role("button", name="Add unit").click()
        await wait_text(page, "#programs", f"{label} ({capacity} beds)")
    assert "female, nonbinary" in await page.locator("#programs").inner_text()

    await page.get_by_label("Role for Sam Newhire", exact=True).select_option("navigator")
    await page.get_by_role("button", name="Save role for Sam Newhire").click()
    await wait_text(page, "#admin-msg", "Saved Sam Newhire.")

    await page.get_by_label("Label", exact=True).fill("Lobby screen")
    await page.get_by_role("button", name="Create token").click()
    secret = await page.locator("#token-secret").inner_text()
    assert secret.startswith("bf_")
    await wait_text(page, "#tokens", "Lobby screen · display · owner Ada Admin")
    assert await serious_violations(page) == []
    await page.screenshot(path=shots / "people-admin-desktop.png", full_page=True)
    publish(shots / "people-admin-desktop.png")

    wall = await (await contexts.new(viewport=DESKTOP)).new_page()
    await wall.goto(f"{server.base_url}/display#token={secret}")
    await wall.wait_for_selector("#conn[data-state='live']", timeout=10_000)
    await page.get_by_role("button", name="Revoke token Lobby screen").click()
    await wait_text(page, "#admin-msg", "Token Lobby screen revoked")
    await wall.wait_for_selector("#conn[data-state='denied']", timeout=10_000)

    phone = await county_sign_in(contexts, server, "ada", PHONE)
    await phone.wait_for_url(server.base_url + "/")
    await phone.goto(server.base_url + "/admin")
    await phone.wait_for_selector("#app:not([hidden])", timeout=10_000)
    await wait_text(phone, "#tokens", "revoked", timeout=15)
    assert await phone.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    await phone.screenshot(path=shots / "people-admin-phone.png", full_page=True)
    publish(shots / "people-admin-phone.png")


async def test_admin_page_works_from_the_keyboard_alone(contexts: Any, server: Server,
                                                        idp: Idp) -> None:
    await idp.user("ada", **ADA)
    page = await county_sign_in(contexts, server, "ada")
    await page.wait_for_url(server.base_url + "/")
    await page.goto(server.base_url + "/admin")
    await page.wait_for_selector("#app:not([hidden])", timeout=10_000)
    for _ in range(40):  # Tab from the top of the page to the organization field
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "org-name":
            break
    else:
        raise AssertionError("Tab never reached the new organization field")
    await page.keyboard.type("Keyboard Clinic")
    await page.keyboard.press("Enter")
    await wait_text(page, "#orgs", "Keyboard Clinic")
    await wait_text(page, "#admin-msg", "Organization Keyboard Clinic added.")
