"""`bedfinder simulate` against a real Bedfinder in simulation mode: the quick run drives the
API (transitions placed, referrals answered, holds admitted), the same seed gives the same
table, and occupancy obeys Little's law."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

from inventory.config import Settings
from simulation.experiment import run_experiment
from simulation.policies import chosen
from simulation.results import littles_law, summarize, table
from simulation.scenario import load
from tests.conftest import Server, serve


@pytest.fixture
async def sim_server(settings: Settings) -> AsyncIterator[Server]:
    # As the simulation's own server (simulation/server.py): no wall-clock expiry job racing
    # the simulated clock.
    async for running in serve(settings.model_copy(update={
            "simulation_mode": True, "hold_minutes": 240, "hold_expiry_check_seconds": 3600})):
        yield running


async def test_quick_run_drives_the_api_and_the_same_seed_gives_the_same_table(
        sim_server: Server) -> None:
    admin = await sim_server.token("admin")
    scenario = load().quick()
    policies = chosen(["daily", "live"])

    def experiment() -> str:
        ran = run_experiment(scenario, policies, 11, sim_server.base_url, admin)
        assert ran.calls.total > 300
        assert all(r.transitions > 5 for r in ran.runs)
        return table(summarize(ran.runs))

    first = await asyncio.to_thread(experiment)
    second = await asyncio.to_thread(experiment)   # later epochs on the same server
    async with sim_server.client(admin) as client:
        placed = (await client.get("/api/v1/transitions", params={"status": "placed"})).json()
        admitted = (await client.get("/api/v1/holds", params={"status": "admitted"})).json()
        referrals = (await client.get("/api/v1/referrals")).json()
    assert first == second
    assert "`daily` | `live`" in first and "n/a" not in first.split("\n")[2]
    assert placed and admitted
    assert {r["status"] for r in referrals} >= {"accepted"}


async def test_occupancy_obeys_littles_law(sim_server: Server) -> None:
    admin = await sim_server.token("admin")
    scenario = load().model_copy(update={"warmup_days": 7.0, "horizon_days": 30.0,
                                         "replications": 1})
    ran = await asyncio.to_thread(run_experiment, scenario, chosen(["daily"]), 3,
                                  sim_server.base_url, admin, True)
    run = ran.raw[0]
    for level in ("withdrawal_management", "psychiatric_inpatient"):
        occupancy, rate_times_stay = littles_law(run, level)
        assert not math.isnan(occupancy)
        assert occupancy == pytest.approx(rate_times_stay, rel=0.08), level
