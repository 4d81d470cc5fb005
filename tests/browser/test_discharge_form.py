"""The provider page's discharge-pending form, on a phone: a detox provider marks a client,
sees it waiting, and sees a connector's claim arrive live (no reload)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import publish
from tests.browser.pages import PHONE, no_horizontal_scroll, open_page, wait_text
from tests.conftest import Server


async def test_a_detox_provider_marks_discharge_pending_and_sees_the_claim(
        contexts: Any, server: Server, shots: Path) -> None:
    org = await server.org("Harbor Detox")
    detox = await server.program(org, name="Harbor Detox",
                                 level_of_care="withdrawal_management")
    await server.unit(detox, capacity=10, available=1)
    page = await open_page(contexts, server, "/provider",
                           await server.token("provider", org), PHONE)
    await page.get_by_label("Your reference").fill("dtx-0042")
    await page.get_by_label("Gender").select_option("female")
    await page.get_by_role("button", name="Mark discharge pending").click()
    await wait_text(page, "#dp-msg", "dtx-0042 is in the connectors' queue")
    assert await page.locator("#dp-msg").is_visible()  # confirmed where the person tapped
    await wait_text(page, "#dp-list li", "Waiting for a connector")

    nav = await server.token("navigator")
    async with server.client(nav) as client:
        queue = (await client.get("/api/v1/transitions/queue")).json()
        assert [q["client_ref"] for q in queue] == ["dtx-0042"]
        assert queue[0]["needs"] == {"gender": "female"}
        claimed = await client.post(f"/api/v1/transitions/{queue[0]['id']}/claim")
        assert claimed.status_code == 200, claimed.text
    await wait_text(page, "#dp-list li", "A connector is finding a bed")
    assert await no_horizontal_scroll(page)
    shot = shots / "provider-discharge-pending.png"
    await page.locator(".discharge-pending").screenshot(path=str(shot))
    publish(shot)
    print(f"screenshot: {shot}")


async def test_the_discharge_form_speaks_spanish(contexts: Any, server: Server, shots: Path
                                                 ) -> None:
    org = await server.org("Harbor Detox")
    await server.program(org, name="Harbor Detox", level_of_care="withdrawal_management")
    page = await open_page(contexts, server, "/provider?lang=es",
                           await server.token("provider", org), PHONE)
    await wait_text(page, "#dp-title", "Alta pendiente")
    await page.get_by_label("Su referencia").fill("dtx-0043")
    await page.get_by_role("button", name="Marcar alta pendiente").click()
    await wait_text(page, "#dp-msg", "dtx-0043 está en la cola de los conectores")
    await wait_text(page, "#dp-list li", "Esperando a un conector")
    assert page.errors == []  # type: ignore[attr-defined]
    shot = shots / "provider-discharge-pending-es.png"
    await page.locator(".discharge-pending").screenshot(path=str(shot))
    publish(shot)
    print(f"screenshot: {shot}")
