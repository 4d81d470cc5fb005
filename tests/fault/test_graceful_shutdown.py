"""SIGTERM (a deploy, a scale-in): the process closes every websocket with 1012 (service
restart), which clients treat as "reconnect, elsewhere if need be, with ?after=", and exits."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from inventory.config import Settings
from tests.conftest import free_port
from tests.fault.conftest import admin_token
from tests.processes import app_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


async def test_sigterm_closes_websockets_with_a_reconnect_code_and_exits(
        fault_settings: Settings, tmp_path: Path) -> None:
    token = await admin_token(fault_settings)
    port = free_port()
    with app_process(fault_settings, tmp_path / "app", port) as app:
        clients = [await connect(f"ws://127.0.0.1:{port}/ws/inventory?token={token}")
                   for _ in range(20)]
        for ws in clients:
            assert b"snapshot" in (await ws.recv()).encode()
        app.send_signal(signal.SIGTERM)

        async def close_code(ws) -> int | None:  # type: ignore[no-untyped-def]
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

        codes = await asyncio.gather(*(close_code(ws) for ws in clients))
        exit_code = await asyncio.to_thread(app.wait, 15)
    assert codes == [1012] * 20, codes
    # uvicorn re-raises the signal once its shutdown is complete; a hang would time out.
    assert exit_code in (0, -signal.SIGTERM), exit_code
