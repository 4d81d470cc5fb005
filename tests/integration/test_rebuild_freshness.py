"""A rebuilt live state keeps each unit's true freshness: holds and stale marks are counts
and flags, not provider updates."""

from __future__ import annotations

from datetime import timedelta

from inventory.actors import SYSTEM
from inventory.live import Change
from tests.conftest import Server


async def test_rebuild_takes_counts_from_the_last_change_and_age_from_the_last_update(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=6, available=3)
    provider = await server.token("provider", org)
    async with server.client(provider) as client:
        updated = (await client.put(f"/api/v1/units/{unit}/availability", json={
            "available": 3, "note": "two discharges today", "expected_discharges": [
                {"at": "2026-11-25T10:00:00Z", "count": 2}]})).json()
    svc = server.svc
    nav = await server.token("navigator")
    async with server.client(nav) as client:
        hold = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "f1"})
        assert hold.status_code == 201
    later = svc.clock() + timedelta(hours=9)
    await svc.availability.apply(Change(op="stale", unit_id=unit, at=later, by=SYSTEM.name,
                                     source="freshness"))
    before = (await svc.live.units([unit]))[unit]
    assert before.updated_at is not None
    assert before.updated_at.isoformat() == updated["updated_at"]
    await svc.redis.delete(svc.live.keys.epoch)
    await svc.availability.rebuild()
    after = (await svc.live.units([unit]))[unit]
    assert (after.available, after.held, after.capacity) == (2, 1, 6)
    assert after.updated_at == before.updated_at
    assert after.note == "two discharges today" and after.source == "api"
    assert after.expected_discharges == [{"at": "2026-11-25T10:00:00+00:00", "count": 2}]
    assert after.seq == before.seq
    assert await svc.live.active_hold_ids(unit) == {hold.json()["id"]}
