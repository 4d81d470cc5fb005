"""Two app processes on one Redis and one database: a change made through either reaches
subscribers of both, in the same seq order."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import Server, free_port
from tests.integration.live_helpers import inventory_url, provider_units, recv_changes, recv_json

pytestmark = pytest.mark.slow
MAIN = Path(__file__).resolve().parents[2]


@pytest.fixture
async def second(server: Server, tmp_path: Path) -> AsyncIterator[str]:
    """Another app process (uvicorn, as deployed) on the same Redis, prefix and database;
    yields its base URL."""
    settings = server.settings
    port = free_port()
    data_dir = tmp_path / "second"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDFINDER_")}
    env.update({
        "BEDFINDER_REDIS_URL": settings.redis_url or "",
        "BEDFINDER_DATABASE_URL": settings.database_url or "",
        "BEDFINDER_REDIS_PREFIX": settings.redis_prefix,
        "BEDFINDER_DATA_DIR": str(data_dir),
        "BEDFINDER_CONFIG": str(MAIN / "config.yaml"),
        "BEDFINDER_HEARTBEAT_SECONDS": "1",
        "BEDFINDER_TOKEN_CACHE_SECONDS": "0",
    })
    log = (tmp_path / "second.log").open("wb")
    proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; killed by hand below
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=MAIN, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            while True:
                assert proc.poll() is None, (tmp_path / "second.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "second.log").read_text()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


async def test_a_change_through_either_process_reaches_subscribers_of_both(
        server: Server, second: str) -> None:
    _, provider, units = await provider_units(server, 2, capacity=20, available=0)
    reader = await server.token("navigator")
    other_ws = "ws" + second[len("http"):]
    async with connect(inventory_url(server, reader)) as here, \
            connect(inventory_url(other_ws, reader)) as there:
        snap_here, snap_there = await recv_json(here), await recv_json(there)
        assert snap_here["type"] == snap_there["type"] == "snapshot"
        assert snap_here["seq"] == snap_there["seq"]
        assert sorted(u["id"] for u in snap_there["units"]) == sorted(units)

        # PUT to the second process, seen by the in-process subscriber (and its own).
        async with httpx.AsyncClient(base_url=second, timeout=10,
                                     headers={"Authorization": f"Bearer {provider}"}) as client:
            reply = await client.put(f"/api/v1/units/{units[0]}/availability",
                                     json={"available": 7})
        assert reply.status_code == 200, reply.text
        seq = reply.json()["seq"]
        for ws in (here, there):
            (change,) = await recv_changes(ws, 1)
            assert (change["seq"], change["unit"]["id"], change["unit"]["available"]) == (
                seq, units[0], 7)

        # And the other way round.
        async with server.client(provider) as client:
            reply = await client.put(f"/api/v1/units/{units[1]}/availability",
                                     json={"available": 3})
        assert reply.status_code == 200, reply.text
        seq2 = reply.json()["seq"]
        assert seq2 == seq + 1
        for ws in (there, here):
            (change,) = await recv_changes(ws, 1)
            assert (change["seq"], change["unit"]["id"], change["unit"]["available"]) == (
                seq2, units[1], 3)


async def test_both_processes_deliver_concurrent_writes_in_the_same_seq_order(
        server: Server, second: str) -> None:
    _, provider, units = await provider_units(server, 3, capacity=50, available=0)
    reader = await server.token("navigator")  # staff: its messages carry the notes
    other_ws = "ws" + second[len("http"):]
    start = await server.svc.live.current_seq()
    headers = {"Authorization": f"Bearer {provider}"}
    async with connect(inventory_url(server, reader, after=start)) as here, \
            connect(inventory_url(other_ws, reader, after=start)) as there, \
            httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30) as a, \
            httpx.AsyncClient(base_url=second, headers=headers, timeout=30) as b:
        async def put(i: int) -> int:
            client = a if i % 2 else b
            reply = await client.put(f"/api/v1/units/{units[i % 3]}/availability",
                                     json={"available": i, "note": f"w{i}"})
            assert reply.status_code == 200, reply.text
            return i

        await asyncio.wait_for(asyncio.gather(*(put(i) for i in range(40))), 60)
        got_here = await recv_changes(here, 40)
        got_there = await recv_changes(there, 40)
    seqs = [m["seq"] for m in got_here]
    assert seqs == list(range(start + 1, start + 41))
    assert [(m["seq"], m["unit"]["note"]) for m in got_there] == [
        (m["seq"], m["unit"]["note"]) for m in got_here]
    assert sorted(m["unit"]["note"] for m in got_here) == sorted(f"w{i}" for i in range(40))


async def test_a_unit_created_after_the_second_process_started_is_writable_there(
        server: Server, second: str) -> None:
    org, provider, _ = await provider_units(server, 1)
    late = await server.unit(await server.program(org), capacity=6, available=1)
    async with httpx.AsyncClient(base_url=second, timeout=10,
                                 headers={"Authorization": f"Bearer {provider}"}) as client:
        reply = await client.put(f"/api/v1/units/{late}/availability", json={"available": 5})
        assert reply.status_code == 200, reply.text
        assert reply.json()["available"] == 5
    assert (await server.svc.live.units([late]))[late].available == 5
