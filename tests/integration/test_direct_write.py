"""The direct-write fast path (web/direct_write.py) depends on private objects of uvicorn,
websockets and Starlette. These tests fail if an upgrade of any of them disables it (the app
would quietly fall back to the slower queue path), and show the fallback itself delivers
every change in order."""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server, serve
from tests.integration.live_helpers import inventory_url, provider_units, recv_changes, recv_json
from web.direct_write import DirectWriter
from web.fanout import Subscriber

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


async def first_subscriber(server: Server) -> Subscriber:
    for _ in range(200):
        if server.svc.fanout.subscribers:
            (subscriber,) = server.svc.fanout.subscribers
            if subscriber.writer is not None or subscriber.queue.empty():
                await asyncio.sleep(0.05)  # the pump goes direct once its backlog is sent
                return subscriber
        await asyncio.sleep(0.01)
    raise AssertionError("no subscriber registered")


async def went_direct(server: Server, count: int) -> bool:
    """Whether a subscriber was written to directly; fails unless it got every change."""
    _, provider, (unit,) = await provider_units(server, 1, capacity=50)
    reader = await server.token("display")
    async with connect(inventory_url(server, reader), compression=None) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        subscriber = await first_subscriber(server)
        seqs = []
        async with server.client(provider) as client:
            for available in range(count):
                reply = await client.put(f"/api/v1/units/{unit}/availability",
                                         json={"available": available})
                seqs.append(reply.json()["seq"])
        got = await recv_changes(ws, count)
        assert [m["seq"] for m in got] == seqs
        return subscriber.writer is not None


async def test_the_server_we_ship_with_allows_direct_writes(server: Server) -> None:
    """If this fails after an upgrade, the fast path is off: fix web/direct_write.py for the
    new version (or accept the slowdown knowingly) and update the pins in pyproject.toml."""
    assert await went_direct(server, 10), (
        f"uvicorn {version('uvicorn')} / websockets {version('websockets')} no longer let "
        "the fan-out write frames directly (see web/direct_write.py)")


# uvicorn's legacy implementation, and websockets' legacy module, say they are deprecated.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The `websockets` implementation is deprecated")
async def test_another_websocket_server_falls_back_to_the_queue(settings: Settings) -> None:
    async for server in serve(settings, ws="websockets"):  # uvicorn's legacy implementation
        assert not await went_direct(server, 10)


async def test_the_adapter_declines_a_send_it_does_not_know() -> None:
    async def send(message: dict) -> None:
        pass

    assert DirectWriter.for_send(send, 1024) is None


def test_the_server_versions_it_depends_on_are_pinned() -> None:
    """The installed uvicorn and websockets satisfy the pins, and the pins allow only one
    minor version each: an upgrade is a deliberate change that runs these tests."""
    text = PYPROJECT.read_text()
    for name in ("uvicorn", "websockets"):
        (pin,) = [Requirement(line.strip().strip('",')) for line in text.splitlines()
                  if line.strip().startswith((f'"{name}>', f'"{name}[', f'"{name}='))]
        assert pin.specifier.contains(version(name)), (
            f"{name} {version(name)} is not within {pin.specifier}")
        assert any(s.operator == "<" for s in pin.specifier), f"{name} has no upper bound"
