"""A revoked token's open websockets are closed (1008) in every process, however the
revocation was made: by `bedfinder token revoke` with the embedded Redis (its message reaches
the running app over the embedded server's socket), or behind the processes' backs (straight
in SQL, or while a message could not be delivered), which each process's sweep catches."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from inventory.clock import utcnow
from inventory.config import Settings
from inventory.tokens import create_token, revoke_token
from tests.conftest import REDIS_URL, Server, serve
from tests.integration.live_helpers import inventory_url, recv_json
from tests.processes import app_env

POLICY = 1008


async def closed_code(ws: object, within: float) -> tuple[int | None, float]:
    """The close code the server sends within `within` seconds, and how long it took."""
    start = time.monotonic()
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()  # type: ignore[attr-defined]
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), time.monotonic() - start
    raise AssertionError("unreachable")


@pytest.fixture
async def no_sweep(settings: Settings) -> AsyncIterator[Server]:
    """The app with the SQL sweep too slow to matter: only the message can close a socket."""
    async for running in serve(settings.model_copy(update={"token_sweep_seconds": 600.0})):
        yield running


@pytest.fixture
async def quick_sweep(settings: Settings) -> AsyncIterator[Server]:
    async for running in serve(settings.model_copy(update={"token_sweep_seconds": 0.5})):
        yield running


async def test_cli_revoke_with_the_embedded_redis_closes_open_websockets(
        no_sweep: Server, tmp_path: Path) -> None:
    server = no_sweep
    token, row = await create_token(server.svc.sessions, "display", utcnow())
    env = app_env(server.settings, tmp_path)
    if not REDIS_URL:  # the embedded Redis: the CLI finds it by the data folder's socket
        socket_path = Path(server.settings.redis_url.removeprefix("unix://"))  # type: ignore[union-attr]
        env.update(BEDFINDER_REDIS_URL="", BEDFINDER_DATA_DIR=str(socket_path.parent))
    async with connect(inventory_url(server, token)) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        done = await asyncio.to_thread(
            subprocess.run, [str(Path(sys.executable).parent / "bedfinder"), "token", "revoke",
                             row.id], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "running processes were told" in done.stdout, done.stdout
        code, _ = await closed_code(ws, within=5)
    assert code == POLICY


async def test_a_revocation_no_process_was_told_of_still_closes_websockets(
        quick_sweep: Server) -> None:
    server = quick_sweep
    token, row = await create_token(server.svc.sessions, "display", utcnow())
    other, _ = await create_token(server.svc.sessions, "display", utcnow())
    async with connect(inventory_url(server, token)) as ws, \
            connect(inventory_url(server, other)) as kept:
        assert (await recv_json(ws))["type"] == "snapshot"
        assert (await recv_json(kept))["type"] == "snapshot"
        await revoke_token(server.svc.sessions, row.id, utcnow())  # SQL only, no message
        code, took = await closed_code(ws, within=5)
        assert code == POLICY
        assert took < 3
        assert (await recv_json(kept, timeout=3))["type"] == "heartbeat"  # still open
