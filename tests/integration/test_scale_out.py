"""Several processes on one Redis and one database: `bedfinder serve --workers 2` delivers
every change to every websocket client of every worker in seq order, and scheduled jobs run
once per interval across the cluster, not once per process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server, free_port
from tests.integration.test_operations import sample
from tests.processes import app_env, app_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
CLIENTS, CHANGES = 12, 25


async def wait_up(base: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{base} did not become ready")


async def test_every_client_of_every_worker_gets_every_change_in_order(
        server: Server, settings: Settings, tmp_path: Path) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=100)
    provider, reader = await server.token("provider", org), await server.token("display")
    port = free_port()
    workers = subprocess.Popen(  # noqa: ASYNC220 - returns at once; killed by hand below
        [str(Path(sys.executable).with_name("bedfinder")), "serve", "--workers", "2", "--port",
         str(port)],
        env=app_env(settings, tmp_path / "workers"), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_up(base)
        sockets = [await connect(f"ws://127.0.0.1:{port}/ws/inventory?token={reader}")
                   for _ in range(CLIENTS)]
        starts = [orjson.loads(await ws.recv())["seq"] for ws in sockets]
        async with httpx.AsyncClient(base_url=base, timeout=10,
                                     headers={"Authorization": f"Bearer {provider}"}) as client:
            acked = []
            for n in range(CHANGES):
                reply = await client.put(f"/api/v1/units/{unit}/availability",
                                         json={"available": n})
                assert reply.status_code == 200, reply.text
                acked.append(reply.json()["seq"])

        async def seqs(ws) -> list[int]:  # type: ignore[no-untyped-def]
            got: list[int] = []
            while len(got) < CHANGES:
                message = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "unit":
                    got.append(message["seq"])
            return got

        received = await asyncio.gather(*(seqs(ws) for ws in sockets))
        for ws in sockets:
            await ws.close()
    finally:
        workers.terminate()
        workers.wait(20)
    assert all(start <= acked[0] - 1 for start in starts)
    assert received == [acked] * CLIENTS


async def test_scheduled_jobs_run_once_per_interval_across_processes(
        settings: Settings, redis_url: str, database_url: str, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    with app_process(settings, tmp_path / "a", ports[0]), \
            app_process(settings, tmp_path / "b", ports[1]):
        async with httpx.AsyncClient(timeout=5) as client:
            async def runs() -> list[float]:
                return [sample((await client.get(f"http://127.0.0.1:{p}/metrics")).text,
                               "bedfinder_job_runs_total", job="expire_holds") for p in ports]

            before = await runs()
            await asyncio.sleep(6)
            after = await runs()
    ran = [b - a for a, b in zip(before, after)]
    # hold_expiry_check_seconds is 1: about six runs in six seconds between both processes,
    # where twelve would mean each process ran its own.
    assert 4 <= sum(ran) <= 8, ran
