"""Holds: granted atomically, admitted, released, expired; never erased by a provider."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import orjson
from sqlalchemy import select
from websockets.asyncio.client import connect

from inventory.records import AuditEntry, Hold
from tests.conftest import Server


async def setup(server: Server, capacity: int = 5, available: int = 2
                ) -> tuple[str, str, str, str]:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=capacity, available=available)
    return org, unit, await server.token("navigator"), await server.token("provider", org)


async def test_hold_takes_a_free_bed_and_admit_keeps_it_taken(server: Server) -> None:
    _, unit, navigator, _ = await setup(server)
    async with server.client(navigator) as client:
        placed = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "c-77"})
        assert placed.status_code == 201, placed.text
        hold = placed.json()
        assert hold["status"] == "active" and hold["expires_at"] > hold["created_at"]
        state = (await client.get(f"/api/v1/units/{unit}")).json()
        assert (state["available"], state["held"]) == (1, 1)
        admitted = await client.post(f"/api/v1/holds/{hold['id']}/admit")
        assert admitted.status_code == 200 and admitted.json()["status"] == "admitted"
        state = (await client.get(f"/api/v1/units/{unit}")).json()
        assert (state["available"], state["held"]) == (1, 0)
        again = await client.post(f"/api/v1/holds/{hold['id']}/release")
        assert again.status_code == 409 and "admitted" in again.text


async def test_release_gives_the_bed_back(server: Server) -> None:
    _, unit, navigator, _ = await setup(server, available=1)
    async with server.client(navigator) as client:
        hold = (await client.post("/api/v1/holds", json={"unit_id": unit,
                                                         "client_ref": "r1"})).json()
        released = await client.post(f"/api/v1/holds/{hold['id']}/release")
        assert released.json()["status"] == "released"
        state = (await client.get(f"/api/v1/units/{unit}")).json()
    assert (state["available"], state["held"]) == (1, 0)


async def test_hold_on_a_full_unit_is_refused_with_409_and_changes_nothing(server: Server
                                                                           ) -> None:
    _, unit, navigator, _ = await setup(server, available=1)
    async with server.client(navigator) as client:
        first = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "a"})
        seq = await server.svc.live.current_seq()
        second = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "b"})
    assert first.status_code == 201
    assert second.status_code == 409 and "no bed is free" in second.json()["detail"]
    assert await server.svc.live.current_seq() == seq


async def test_client_refs_that_look_identifying_are_refused(server: Server) -> None:
    _, unit, navigator, _ = await setup(server)
    async with server.client(navigator) as client:
        for ref in ("Maria Lopez", "1987-04-12", "04/12/1987", "5551234567", ""):
            reply = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": ref})
            assert reply.status_code == 422, (ref, reply.text)
    assert (await server.svc.live.units([unit]))[unit].held == 0


async def test_provider_update_cannot_erase_holds(server: Server) -> None:
    _, unit, navigator, provider = await setup(server, capacity=4, available=2)
    async with server.client(navigator) as nav:
        for ref in ("h1", "h2"):
            assert (await nav.post("/api/v1/holds", json={"unit_id": unit,
                                                           "client_ref": ref})).status_code == 201
    async with server.client(provider) as prov:
        too_many = await prov.put(f"/api/v1/units/{unit}/availability", json={"available": 3})
        assert too_many.status_code == 409
        assert "at most 2 can be available" in too_many.json()["detail"]
        ok = await prov.put(f"/api/v1/units/{unit}/availability", json={"available": 2})
        assert ok.status_code == 200
        assert (ok.json()["available"], ok.json()["held"]) == (2, 2)
        shrink = await prov.put(f"/api/v1/units/{unit}/availability",
                                json={"available": 0, "capacity": 1})
        assert shrink.status_code == 409
    assert (await server.svc.live.units([unit]))[unit].held == 2


async def test_expired_hold_returns_the_bed_within_seconds(server: Server) -> None:
    _, unit, navigator, _ = await setup(server, available=1)
    async with server.client(navigator) as client:
        hold = (await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "x",
                                                         "minutes": 1})).json()
    # Move the hold's expiry into the past in both stores, as if a minute had gone by.
    past = server.svc.clock() - timedelta(seconds=1)
    await server.svc.redis.zadd(server.svc.live.keys.hold_expiry,
                                {hold["id"]: int(past.timestamp() * 1000)})
    for _ in range(50):
        state = (await server.svc.live.units([unit]))[unit]
        if state.held == 0:
            break
        await asyncio.sleep(0.1)
    assert (state.available, state.held) == (1, 0)
    async with server.svc.sessions() as session:
        row = await session.get(Hold, hold["id"])
        ops = (await session.execute(select(AuditEntry.op).where(
            AuditEntry.hold_id == hold["id"]).order_by(AuditEntry.seq))).scalars().all()
    assert row is not None and row.status == "expired"
    assert ops == ["hold", "expire"]


async def test_holds_appear_on_every_websocket_at_once(server: Server) -> None:
    _, unit, navigator, _ = await setup(server)
    other = await server.token("navigator")
    url = f"{server.ws_url}/ws/inventory?token={other}"
    async with connect(url) as ws:
        snapshot = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert snapshot["type"] == "snapshot"
        async with server.client(navigator) as client:
            hold = (await client.post("/api/v1/holds", json={"unit_id": unit,
                                                             "client_ref": "ws1"})).json()
        while True:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            if message["type"] == "unit":
                break
    assert message["op"] == "hold" and message["hold_id"] == hold["id"]
    assert (message["unit"]["available"], message["unit"]["held"]) == (1, 1)
    assert "client_ref" not in orjson.dumps(message).decode()


async def test_another_navigator_cannot_end_my_hold_nor_learn_it_exists(server: Server) -> None:
    _, unit, navigator, provider = await setup(server)
    stranger = await server.token("navigator")
    async with server.client(navigator) as client:
        hold = (await client.post("/api/v1/holds", json={"unit_id": unit,
                                                         "client_ref": "m1"})).json()
    async with server.client(stranger) as client:
        assert (await client.post(f"/api/v1/holds/{hold['id']}/release")).status_code == 404
    async with server.client(provider) as client:
        reply = await client.post(f"/api/v1/holds/{hold['id']}/admit")
    assert reply.status_code == 200 and reply.json()["status"] == "admitted"
