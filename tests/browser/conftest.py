"""Browser tests: Debian's Chromium driven by Playwright against the real app.

One browser serves the whole session, so these tests (and the app each one serves) run on
the session's event loop. Without /usr/bin/chromium they skip, unless
BEDFINDER_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from inventory.config import Settings
from tests.conftest import Server, serve

CHROMIUM = Path(os.environ.get("BEDFINDER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
HERE = Path(__file__).resolve().parent
# Set only by `bench/refresh_screenshots.sh`: a test run never writes into the work tree.
PUBLISH_TO = os.environ.get("BEDFINDER_PUBLISH_SCREENSHOTS")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this folder's async tests on the session loop, where the browser lives."""
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if HERE in Path(str(item.fspath)).parents and pytest_asyncio.is_async_test(item):
            item.add_marker(session_loop, append=False)


def unavailable(reason: str) -> None:
    if os.environ.get("BEDFINDER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"BEDFINDER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser tests need Chromium: {reason}")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError as error:
        unavailable(f"playwright is not installed ({error})")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with public reading on so the wall display needs no token."""
    return settings.model_copy(update={"public_read": True})


@pytest_asyncio.fixture(loop_scope="session")
async def server(settings: Settings, browser: Any) -> AsyncIterator[Server]:
    """The real app (tests/conftest.py `serve`), on the session loop beside the browser."""
    async for running in serve(settings):
        yield running


class Contexts:
    """The browser contexts one test opens (each with its own sessionStorage)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.opened: list[Any] = []

    async def new(self, **options: Any) -> Any:
        context = await self.browser.new_context(**options)
        self.opened.append(context)
        return context

    async def close(self) -> None:
        for context in self.opened:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def contexts(browser: Any, server: Server) -> AsyncIterator[Contexts]:
    """Closed when the test ends and before its server stops, so no page is still talking
    to an app that is shutting down."""
    opened = Contexts(browser)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save screenshots (a temporary folder; see `publish`)."""
    return tmp_path_factory.mktemp("screenshots")


def publish(shot: Path) -> None:
    """Copy a screenshot to the folder BEDFINDER_PUBLISH_SCREENSHOTS names, if it is set."""
    if PUBLISH_TO:
        Path(PUBLISH_TO).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(PUBLISH_TO) / shot.name)
