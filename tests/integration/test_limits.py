"""Limits that cannot be sidestepped (issue 15, item 4): random tokens are limited per client
address before any SQL lookup, behind trusted proxies only; anonymous readers per address;
one write budget per token across HTTP and `/ws/provider`; open websockets capped per token
and per address."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from inventory.actors import Actor
from inventory.config import Settings
from tests.conftest import Server, serve
from tests.integration.live_helpers import inventory_url, provider_url, recv_json


def random_token() -> str:
    return "bf_" + secrets.token_urlsafe(32)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_invalid_tokens": "5/minute",
                                       "public_read": True})


def count_lookups(server: Server) -> list[str]:
    """Record each token the app looks up in SQL (the real lookup still runs)."""
    seen: list[str] = []
    real: Callable[[str], Awaitable[Actor | None]] = server.svc.tokens.actor

    async def actor(token: str) -> Actor | None:
        seen.append(token)
        return await real(token)

    server.svc.tokens.actor = actor  # type: ignore[method-assign]
    return seen


async def test_random_tokens_are_limited_per_address_before_any_lookup(
        server: Server) -> None:
    """The finding: a new random `Bearer bf_...` on each request cost an SQL lookup each
    and none was limited."""
    lookups = count_lookups(server)
    codes = []
    for _ in range(9):
        async with server.client(random_token()) as client:
            codes.append((await client.get("/api/v1/programs")).status_code)
    assert codes == [401] * 5 + [429] * 4
    assert len(lookups) == 5
    async with server.client(random_token()) as client:
        reply = await client.get("/api/v1/me")
    assert reply.status_code == 429 and 1 <= int(reply.headers["retry-after"]) <= 60
    assert "too many invalid tokens" in reply.json()["detail"]
    with pytest.raises(InvalidStatus):  # websockets too, before the handshake completes
        async with connect(inventory_url(server, random_token())):
            pass
    assert len(lookups) == 5


async def test_a_forwarded_for_header_is_ignored_unless_its_sender_is_a_trusted_proxy(
        server: Server) -> None:
    codes = []
    for n in range(7):  # a different claimed address each time: still one peer
        async with server.client(random_token()) as client:
            reply = await client.get("/api/v1/programs",
                                     headers={"X-Forwarded-For": f"203.0.113.{n}"})
            codes.append(reply.status_code)
    assert codes == [401] * 5 + [429] * 2


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[Server]:
    """The app behind a trusted proxy on 127.0.0.1 (the tests' own address)."""
    update = {"trusted_proxies": ["127.0.0.0/8"], "rate_limit_reads": "4/minute"}
    async for running in serve(settings.model_copy(update=update)):
        yield running


async def test_behind_a_trusted_proxy_the_forwarded_client_is_limited_not_the_proxy(
        proxied: Server) -> None:
    valid = await proxied.token("navigator")

    async def get(token: str | None, forwarded: str) -> int:
        async with proxied.client(token) as client:
            return (await client.get("/api/v1/programs",
                                     headers={"X-Forwarded-For": forwarded})).status_code

    # The client may prepend anything; the proxy appends the address it saw.
    guesser = [await get(random_token(), f"10.9.9.{n}, 198.51.100.7") for n in range(6)]
    assert guesser == [401] * 5 + [429]
    assert await get(valid, "198.51.100.8") == 200  # another client behind the same proxy
    anonymous = [await get(None, "198.51.100.9") for _ in range(5)]
    assert anonymous == [200] * 4 + [429]
    assert await get(None, "198.51.100.10") == 200


@pytest.fixture
async def budgets(settings: Settings) -> AsyncIterator[Server]:
    update = {"rate_limit_writes": "5/minute", "rate_limit_reads": "3/minute"}
    async for running in serve(settings.model_copy(update=update)):
        yield running


async def test_anonymous_readers_are_limited_per_address(budgets: Server) -> None:
    async with budgets.client() as client:
        codes = [(await client.get("/api/v1/programs")).status_code for _ in range(5)]
    assert codes == [200] * 3 + [429] * 2


async def test_one_write_budget_per_token_across_http_and_the_provider_websocket(
        budgets: Server) -> None:
    """The finding: HTTP and `/ws/provider` writes of one token had separate budgets."""
    org = await budgets.org()
    unit = await budgets.unit(await budgets.program(org), capacity=20, available=0)
    token = await budgets.token("provider", org)
    async with budgets.client(token) as client:
        http = [(await client.put(f"/api/v1/units/{unit}/availability",
                                  json={"available": n})).status_code for n in (1, 2, 3)]
    async with connect(provider_url(budgets, token)) as ws:
        replies: list[dict[str, Any]] = []
        for n in (4, 5, 6):
            await ws.send(orjson.dumps({"op": "set", "unit_id": unit, "available": n,
                                        "ref": n}).decode())
            replies.append(await recv_json(ws))
    async with budgets.client(token) as client:
        after = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 9})
    assert http == [200] * 3
    assert [r["type"] for r in replies] == ["ack", "ack", "error"]
    assert "too many updates" in replies[-1]["error"]
    assert after.status_code == 429
    assert (await budgets.svc.live.units([unit]))[unit].available == 5


@pytest.fixture
async def capped(settings: Settings) -> AsyncIterator[Server]:
    update = {"max_websockets_per_token": 2, "max_websockets_per_address": 4}
    async for running in serve(settings.model_copy(update=update)):
        yield running


async def test_open_websockets_are_capped_per_token_and_per_address(capped: Server) -> None:
    """The finding: `/ws/inventory` connections per token were unlimited."""
    org = await capped.org()
    await capped.unit(await capped.program(org))
    token, provider = await capped.token("navigator"), await capped.token("provider", org)
    async with AsyncExitStack() as stack:
        for _ in range(2):
            ws = await stack.enter_async_context(connect(inventory_url(capped, token)))
            assert (await recv_json(ws))["type"] == "snapshot"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(inventory_url(capped, token)):
                pass
        assert refused.value.response.status_code == 403
        await stack.enter_async_context(connect(provider_url(capped, provider)))
        anonymous = await stack.enter_async_context(connect(f"{capped.ws_url}/ws/inventory"))
        assert (await recv_json(anonymous))["type"] == "snapshot"
        with pytest.raises(InvalidStatus):  # a fifth from this address, whatever the token
            async with connect(inventory_url(capped, await capped.token("display"))):
                pass
    await all_closed(capped)  # the counts went back down: the token may open two again
    async with connect(inventory_url(capped, token)) as one, \
            connect(inventory_url(capped, token)) as two:
        for ws in (one, two):
            assert (await recv_json(ws))["type"] == "snapshot"
    await all_closed(capped)


async def all_closed(server: Server, seconds: float = 5.0) -> None:
    """Wait until the server has counted every websocket closed (it notices a close a
    moment after the client sent it)."""
    sockets = server.svc.sockets
    for _ in range(int(seconds / 0.05)):
        if not sockets.by_token and not sockets.by_address:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still counted open: {sockets.by_token} {sockets.by_address}")
