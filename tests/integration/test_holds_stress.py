"""500 concurrent hold requests from two app processes on 7 free beds grant exactly 7."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from inventory.records import Hold
from tests.conftest import Server, free_port
from tests.processes import app_process

REQUESTS, FREE = 500, 7


@pytest.mark.slow
async def test_500_concurrent_holds_on_7_beds_across_two_processes_grant_exactly_7(
        server: Server, tmp_path: Path) -> None:
    org = await server.org()
    program = await server.program(org)
    unit = await server.unit(program, capacity=12, available=FREE)
    token = await server.token("navigator")
    port = free_port()
    with app_process(server.settings, tmp_path / "second", port):
        bases = [server.base_url, f"http://127.0.0.1:{port}"]
        limits = httpx.Limits(max_connections=100)
        clients = [httpx.AsyncClient(base_url=b, timeout=60, limits=limits,
                                     headers={"Authorization": f"Bearer {token}"})
                   for b in bases]
        try:
            replies = await asyncio.gather(*(
                clients[i % 2].post("/api/v1/holds",
                                    json={"unit_id": unit, "client_ref": f"stress-{i}"})
                for i in range(REQUESTS)))
        finally:
            for client in clients:
                await client.aclose()
    statuses = [r.status_code for r in replies]
    assert statuses.count(201) == FREE, sorted(set(statuses))
    assert statuses.count(409) == REQUESTS - FREE
    granted = {r.json()["id"] for r in replies if r.status_code == 201}
    assert len(granted) == FREE
    state = (await server.svc.live.units([unit]))[unit]
    assert (state.available, state.held) == (0, FREE)
    assert await server.svc.live.active_hold_ids(unit) == granted
    async with server.svc.sessions() as session:
        active = (await session.execute(select(func.count(Hold.id)).where(
            Hold.unit_id == unit, Hold.status == "active"))).scalar_one()
    assert active == FREE
