"""The provider page on a phone: +, -, a typed number and "no change" change the live count;
holds and referrals show up on it."""

from __future__ import annotations

import time

from playwright.async_api import expect

from tests.browser.pages import PHONE, WALL, open_page, wait_text
from tests.conftest import Server


async def provider_setup(server: Server) -> dict[str, str]:
    org = await server.org("Lantern House")
    other = await server.org("Someone Else")
    program = await server.program(org, name="Lantern Crisis Respite",
                                   level_of_care="crisis_residential")
    elsewhere = await server.program(other, name="Not Ours")
    return {"org": org, "program": program,
            "unit": await server.unit(program, capacity=6, available=2, label="Respite beds"),
            "other_unit": await server.unit(elsewhere, capacity=5, available=1)}


async def live_available(server: Server, unit_id: str) -> dict:
    async with server.client(await server.token("display")) as client:
        return (await client.get(f"/api/v1/units/{unit_id}")).json()


async def test_plus_minus_number_and_attest_change_the_live_count(contexts, server: Server
                                                                  ) -> None:
    ids = await provider_setup(server)
    page = await open_page(contexts, server, "/provider",
                           await server.token("provider", ids["org"]), PHONE)
    assert await page.locator("#org-title").inner_text() == "Lantern House"
    assert await page.locator(".prov-unit").count() == 1  # only this organization's units
    field = page.get_by_label("Open beds now")
    assert await field.input_value() == "2"

    display = await open_page(contexts, server, "/display", None, WALL)
    wall_count = display.locator(".tile", has_text="Lantern Crisis Respite").locator(".count")
    assert await wall_count.inner_text() == "2"

    started = time.monotonic()
    await page.get_by_role("button", name="One more open: Respite beds").click()
    await expect(wall_count).to_have_text("3", timeout=1000)  # another context, no reload
    assert time.monotonic() - started < 1.0
    await wait_text(page, ".prov-unit .msg", "Saved: 3 open.")
    assert (await live_available(server, ids["unit"]))["available"] == 3

    await page.get_by_role("button", name="One fewer open: Respite beds").click()
    await wait_text(page, ".prov-unit .msg", "Saved: 2 open.")
    assert (await live_available(server, ids["unit"]))["available"] == 2

    await field.fill("5")
    await page.get_by_role("button", name="Save number").click()
    await wait_text(page, ".prov-unit .msg", "Saved: 5 open.")
    before = await live_available(server, ids["unit"])
    assert before["available"] == 5

    await page.get_by_role("button", name="No change: confirm counts for Respite beds").click()
    await wait_text(page, ".prov-unit .msg", "Confirmed: 5 open, no change.")
    after = await live_available(server, ids["unit"])
    assert after["available"] == 5 and after["seq"] > before["seq"]
    assert after["updated_at"] > before["updated_at"]

    # The server's refusal is shown in words and the field returns to the live count.
    await field.fill("9")
    await page.get_by_role("button", name="Save number").click()
    await wait_text(page, ".prov-unit .msg.bad", "more than the capacity of 6")
    assert (await live_available(server, ids["unit"]))["available"] == 5
    assert await field.input_value() == "5"

    # A change made elsewhere arrives live.
    async with server.client(await server.token("admin")) as admin:
        reply = await admin.put(f"/api/v1/units/{ids['unit']}/availability",
                                json={"available": 4})
        assert reply.status_code == 200
    await expect(field).to_have_value("4", timeout=2000)
    await expect(wall_count).to_have_text("4")
    assert page.errors == [] and display.errors == []


async def test_census_upload_applies_a_file_or_reports_its_bad_rows(
        contexts, server: Server, tmp_path) -> None:
    ids = await provider_setup(server)
    page = await open_page(contexts, server, "/provider",
                           await server.token("provider", ids["org"]), PHONE)
    form = page.locator("#census-form")
    assert await form.get_attribute("action") == "/api/v1/census"
    assert await form.get_attribute("enctype") == "multipart/form-data"
    chooser = page.get_by_label("CSV file (unit_id, available, …)")
    assert await chooser.get_attribute("name") == "file"
    await page.get_by_role("button", name="Upload").click()
    await wait_text(page, "#census-result", "Choose a CSV file first.")

    bad = tmp_path / "bad.csv"
    bad.write_text(f"unit_id,available\n{ids['unit']},lots\n")
    await chooser.set_input_files(bad)
    await page.get_by_role("button", name="Upload").click()
    await wait_text(page, "#census-result", "Nothing applied")
    await wait_text(page, "#census-result li", "Row 2:")
    assert (await live_available(server, ids["unit"]))["available"] == 2

    good = tmp_path / "census.csv"
    good.write_text(f"unit_id,available\n{ids['unit']},4\n")
    await chooser.set_input_files(good)
    await page.get_by_role("button", name="Upload").click()
    await wait_text(page, "#census-result", "Applied 1 row")
    assert (await live_available(server, ids["unit"]))["available"] == 4
    assert await page.get_by_label("Open beds now").input_value() == "4"


async def test_hold_shows_on_second_navigator_and_provider_page(contexts, server: Server
                                                                ) -> None:
    ids = await provider_setup(server)
    first = await open_page(contexts, server, "/", await server.token("navigator"))
    second = await open_page(contexts, server, "/", await server.token("navigator"))
    provider = await open_page(contexts, server, "/provider",
                               await server.token("provider", ids["org"]), PHONE)
    unit_row = f"#results [data-unit='{ids['unit']}']"
    await wait_text(second, unit_row, "0 held")

    await first.get_by_role("button", name="Hold a bed: Lantern Crisis Respite, Respite beds"
                            ).click()
    await first.get_by_label("Your client reference").fill("case-417")
    await first.get_by_label("Hold for (minutes)").fill("30")
    await first.get_by_role("button", name="Hold bed", exact=True).click()
    await wait_text(first, "#holds", "case-417 → Lantern Crisis Respite")
    assert "left" in await first.locator("#holds .countdown").inner_text()

    await wait_text(second, unit_row, "1 open")
    await wait_text(second, unit_row, "1 held")
    await wait_text(provider, "#holds", "Lantern Crisis Respite — Respite beds")
    await wait_text(provider, ".prov-counts", "1 held for clients on the way")
    assert await second.locator("#holds li").count() == 0  # the hold is not theirs

    await first.get_by_role("button", name="Release bed held for case-417 at Lantern Crisis "
                            "Respite").click()
    await wait_text(first, "#holds-msg", "case-417: bed released.")
    await wait_text(second, unit_row, "0 held")
    await wait_text(provider, "#holds-empty", "No beds are held.")


async def test_incoming_referral_arrives_live_and_is_accepted(contexts, server: Server) -> None:
    ids = await provider_setup(server)
    provider = await open_page(contexts, server, "/provider",
                               await server.token("provider", ids["org"]), PHONE)
    async with server.client(await server.token("navigator")) as navigator:
        reply = await navigator.post("/api/v1/referrals", json={
            "client_ref": "ref-88", "program_ids": [ids["program"]], "needs": {"age": 30}})
        assert reply.status_code == 201, reply.text
    await wait_text(provider, "#flash", "New referral for client ref-88.")
    await wait_text(provider, "#referrals", "Client ref-88 → Lantern Crisis Respite")
    await provider.get_by_label("Accept into").select_option(ids["unit"])
    await provider.get_by_role("button", name="Accept", exact=True).click()
    await wait_text(provider, "#referrals", "Accepted: a bed is held for this client.")
    await wait_text(provider, "#holds", "Client ref-88")
    await wait_text(provider, ".prov-counts", "1 held for clients on the way")
