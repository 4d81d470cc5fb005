"""Issue 17's Done-when, in headless Chromium across browser contexts (one per person): a
detox provider marks a client discharge-pending; a connector claims it and refers to three
residential programs; one declines with a reason and one accepts (a hold is placed and the
third is withdrawn); the sending and the accepting program see the same timeline; the client
is admitted and the next step is offered; all of it once in Spanish.

The e-mail and push alerts of that day are asserted in the alerts' own tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import publish
from tests.browser.pages import DESKTOP, PHONE, open_page, serious_violations
from tests.conftest import Server

HERE = Path(__file__).resolve().parents[2]
TRANSLATED = (HERE / "web" / "static" / "i18n.js").exists()
RESIDENTIAL = ("Casa Alba Residential", "Ironwood Residential Recovery",
               "Redwood Commons Residential")
LANGUAGES = ["en", pytest.param("es", marks=pytest.mark.skipif(
    not TRANSLATED, reason="the Spanish run needs the i18n catalogs (web/static/i18n.js)"))]


async def agencies(server: Server) -> dict[str, Any]:
    """The detox program that sends, three residential programs that receive (each its own
    organization, with its own provider), and a connector."""
    detox_org = await server.org("Fogline Health")
    detox = await server.program(detox_org, name="Fogline Detox",
                                 level_of_care="withdrawal_management")
    await server.unit(detox, capacity=12, available=0, label="Detox beds")
    receiving: dict[str, dict[str, str]] = {}
    for name in RESIDENTIAL:
        org = await server.org(name.split()[0] + " Agency")
        program = await server.program(org, name=name, level_of_care="residential_sud")
        unit = await server.unit(program, capacity=8, available=1, label="Residential beds")
        receiving[name] = {"org": org, "program": program, "unit": unit,
                           "token": await server.token("provider", org)}
    residence = await server.program(await server.org("Harbor Light"),
                                     name="Harbor Light Recovery Residence",
                                     level_of_care="recovery_residence")
    await server.unit(residence, capacity=6, available=2, label="Rooms")
    return {"detox_org": detox_org, "detox": detox, "receiving": receiving,
            "sender": await server.token("provider", detox_org),
            "connector": await server.token("navigator")}


def address(path: str, lang: str) -> str:
    return path if lang == "en" else f"{path}{'&' if '?' in path else '?'}lang={lang}"


async def shoot(page: Any, shots: Path, name: str) -> None:
    await page.screenshot(path=shots / name, full_page=True)
    publish(shots / name)


def words(lang: str, domain: str, english: str) -> str:
    """What the page should say for `english` in `lang`: the catalog's translation, or the
    English while the message is not translated yet (the pages fall back the same way)."""
    if lang == "en":
        return english
    from babel.messages.pofile import read_po

    with (HERE / "web" / "translations" / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
        found = read_po(f).get(english)
    return found.string if found and found.string and not found.fuzzy else english


async def timeline_of(page: Any) -> list[tuple[str, str]]:
    return [(await li.get_attribute("data-event") or "", await li.inner_text())
            for li in await page.locator("#tp-timeline li").all()]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_connectors_day_from_discharge_pending_to_the_next_step(
        contexts: Any, server: Server, shots: Path, lang: str) -> None:
    day = await agencies(server)
    ref = f"day-{lang}-7731"

    # 1. The detox program marks the client discharge-pending, on its phone.
    sending = await open_page(contexts, server, address("/provider", lang), day["sender"], PHONE)
    form = sending.locator("#dp-form")
    await form.locator("#dp-ref").fill(ref)
    await form.locator("#dp-gender").select_option("female")
    await form.locator("#dp-age").fill("38")
    await form.locator("button[type=submit]").click()
    mine = sending.locator("#dp-list li", has_text=ref)
    await expect(mine).to_be_visible()
    transition_id = await mine.get_attribute("data-transition")
    assert transition_id
    await shoot(sending, shots, f"day-{lang}-0-discharge-pending.png")

    # 2. The connector claims it from the queue.
    connector = await open_page(contexts, server, address("/", lang), day["connector"], DESKTOP)
    assert await connector.evaluate("document.documentElement.lang") == lang
    await expect(connector.locator("#caseload-title")).to_have_text(
        words(lang, "messages", "My caseload"))
    queued = connector.locator(f"#queue [data-transition='{transition_id}']")
    await expect(queued).to_contain_text(ref)
    await shoot(connector, shots, f"day-{lang}-1-queue.png")
    await queued.get_by_role("button").click()
    await expect(connector.locator(f"#transitions [data-transition='{transition_id}']")
                 ).to_be_visible()
    await expect(connector.locator("#tp-title")).to_contain_text(ref)
    await expect(connector.locator("#queue [data-transition]")).to_have_count(0)

    # 3. ... and refers to three residential programs at once.
    await expect(connector.locator("#tp-options .option")).to_have_count(4)
    for name in RESIDENTIAL:
        await connector.locator("#tp-options .option", has_text=name).locator(
            "input[type=checkbox]").check()
    await connector.locator("#refer-button").click()
    await expect(connector.locator("#tp-referrals li")).to_have_count(3)
    await expect(connector.locator("#tp-referrals li").first).to_contain_text(
        words(lang, "js", "Referral sent, not seen yet"))
    await shoot(connector, shots, f"day-{lang}-2-referred.png")

    # 4. One program declines with a reason, another accepts (each on its own provider page).
    ironwood = day["receiving"]["Ironwood Residential Recovery"]
    casa = day["receiving"]["Casa Alba Residential"]
    declining = await open_page(contexts, server, address("/provider", lang), ironwood["token"],
                                PHONE)
    offer = declining.locator("#referrals li", has_text=ref)
    await offer.locator("select").last.select_option("clinical_needs")
    await offer.locator("button.danger").click()
    declined = connector.locator("#tp-referrals li.ref-declined")
    await expect(declined).to_contain_text("Ironwood Residential Recovery", timeout=3000)
    await expect(connector.locator("#tp-timeline .tl-referral_declined")).to_have_count(1)

    accepting = await open_page(contexts, server, address("/provider", lang), casa["token"],
                                PHONE)
    offer = accepting.locator("#referrals li", has_text=ref)
    started = time.monotonic()
    async with accepting.expect_response(lambda r: r.url.endswith("/accept")):
        await offer.locator("button.primary").click()
    print(f"[{lang}] the acceptance's own request: "
          f"{(time.monotonic() - started) * 1000:.0f} ms")
    await expect(connector.locator("#tp-referrals li.ref-accepted")).to_contain_text(
        "Casa Alba Residential", timeout=3000)
    accepted_after = time.monotonic() - started
    await expect(connector.locator("#tp-referrals li.ref-withdrawn")).to_contain_text(
        "Redwood Commons Residential")
    await expect(connector.locator("#tp-hold")).to_be_visible()
    await expect(connector.locator("#tp-timeline .tl-hold_placed")).to_have_count(1)
    await shoot(connector, shots, f"day-{lang}-3-accepted.png")
    print(f"[{lang}] acceptance on the provider page to the connector's page: "
          f"{accepted_after * 1000:.0f} ms")

    # 5. The sending and the accepting program see the same timeline as the connector.
    views = {"sending": await open_page(contexts, server, address("/", lang), day["sender"],
                                        DESKTOP),
             "accepting": await open_page(contexts, server, address("/", lang), casa["token"],
                                          DESKTOP)}
    expected = await timeline_of(connector)
    for who, page in views.items():
        await page.evaluate(f"location.hash = 'transition={transition_id}'")  # a shared link
        await expect(page.locator("#tp-title")).to_contain_text(ref)
        await expect(page.locator("#tp-timeline li")).to_have_count(len(expected))
        assert await timeline_of(page) == expected, who
        await expect(page.locator("#tp-options-box")).to_be_hidden()  # no referring
    await shoot(views["sending"], shots, f"day-{lang}-4-sending-program.png")
    await shoot(views["accepting"], shots, f"day-{lang}-4-accepting-program.png")

    # A note from the sending program reaches the connector live.
    await views["sending"].locator("#note-text").fill("Packed and ready at the front desk")
    started = time.monotonic()
    await views["sending"].locator("#note-form button").click()
    await expect(connector.locator("#tp-timeline .tl-note")).to_contain_text(
        "Packed and ready at the front desk", timeout=3000)
    print(f"[{lang}] a note on the sending program's page to the connector's page: "
          f"{(time.monotonic() - started) * 1000:.0f} ms")

    # 6. Admitted; the next step on the pathway is offered and taken.
    await connector.locator("#tp-admit").click()
    await expect(connector.locator("#tp-next")).to_be_visible()
    await expect(connector.locator("#tp-timeline .tl-admitted")).to_have_count(1)
    await expect(views["accepting"].locator("#tp-timeline .tl-admitted")).to_have_count(
        1, timeout=3000)
    await shoot(connector, shots, f"day-{lang}-5-admitted.png")
    await connector.locator("#next-form button").click()
    await expect(connector.locator("#tp-title")).to_contain_text(ref)
    await expect(connector.locator("#tp-title")).to_contain_text("Casa Alba Residential")
    await expect(connector.locator("#tp-timeline .tl-created")).to_have_count(1)
    await expect(connector.locator("#tp-options .option", has_text="Harbor Light Recovery Residence")
                 ).to_be_visible()
    await shoot(connector, shots, f"day-{lang}-6-next-step.png")

    assert await serious_violations(connector) == []
    for page in (sending, connector, declining, accepting, *views.values()):
        assert page.errors == []
