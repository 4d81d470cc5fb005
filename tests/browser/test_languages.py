"""Every page speaks the language asked for in the address (then remembered), or the
browser's, with `<html lang>` set, `window.t` ready before the page's scripts, and a switcher
that works from the keyboard."""

from __future__ import annotations

from typing import Any

from tests.browser.pages import DESKTOP
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
