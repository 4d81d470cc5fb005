"""The watch's lines on the timeline: at risk once per transition, a bed match when a bed
opens that fits, a lapse when the ready-by time passed with no landing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory.config import Settings
from tests.conftest import Server
from tests.connector.helpers import NEEDS, build_world
from web.scheduled import watch


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The scheduled watch and lapse jobs stay out of the way: the test runs them."""
    return settings.model_copy(update={"transition_watch_seconds": 3600})


async def test_at_risk_is_recorded_once_and_bed_matches_as_they_come(server: Server) -> None:
    world = await build_world(server)
    t = await world.claimed()  # ready by in 24 hours: at risk (at_risk_hours is 24)
    for _ in range(3):
        await watch(server.svc)
    kinds = [e["kind"] for e in await world.timeline(t["id"])]
    assert kinds.count("at_risk") == 1
    assert kinds.count("bed_match") == 1
    match = next(e for e in await world.timeline(t["id"]) if e["kind"] == "bed_match")
    assert {p["program_id"] for p in match["details"]["programs"]} == set(world.residential)


async def test_a_missed_ready_by_lapses_once(server: Server) -> None:
    world = await build_world(server)
    past = (server.svc.clock() - timedelta(hours=3)).isoformat()
    async with world.client("detox_provider") as detox:
        created = await detox.post("/api/v1/discharges", json={
            "client_ref": "dtx-0077", "from_program_id": world.detox, "ready_by": past,
            "needs": NEEDS})
        assert created.status_code == 201, created.text
    assert await server.svc.transitions.lapse_overdue() == 1
    assert await server.svc.transitions.lapse_overdue() == 0
    events = await world.timeline(created.json()["id"], "detox_provider")
    assert [e["kind"] for e in events if e["kind"] in ("lapsed", "discharge_pending")] == [
        "discharge_pending", "lapsed"]
