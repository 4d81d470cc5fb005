"""Every page speaks the language asked for in the address (then remembered), or the
browser's, with `<html lang>` set, `window.t` ready before the page's scripts, and a switcher
that works from the keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import publish
from tests.browser.pages import DESKTOP, PHONE, no_horizontal_scroll, serious_violations
from tests.conftest import Server

PAGES = ["/", "/provider", "/display", "/analytics", "/admin"]


async def fresh(contexts: Any, **options: Any) -> Any:
    context = await contexts.new(viewport=DESKTOP, **options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def test_spanish_from_the_address_is_remembered_on_every_page(
        contexts: Any, server: Server) -> None:
    page = await fresh(contexts)
    await page.goto(server.base_url + "/?lang=es")
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert await page.evaluate("document.documentElement.dir") == "ltr"
    assert await page.evaluate("typeof window.t === 'function' && window.t.lang") == "es"
    for path in PAGES:
        await page.goto(server.base_url + path)  # no ?lang: the cookie remembers
        assert await page.evaluate("document.documentElement.lang") == "es", path
        switcher = page.get_by_role("navigation", name="Idioma")
        await switcher.get_by_role("link", name="Español").wait_for()
        assert await switcher.get_by_role("link", name="Español").get_attribute(
            "aria-current") == "true", path
    assert page.errors == []


async def test_the_browser_language_is_used_when_none_is_chosen(
        contexts: Any, server: Server) -> None:
    page = await fresh(contexts, locale="vi-VN")
    await page.goto(server.base_url + "/provider")
    assert await page.evaluate("document.documentElement.lang") == "vi"
    assert await page.evaluate("window.t.number(1234.5)") == "1.234,5"
    await page.get_by_role("navigation", name="Ngôn ngữ").wait_for()


async def test_the_switcher_is_used_with_the_keyboard(contexts: Any, server: Server) -> None:
    page = await fresh(contexts)
    await page.goto(server.base_url + "/provider?lang=en")
    link = page.get_by_role("navigation", name="Language").get_by_role("link", name="中文")
    await link.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**lang=zh-Hant")
    assert await page.evaluate("document.documentElement.lang") == "zh-Hant"
    await page.get_by_role("navigation", name="語言").wait_for()


async def test_sign_in_messages_speak_the_chosen_language(contexts: Any, server: Server) -> None:
    page = await fresh(contexts, locale="es-MX")
    await page.goto(server.base_url + "/signed-out")
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert await page.locator("h1").inner_text() == "Sesión cerrada"
    assert "Cierre esta ventana" in await page.locator("#message").inner_text()
    await page.goto(server.base_url + "/signed-out?lang=zh-Hant")
    assert await page.locator("h1").inner_text() == "已登出"


async def directory(server: Server) -> dict[str, str]:
    org = await server.org("Harbor Health")
    program = await server.program(org, name="Harbor Residential", area="Mission")
    await server.unit(program, capacity=10, available=3, label="Beds")
    return {"org": org, "program": program}


async def signed_in(contexts: Any, server: Server, path: str, token: str,
                    viewport: dict[str, int] = DESKTOP) -> Any:
    context = await contexts.new(viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{server.base_url}{path}#token={token}")
    await page.wait_for_selector("#app:not([hidden])", timeout=10_000)
    return page


async def shot(page: Any, shots: Path, name: str) -> None:
    path = shots / name
    await page.screenshot(path=str(path), full_page=False)
    publish(path)


async def test_every_signed_in_page_speaks_spanish(contexts: Any, server: Server,
                                                   shots: Path) -> None:
    ids = await directory(server)
    navigator = await signed_in(contexts, server, "/?lang=es", await server.token("navigator"),
                                PHONE)
    await navigator.locator("#results-summary", has_text="1 programa coincide").wait_for()
    assert await navigator.locator("h1").inner_text() == "¿Adónde puede ir mi cliente ahora?"
    assert "3 libres" in await navigator.locator("#results").inner_text()
    assert "actualizado ahora mismo" in await navigator.locator("#results").inner_text()
    await navigator.get_by_label("Tratamiento residencial de adicciones").wait_for()
    await shot(navigator, shots, "i18n-navigator-es-phone.png")

    provider = await signed_in(contexts, server, "/provider?lang=es",
                               await server.token("provider", ids["org"]), PHONE)
    await provider.get_by_role("button", name="Guardar número").wait_for()
    await provider.get_by_label("Camas disponibles ahora").wait_for()
    assert "reservadas para clientes en camino" in await provider.locator(
        ".prov-counts").inner_text()
    await shot(provider, shots, "i18n-provider-es-phone.png")

    analytics = await signed_in(contexts, server, "/analytics?lang=es",
                                await server.token("analyst"))
    await analytics.wait_for_selector("body[data-loaded='true']", timeout=20_000)
    assert await analytics.locator("h1").inner_text() == \
        "Dónde y cuándo se agota el sistema de atención"
    assert (await analytics.locator("#status").inner_text()).startswith("Mostrando")

    admin = await signed_in(contexts, server, "/admin?lang=es", await server.token("admin"))
    assert await admin.locator("h1").inner_text() == "Administración"
    await admin.get_by_role("button", name="Crear token").wait_for()
    await admin.locator("#tokens", has_text="propietario").wait_for()

    wall = await fresh(contexts)
    await wall.goto(server.base_url + "/display?lang=es")
    await wall.locator(".tile .pill", has_text="Disponible").wait_for()
    assert await wall.locator("#wall-title").inner_text() == "Camas disponibles ahora"
    for page in (navigator, provider, analytics, admin, wall):
        assert await page.evaluate("document.documentElement.lang") == "es"
        assert page.errors == []
    for page in (navigator, provider):  # the switcher and the Spanish words pass axe
        assert await serious_violations(page) == []


async def test_phone_pages_in_chinese(contexts: Any, server: Server, shots: Path) -> None:
    ids = await directory(server)
    navigator = await signed_in(contexts, server, "/?lang=zh-Hant",
                                await server.token("navigator"), PHONE)
    await navigator.locator("#results-summary", has_text="個計畫符合").wait_for()
    assert await navigator.locator("h1").inner_text() == "我的個案現在可以去哪裡？"
    await shot(navigator, shots, "i18n-navigator-zh-Hant-phone.png")
    provider = await signed_in(contexts, server, "/provider?lang=zh-Hant",
                               await server.token("provider", ids["org"]), PHONE)
    await provider.get_by_role("button", name="儲存數字").wait_for()
    await shot(provider, shots, "i18n-provider-zh-Hant-phone.png")
    for page in (navigator, provider):
        assert await no_horizontal_scroll(page)


async def test_the_wall_rotates_through_every_language(contexts: Any, server: Server) -> None:
    wall = await fresh(contexts)
    await wall.goto(server.base_url + "/display?lang=all")
    assert await wall.evaluate("window.t.languages()") == ["en", "es", "zh-Hant", "vi"]
    assert await wall.evaluate("window.t.use('vi'), window.t('Open beds now')") == \
        "Giường trống hiện có"


async def test_a_missing_page_is_a_page_in_the_browser_language(
        contexts: Any, server: Server) -> None:
    page = await fresh(contexts, locale="es-ES")
    answer = await page.goto(server.base_url + "/no-such-page")
    assert answer.status == 404
    assert await page.locator("h1").inner_text() == "Página no encontrada"
    assert "/no-such-page" in await page.locator("#error-message").inner_text()
    async with server.client() as api:  # API clients keep the JSON body
        missing = await api.get("/api/v1/no-such-thing", headers={"accept": "text/html"})
        assert missing.status_code == 404 and missing.json()["detail"] == "Not Found"
        plain = await api.get("/no-such-page")
        assert plain.status_code == 404 and plain.json()["detail"] == "Not Found"
