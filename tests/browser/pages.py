"""Helpers for driving the pages: open one signed in, wait for live text, measure layout."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import Server

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 1000}
WALL = {"width": 1920, "height": 1080}


async def open_page(contexts: Any, server: Server, path: str, token: str | None = None,
                    viewport: dict[str, int] = DESKTOP) -> Any:
    """A fresh context (its own sessionStorage) with the page loaded and signed in. The token
    goes in the fragment, which browsers never send to the server."""
    context = await contexts.new(viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.errors = errors  # type: ignore[attr-defined]  # script errors and CSP violations
    url = server.base_url + path + (f"#token={token}" if token else "")
    await page.goto(url)
    await page.wait_for_selector("#app:not([hidden])", timeout=10_000)
    await page.wait_for_selector("#conn[data-state='live']", timeout=10_000)
    return page


async def wait_text(page: Any, selector: str, text: str, timeout: float = 5.0) -> float:
    """Seconds until an element matching `selector` contains `text`."""
    start = time.monotonic()
    await page.locator(selector, has_text=text).first.wait_for(timeout=timeout * 1000)
    return time.monotonic() - start


async def no_horizontal_scroll(page: Any) -> bool:
    return await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


OVERLAPS = """(selector) => {
  // Text elements whose boxes intersect another's, or whose text overflows its box.
  const nodes = [...document.querySelectorAll(selector)].filter((n) => n.offsetParent !== null);
  const boxes = nodes.map((n) => [n, n.getBoundingClientRect()]);
  const problems = [];
  for (const [n, r] of boxes) {
    if (n.scrollWidth > n.clientWidth + 1) problems.push(`overflows: ${n.textContent.trim()}`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 1 && h > 1) problems.push(`${a.textContent.trim()} / ${b.textContent.trim()}`);
    }
  }
  return problems;
}"""


async def overlapping_text(page: Any, selector: str) -> list[str]:
    return await page.evaluate(OVERLAPS, selector)


async def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:5])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
