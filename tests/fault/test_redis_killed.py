"""Redis killed (SIGKILL) during a stream of provider updates and restarted empty."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from inventory.config import Settings
from inventory.database import create_engine, session_factory
from inventory.records import AuditEntry
from tests.conftest import free_port
from tests.fault.client import Provider, Subscriber, make_units
from tests.fault.conftest import admin_token
from tests.processes import RedisServer, app_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def wait_ready(client: httpx.AsyncClient, want: bool, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                ready = (await client.get("/readyz")).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready == want:
                return
            await asyncio.sleep(0.1)


async def recorded_seqs(settings: Settings) -> set[int]:
    engine = create_engine(settings.sqlalchemy_url())
    try:
        async with session_factory(engine)() as session:
            return set((await session.execute(select(AuditEntry.seq))).scalars())
    finally:
        await engine.dispose()


async def test_no_acknowledged_update_is_lost_when_redis_dies_and_returns_empty(
        fault_settings: Settings, own_redis: RedisServer, tmp_path: Path) -> None:
    token = await admin_token(fault_settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with app_process(fault_settings, tmp_path / "app", port):
        async with httpx.AsyncClient(base_url=base, timeout=5,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            units = await make_units(client, 3)
            provider = Provider([base], token, units)
            subscriber = Subscriber([base], token)
            tasks = [asyncio.create_task(provider.run()), asyncio.create_task(subscriber.run())]
            await provider.until_acked(60)

            own_redis.kill()
            await wait_ready(client, False, timeout=5)
            refused_before = provider.outcomes["refused 503"]
            await asyncio.sleep(1.0)
            assert provider.outcomes["refused 503"] > refused_before, "writes were not refused"
            own_redis.start()  # empty: nothing of the old live state survives
            await wait_ready(client, True)
            await provider.until_acked(60)

            provider.stop.set()
            await asyncio.sleep(1.5)  # let the subscriber catch up
            subscriber.stop.set()
            await asyncio.gather(*tasks)
            live = {u: (await client.get(f"/api/v1/units/{u}")).json() for u in units}

    assert provider.outcomes["acknowledged"] >= 120
    assert set(provider.acked_seqs) <= await recorded_seqs(fault_settings)
    for unit, (value, seq) in provider.acked.items():
        assert live[unit]["available"] == value, (unit, live[unit], value)
        assert live[unit]["seq"] >= seq
        assert subscriber.units[unit]["available"] == value
    assert subscriber.snapshots >= 2, "the subscriber should have resynced after the rebuild"
    print(f"\nredis killed: {dict(provider.outcomes)}; subscriber snapshots "
          f"{subscriber.snapshots}, reconnects {subscriber.reconnects}")


async def test_a_websocket_opened_while_redis_is_down_is_refused_cleanly(
        fault_settings: Settings, own_redis: RedisServer, tmp_path: Path) -> None:
    """The HTTP 503 answer cannot travel on a websocket: the handshake is refused (or the
    socket closed with 1013, try again later) instead of the server failing with a 500."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    token = await admin_token(fault_settings)
    port = free_port()
    with app_process(fault_settings, tmp_path / "app", port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await wait_ready(client, True)
            own_redis.kill()
            await wait_ready(client, False, timeout=5)
            outcomes = []
            for _ in range(3):
                try:
                    async with connect(f"ws://127.0.0.1:{port}/ws/inventory?token={token}",
                                       open_timeout=5) as ws:
                        await asyncio.wait_for(ws.recv(), 5)
                    outcomes.append("open")
                except InvalidStatus as refused:
                    outcomes.append(f"http {refused.response.status_code}")
                except ConnectionClosed as closed:
                    outcomes.append(f"close {closed.rcvd.code if closed.rcvd else None}")
            own_redis.start()
            await wait_ready(client, True)
    assert outcomes and all(o in ("http 403", "close 1013") for o in outcomes), outcomes
