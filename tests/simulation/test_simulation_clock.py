"""The simulated clock exists only in simulation mode, only moves forward, only for admins,
and every service reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inventory.config import Settings
from tests.conftest import Server, serve

SIM_TIME = "2026-01-05T09:30:00+00:00"


@pytest.fixture
async def sim_server(settings: Settings) -> AsyncIterator[Server]:
    async for running in serve(settings.model_copy(update={"simulation_mode": True})):
        yield running


async def test_production_has_no_simulation_clock_route(server: Server) -> None:
    admin = await server.token("admin")
    async with server.client(admin) as client:
        put = await client.put("/api/v1/simulation/clock", json={"now": SIM_TIME})
        get = await client.get("/api/v1/simulation/clock")
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert server.settings.simulation_mode is False
    assert (put.status_code, get.status_code) == (404, 404)
    assert not any(path.startswith("/api/v1/simulation") for path in paths)


async def test_services_record_the_simulated_time(sim_server: Server) -> None:
    admin = await sim_server.token("admin")
    org = await sim_server.org()
    unit = await sim_server.unit(await sim_server.program(org), capacity=8)
    async with sim_server.client(admin) as client:
        moved = await client.put("/api/v1/simulation/clock", json={"now": SIM_TIME})
        updated = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 3})
        hold = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "C-1",
                                                         "minutes": 60})
    assert moved.json()["now"].startswith("2026-01-05T09:30:00")
    assert updated.json()["updated_at"].startswith("2026-01-05T09:30:00")
    assert hold.status_code == 201
    assert hold.json()["expires_at"].startswith("2026-01-05T10:30:00")


async def test_simulated_clock_refuses_to_go_back_and_non_admins(sim_server: Server) -> None:
    admin, navigator = await sim_server.token("admin"), await sim_server.token("navigator")
    async with sim_server.client(admin) as client:
        await client.put("/api/v1/simulation/clock", json={"now": SIM_TIME})
        back = await client.put("/api/v1/simulation/clock",
                                json={"now": "2026-01-05T08:00:00+00:00"})
        now = await client.get("/api/v1/simulation/clock")
    async with sim_server.client(navigator) as client:
        refused = await client.put("/api/v1/simulation/clock",
                                   json={"now": "2026-02-01T00:00:00+00:00"})
    assert back.status_code == 409
    assert "only moves forward" in back.json()["detail"]
    assert now.json()["now"].startswith("2026-01-05T09:30:00")
    assert refused.status_code == 403
