"""A signed-in person's websocket is keyed by their user id: the sweep that closes revoked
tokens' sockets must keep it open while the person may read, and close it (1008) once they
are disabled here."""

from __future__ import annotations

import asyncio
import json

import pytest_asyncio
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server, serve
from tests.integration.test_revocation_everywhere import POLICY, closed_code
from tests.people.conftest import sign_in
from tests.people.test_signin import NORA


async def next_unit_message(ws: object) -> dict[str, object]:
    """The next `unit` message, past heartbeats (within 5 seconds)."""
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())  # type: ignore[attr-defined]
            if message["type"] == "unit":
                return message


@pytest_asyncio.fixture(loop_scope="session")
async def server(settings: Settings, port: int) -> object:
    async for running in serve(settings.model_copy(update={"token_sweep_seconds": 0.5}), port):
        yield running


async def test_a_signed_in_persons_websocket_outlives_the_sweep_until_they_are_disabled(
        server: Server, idp: object) -> None:
    await idp.user("nora", **NORA)  # type: ignore[attr-defined]
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=1)
    async with sign_in(server, "nora") as nora:
        me = (await nora.get("/api/v1/me")).json()
        cookie = "; ".join(f"{k}={v}" for k, v in nora.cookies.items())
        url = server.base_url.replace("http://", "ws://") + "/ws/inventory"
        async with connect(url, additional_headers={"Cookie": cookie}) as ws:
            await ws.recv()  # the snapshot
            await asyncio.sleep(2.0)  # four sweeps: a person is not a revoked token
            async with server.client(await server.token("admin")) as admin:
                changed = await admin.put(f"/api/v1/units/{unit}/availability",
                                          json={"available": 2})
                assert changed.status_code == 200, changed.text
                assert await next_unit_message(ws), "the change never arrived"
                off = await admin.patch(f"/api/v1/users/{me['token_id']}",
                                        json={"disabled": True})
                assert off.status_code == 200, off.text
            code, took = await closed_code(ws, within=5)
    assert code == POLICY, (code, took)
