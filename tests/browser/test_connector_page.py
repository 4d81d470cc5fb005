"""The connector's page on `/`: start a transition, refer to up to three programs at once,
see every answer arrive live, hold a bed directly, and be refused the ninth transition with
the server's reason; usable with the keyboard, axe-clean, at phone and desktop widths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.browser.pages import (
    DESKTOP,
    PHONE,
    no_horizontal_scroll,
    open_page,
    overlapping_text,
    serious_violations,
    wait_text,
)
from tests.conftest import Server

RESIDENTIAL = ("Casa Alba Residential", "Ironwood Residential Recovery",
               "Redwood Commons Residential")


async def landing_places(server: Server) -> dict[str, Any]:
    """A detox program to leave, three residential programs (each its own organization) and a
    recovery residence: four options from detox, so the three-at-once limit shows."""
    sending = await server.org("Fogline Health")
    detox = await server.program(sending, name="Fogline Detox",
                                 level_of_care="withdrawal_management")
    await server.unit(detox, capacity=12, available=0, label="Detox beds")
    programs: dict[str, dict[str, str]] = {}
    for name, free in zip(RESIDENTIAL, (2, 1, 1), strict=True):
        org = await server.org(name.split()[0] + " Agency")
        program = await server.program(org, name=name, level_of_care="residential_sud")
        unit = await server.unit(program, capacity=8, available=free, label="Residential beds")
        programs[name] = {"org": org, "program": program, "unit": unit}
    residence = await server.program(await server.org("Harbor Light"),
                                     name="Harbor Light Recovery Residence",
                                     level_of_care="recovery_residence")
    await server.unit(residence, capacity=6, available=3, label="Rooms")
    return {"sending": sending, "detox": detox, "programs": programs,
            "navigator": await server.token("navigator")}


async def provider_call(server: Server, org: str, path: str, body: dict | None = None) -> Any:
    async with server.client(await server.token("provider", org)) as client:
        reply = await client.post(path, json=body or {})
        assert reply.status_code == 200, reply.text
        return reply.json()


async def referral_for(server: Server, navigator: str, program: str) -> dict[str, Any]:
    async with server.client(navigator) as client:
        sent = (await client.get("/api/v1/referrals")).json()
    return next(r for r in sent if r["program_id"] == program)


def referral_row(page: Any, name: str) -> Any:
    return page.locator("#tp-referrals li", has_text=name)


async def test_connector_refers_to_three_and_sees_each_answer_arrive_live(
        contexts: Any, server: Server, shots: Path) -> None:
    places = await landing_places(server)
    page = await open_page(contexts, server, "/", places["navigator"], DESKTOP)
    await expect(page.locator("#caseload-count")).to_have_text("0 of 8 open")

    await page.get_by_role("button", name="Start a transition").click()
    await page.get_by_label("Your reference for this client").fill("case-5120")
    await page.get_by_label("Leaving which program").select_option(label="Fogline Detox (Withdrawal management (detox))")
    await page.locator("#start-gender").select_option("female")
    await page.locator("#start-age").fill("34")
    await page.get_by_role("button", name="Start watching").click()
    await wait_text(page, "#caseload-msg", "Watching case-5120.")
    await expect(page.locator("#caseload-count")).to_have_text("1 of 8 open")
    await wait_text(page, "#tp-title", "case-5120: leaving Fogline Detox")
    for name in (*RESIDENTIAL, "Harbor Light Recovery Residence"):
        await wait_text(page, "#tp-options", name)
    assert await page.locator("#tp-options", has_text="Check before referring").count() == 0
    await page.locator("#connector").screenshot(path=shots / "connector-1-options.png")

    for name in RESIDENTIAL:
        await page.get_by_role("checkbox", name=name).check()
    await expect(page.get_by_role("checkbox", name="Harbor Light Recovery Residence")).to_be_disabled()
    await expect(page.locator("#refer-button")).to_have_text("Refer to 3 programs")

    # The server's identifier check refuses a phone number in the note, and says so.
    await page.get_by_label("Note for the programs (optional)").fill("Call her at 415-555-0199")
    await page.locator("#refer-button").click()
    await wait_text(page, "#refer-msg", "Not sent:")
    assert "phone" in (await page.locator("#refer-msg").inner_text()).lower()
    assert await page.locator("#tp-referrals li").count() == 0

    await page.get_by_label("Note for the programs (optional)").fill("Ready after breakfast")
    await page.locator("#refer-button").click()
    await wait_text(page, "#refer-msg", "Referral sent to")
    for name in RESIDENTIAL:
        await wait_text(page, "#tp-referrals", name)
        await expect(referral_row(page, name)).to_contain_text("Referral sent, not seen yet")
    await page.locator("#connector").screenshot(path=shots / "connector-2-referred.png")

    ironwood, redwood, casa = (places["programs"][n] for n in
                               ("Ironwood Residential Recovery", "Redwood Commons Residential",
                                "Casa Alba Residential"))
    navigator = places["navigator"]
    declined = await referral_for(server, navigator, ironwood["program"])
    await provider_call(server, ironwood["org"], f"/api/v1/referrals/{declined['id']}/decline",
                        {"reason": "clinical_needs"})
    row = referral_row(page, "Ironwood Residential Recovery")
    await expect(row).to_contain_text("Declined", timeout=3000)  # live: no reload
    await expect(row).to_contain_text("Reason: clinical needs")

    seen = await referral_for(server, navigator, redwood["program"])
    await provider_call(server, redwood["org"], f"/api/v1/referrals/{seen['id']}/acknowledge")
    await expect(referral_row(page, "Redwood Commons Residential")).to_contain_text(
        "Seen by the program", timeout=3000)

    accepted = await referral_for(server, navigator, casa["program"])
    await provider_call(server, casa["org"], f"/api/v1/referrals/{accepted['id']}/accept",
                        {"unit_id": casa["unit"]})
    await expect(referral_row(page, "Casa Alba Residential")).to_contain_text(
        "Accepted: a bed is held", timeout=3000)
    await expect(referral_row(page, "Redwood Commons Residential")).to_contain_text("Withdrawn")
    await expect(page.locator("#tp-status")).to_contain_text("Bed held")
    await expect(page.locator("#tp-options-box")).to_be_hidden()
    await expect(page.locator("#tp-hold-text")).to_contain_text(
        "A bed is held at Casa Alba Residential until")
    await page.locator("#connector").screenshot(path=shots / "connector-3-accepted.png")
    assert await serious_violations(page) == []

    await page.locator("#tp-admit").click()
    await expect(page.locator("#tp-status")).to_contain_text("Admitted", timeout=3000)
    await expect(page.locator("#caseload-count")).to_have_text("0 of 8 open")
    await page.locator("#connector").screenshot(path=shots / "connector-4-admitted.png")
    assert page.errors == []


async def test_hold_directly_on_a_phone_and_the_ninth_transition_is_refused(
        contexts: Any, server: Server, shots: Path) -> None:
    places = await landing_places(server)
    navigator = places["navigator"]
    soon = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    async with server.client(navigator) as client:
        for n in range(8):
            reply = await client.post("/api/v1/transitions", json={
                "client_ref": f"load-{n}", "from_program_id": places["detox"],
                "discharge_at": soon, "needs": {"gender": "male", "age": 40 + n}})
            assert reply.status_code == 201, reply.text
    async with server.client(await server.token("provider", places["sending"])) as sender:
        queued = await sender.post("/api/v1/discharges", json={
            "client_ref": "queue-9", "from_program_id": places["detox"], "ready_by": soon})
        assert queued.status_code == 201, queued.text
    page = await open_page(contexts, server, "/", navigator, PHONE)
    await expect(page.locator("#caseload-count")).to_have_text("8 of 8 open")
    assert await no_horizontal_scroll(page)

    await wait_text(page, "#tp-options", "Casa Alba Residential")
    assert await no_horizontal_scroll(page)
    assert await overlapping_text(page, "#connector h2, #connector h3, #connector h4, "
                                  ".option-name, .option-counts, .cx-open strong") == []
    await page.locator("#connector").screenshot(path=shots / "connector-phone-options.png")
    hold = page.get_by_role("button", name="Hold a bed at Casa Alba Residential")
    await hold.click()
    confirmation = page.locator("#tp-msg")
    await expect(confirmation).to_contain_text("Bed held at Casa Alba Residential until")
    await expect(page.locator("#tp-status")).to_contain_text("Bed held")
    async with server.client(navigator) as client:
        held = (await client.get("/api/v1/holds", params={"status": "active"})).json()
    assert [h["client_ref"] for h in held] == ["load-0"]
    box = await confirmation.bounding_box()
    assert box is not None and 0 <= box["y"] < PHONE["height"]  # confirmed where tapped
    await page.screenshot(path=shots / "connector-phone-held.png")

    await page.get_by_role("button", name="Start a transition").click()
    await page.get_by_label("Your reference for this client").fill("case-9")
    await page.get_by_label("Leaving which program").select_option(label="Fogline Detox (Withdrawal management (detox))")
    await page.get_by_role("button", name="Start watching").click()
    error = page.locator("#start-error")
    await expect(error).to_contain_text("Not started:")
    await expect(error).to_contain_text("8")
    assert "caseload" in (await error.inner_text()).lower()
    await page.screenshot(path=shots / "connector-phone-ninth.png")
    assert await serious_violations(page) == []
    await page.get_by_role("button", name="Close").click()
    assert await no_horizontal_scroll(page)

    await page.get_by_role("button", name="Claim queue-9").click()  # the ninth, by claiming
    await wait_text(page, "#caseload-msg", "Could not claim queue-9:")
    assert "8" in await page.locator("#caseload-msg").inner_text()
    await expect(page.locator("#queue li", has_text="queue-9")).to_be_visible()
    assert page.errors == []


async def test_refer_with_the_keyboard_only(contexts: Any, server: Server) -> None:
    places = await landing_places(server)
    soon = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    async with server.client(places["navigator"]) as client:
        assert (await client.post("/api/v1/transitions", json={
            "client_ref": "kb-7", "from_program_id": places["detox"], "discharge_at": soon,
            "needs": {"gender": "female", "age": 29}})).status_code == 201
    page = await open_page(contexts, server, "/", places["navigator"], DESKTOP)
    await wait_text(page, "#tp-options", "Casa Alba Residential")
    await page.get_by_role("checkbox", name="Casa Alba Residential").focus()
    await page.keyboard.press("Space")
    for _ in range(12):  # Tab on to the Refer button
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "refer-button":
            break
    assert await page.evaluate("document.activeElement.id") == "refer-button"
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    await page.keyboard.press("Enter")
    await wait_text(page, "#refer-msg", "Referral sent to Casa Alba Residential.")
    await expect(referral_row(page, "Casa Alba Residential")).to_contain_text("not seen yet")


async def test_a_member_from_another_organization_sees_nothing_until_invited_with_a_release(
        contexts: Any, server: Server, shots: Path) -> None:
    places = await landing_places(server)
    soon = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    async with server.client(places["navigator"]) as client:
        made = await client.post("/api/v1/transitions", json={
            "client_ref": "team-4", "from_program_id": places["detox"], "discharge_at": soon,
            "needs": {"gender": "female", "age": 52}})
        assert made.status_code == 201, made.text
    transition_id = made.json()["id"]
    probation_org = await server.org("County Probation")
    probation = await server.token("provider", probation_org)
    async with server.client(probation) as client:
        member_id = (await client.get("/api/v1/me")).json()["token_id"]

    outsider = await open_page(contexts, server, "/", probation, DESKTOP)
    await expect(outsider.locator("#caseload-title")).to_have_text("Transitions we are part of")
    await outsider.evaluate(f"location.hash = 'transition={transition_id}'")
    await expect(outsider.locator("#transitions-empty")).to_be_visible()
    assert await outsider.locator("#transition-panel").is_hidden()  # nothing before invited

    page = await open_page(contexts, server, "/", places["navigator"], DESKTOP)
    await wait_text(page, "#tp-title", "team-4")
    await page.get_by_label("Invite (person or token id)").fill(member_id)
    await page.get_by_role("button", name="Invite", exact=True).click()
    await wait_text(page, "#invite-msg", "Not invited:")
    assert "release" in (await page.locator("#invite-msg").inner_text()).lower()
    await expect(page.locator("#tp-team li")).to_have_count(1)  # the lead only

    await page.get_by_label("A release of information for this client is on file").check()
    await page.get_by_role("button", name="Invite", exact=True).click()
    await wait_text(page, "#invite-msg", "Invited to the care team.")
    await expect(page.locator("#tp-team li")).to_have_count(2)
    await expect(page.locator("#tp-team li").nth(1)).to_contain_text("release on file")
    await expect(page.locator("#tp-timeline .tl-member_invited")).to_have_count(1)

    await outsider.reload()
    await outsider.wait_for_selector("#app:not([hidden])")
    await expect(outsider.locator("#tp-title")).to_contain_text("team-4")
    await expect(outsider.locator("#tp-timeline .tl-member_invited")).to_have_count(1)
    await outsider.get_by_label("Add a note for the care team").fill("Check-in set for Monday")
    await outsider.get_by_role("button", name="Add note").click()
    await expect(page.locator("#tp-timeline .tl-note")).to_contain_text(
        "Check-in set for Monday", timeout=3000)
    await page.locator("#connector").screenshot(path=shots / "connector-care-team.png")
    linked = await open_page(contexts, server, f"/?transition={transition_id}", probation,
                             PHONE)  # an alert's link opens the transition
    await expect(linked.locator("#tp-title")).to_contain_text("team-4")
    assert await serious_violations(outsider) == []
    assert outsider.errors == [] and page.errors == [] and linked.errors == []


async def test_a_supervisor_reassigns_and_the_new_connector_sees_it_arrive(
        contexts: Any, server: Server) -> None:
    places = await landing_places(server)
    soon = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    async with server.client(places["navigator"]) as client:
        made = await client.post("/api/v1/transitions", json={
            "client_ref": "move-2", "from_program_id": places["detox"], "discharge_at": soon})
        assert made.status_code == 201, made.text
    other = await server.token("navigator")
    async with server.client(other) as client:
        other_id = (await client.get("/api/v1/me")).json()["token_id"]
    receiving = await open_page(contexts, server, "/", other, PHONE)
    await expect(receiving.locator("#transitions-empty")).to_be_visible()

    supervisor = await open_page(contexts, server, "/", await server.token("supervisor"),
                                 DESKTOP)
    await wait_text(supervisor, "#tp-title", "move-2")
    await supervisor.get_by_label("Give this transition to (navigator id)").fill(other_id)
    await supervisor.get_by_role("button", name="Reassign", exact=True).click()
    await wait_text(supervisor, "#assign-msg", f"move-2 is now with {other_id}.")
    await expect(receiving.locator("#transitions li", has_text="move-2")).to_be_visible(
        timeout=3000)
    await expect(receiving.locator("#caseload-count")).to_have_text("1 of 8 open")
    assert supervisor.errors == [] and receiving.errors == []


async def test_option_counts_follow_the_live_feed_then_withdraw_and_cancel_take_effect(
        contexts: Any, server: Server) -> None:
    places = await landing_places(server)
    soon = (datetime.now(UTC) + timedelta(hours=8)).isoformat()
    async with server.client(places["navigator"]) as client:
        assert (await client.post("/api/v1/transitions", json={
            "client_ref": "live-3", "from_program_id": places["detox"], "discharge_at": soon,
            "needs": {"gender": "male", "age": 45}})).status_code == 201
    page = await open_page(contexts, server, "/", places["navigator"], DESKTOP)
    ironwood = page.locator("#tp-options .option", has_text="Ironwood Residential Recovery")
    await expect(ironwood.locator(".option-counts")).to_contain_text("1 open now")

    unit = places["programs"]["Ironwood Residential Recovery"]
    async with server.client(await server.token("provider", unit["org"])) as provider:
        reply = await provider.put(f"/api/v1/units/{unit['unit']}/availability",
                                   json={"available": 4})
        assert reply.status_code == 200, reply.text
    await expect(ironwood.locator(".option-counts")).to_contain_text("4 open now", timeout=3000)

    await ironwood.get_by_role("checkbox").check()
    await page.locator("#refer-button").click()
    await wait_text(page, "#refer-msg", "Referral sent to Ironwood Residential Recovery.")
    await expect(ironwood.get_by_role("checkbox")).to_be_disabled()  # referred already
    await page.get_by_role("button",
                           name="Withdraw the referral to Ironwood Residential Recovery").click()
    await wait_text(page, "#tp-msg", "Referral to Ironwood Residential Recovery withdrawn.")
    await expect(referral_row(page, "Ironwood Residential Recovery")).to_contain_text("Withdrawn")

    cancel = page.locator("#tp-cancel")
    await cancel.click()
    await expect(cancel).to_have_text("Press again to cancel live-3")  # one tap cancels nothing
    await expect(page.locator("#tp-status")).to_contain_text("Open")
    await cancel.click()
    await wait_text(page, "#tp-msg", "live-3: transition cancelled.")
    await expect(page.locator("#tp-status")).to_contain_text("Cancelled")
    await expect(page.locator("#caseload-count")).to_have_text("0 of 8 open")
    assert page.errors == []
