"""Fixtures for sign-in tests: a real OpenID Connect provider (the `oidc-provider-mock`
package, a Flask app built on Authlib's server) on a free local port in a thread, and the
real app configured to trust it.

Everything here runs on the session's event loop, like tests/browser, so the same fixtures
serve the Chromium tests (the browser lives on that loop).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import oidc_provider_mock
import pytest
import pytest_asyncio
import werkzeug.serving

from inventory.config import Settings
from tests.browser.conftest import browser, contexts, shots  # noqa: F401 - shared fixtures
from tests.conftest import Server, free_port, serve

HERE = Path(__file__).resolve().parent
CLIENT_ID, CLIENT_SECRET = "bedfinder-test", "not-a-real-secret"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this folder's async tests on the session loop, where the browser lives."""
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if HERE in Path(str(item.fspath)).parents and pytest_asyncio.is_async_test(item):
            item.add_marker(session_loop, append=False)


class IssuerSwitch:
    """WSGI middleware in front of the provider: the provider names itself after the Host it
    is asked on, so setting `token_host` makes it sign ID tokens naming another issuer, and
    `metadata_host` makes its discovery document name another (as a mixed-up or malicious
    provider would)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.token_host: str | None = None
        self.metadata_host: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO")
        if self.token_host and path == "/oauth2/token":
            environ = {**environ, "HTTP_HOST": self.token_host}
        if self.metadata_host and path == "/.well-known/openid-configuration":
            environ = {**environ, "HTTP_HOST": self.metadata_host}
        return self.app(environ, start_response)


@dataclass
class Idp:
    """A running provider: `url` is its issuer."""

    url: str
    switch: IssuerSwitch
    server: werkzeug.serving.BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    async def user(self, sub: str, **claims: Any) -> None:
        async with httpx.AsyncClient() as client:
            reply = await client.put(f"{self.url}/users/{quote(sub)}", json=claims)
            assert reply.status_code == 204, reply.text

    async def disable(self, sub: str) -> None:
        """What disabling an account does at a provider: its tokens stop working."""
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"{self.url}/users/{quote(sub)}/revoke-tokens")
            assert reply.status_code == 204, reply.text

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


def start_idp(token_max_age: timedelta = timedelta(hours=1)) -> Idp:
    switch = IssuerSwitch(oidc_provider_mock.app(access_token_max_age=token_max_age))
    server = werkzeug.serving.make_server("127.0.0.1", 0, switch, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return Idp(f"http://127.0.0.1:{server.server_port}", switch, server, thread)


@pytest.fixture
def idp_factory() -> Iterator[Callable[..., Idp]]:
    started: list[Idp] = []

    def make(**options: Any) -> Idp:
        started.append(start_idp(**options))
        return started[-1]

    yield make
    for idp in started:
        idp.stop()


@pytest.fixture
def idp(idp_factory: Callable[..., Idp]) -> Idp:
    return idp_factory()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, idp: Idp, port: int) -> Settings:
    """The usual test settings, trusting `idp`, rechecking a session at the provider after
    one second."""
    return settings.model_copy(update={
        "oidc_issuer": idp.url, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET,
        "public_base_url": f"http://127.0.0.1:{port}", "session_recheck_minutes": 1 / 60,
        "oidc_admin_contact": "the county BH IT desk (x4357)"})


@pytest_asyncio.fixture(loop_scope="session")
async def server(settings: Settings, port: int) -> AsyncIterator[Server]:
    async for running in serve(settings, port):
        yield running


async def authorize(client: httpx.AsyncClient, sub: str, next_path: str = "/"
                    ) -> httpx.Response:
    """Start at /login and sign in at the provider as `sub` (its login form takes a subject);
    returns the provider's redirect back to the app, not yet followed."""
    start = await client.get("/login", params={"next": next_path})
    assert start.status_code == 302, start.text
    at_provider = start.headers["location"]
    async with httpx.AsyncClient() as browserless:
        answer = await browserless.post(at_provider, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return answer


def callback_params(answer: httpx.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


@asynccontextmanager
async def sign_in(server: Server, sub: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a session for `sub` (cookies kept), with its CSRF header set."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        answer = await authorize(client, sub)
        done = await client.get("/auth/callback", params=callback_params(answer))
        assert done.status_code == 303, done.text
        client.headers["X-CSRF-Token"] = client.cookies["bf_csrf"]
        yield client
