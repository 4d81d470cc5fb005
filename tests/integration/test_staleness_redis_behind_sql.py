"""Redis that went back in time (what a Sentinel failover to a replica that missed the last
acknowledged writes looks like: a lower seq counter and older counts) is noticed, because
SQL holds a higher seq than Redis, and the live state is rebuilt from SQL; no acknowledged
change is lost and a write Redis numbers at or below a recorded seq is not acknowledged."""

from __future__ import annotations

import asyncio

from inventory.live_watch import check_once
from tests.conftest import Server
from tests.integration.live_helpers import provider_units

UPDATES = 6
MISSED = 3


async def test_redis_behind_sql_is_detected_and_rebuilt_from_sql(server: Server) -> None:
    _, provider, (unit,) = await provider_units(server, 1, capacity=50)
    live = server.svc.live
    async with server.client(provider) as client:
        acked = []
        for available in range(1, UPDATES + 1):
            reply = await client.put(f"/api/v1/units/{unit}/availability",
                                     json={"available": available})
            assert reply.status_code == 200
            acked.append(reply.json()["seq"])
        epoch = await live.epoch()
        # The replica missed the last MISSED writes: its counter and the unit are older.
        await live.redis.set(live.keys.seq, acked[-MISSED - 1])
        await live.redis.hset(live.keys.unit(unit), mapping={
            "available": UPDATES - MISSED, "seq": acked[-MISSED - 1]})
        server.svc.availability.seq_floor = acked[-1]  # what the watch has seen in SQL

        # A write Redis numbers at or below a recorded seq is refused, not acknowledged
        # (unless the watch, every 0.5 s, rebuilt in between: then it lands above them all).
        racing = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 40})
        if racing.status_code == 200:
            assert racing.json()["seq"] > acked[-1] and await live.epoch() != epoch
        else:
            assert racing.status_code == 503, racing.text

        async with asyncio.timeout(5):
            while await live.epoch() in (epoch, None):
                await asyncio.sleep(0.05)
        assert await live.current_seq() > acked[-1]
        state = (await client.get(f"/api/v1/units/{unit}")).json()
        expected = 40 if racing.status_code == 200 else UPDATES
        assert state["available"] == expected, "the last acknowledged count is back"
        after = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 41})
        assert after.status_code == 200
        assert after.json()["seq"] > acked[-1]
    ready = await server.client().get("/readyz")
    assert ready.status_code == 200


async def test_a_redis_that_lost_nothing_is_left_alone(server: Server) -> None:
    _, provider, (unit,) = await provider_units(server, 1, capacity=50)
    async with server.client(provider) as client:
        assert (await client.put(f"/api/v1/units/{unit}/availability",
                                 json={"available": 3})).status_code == 200
    epoch = await server.svc.live.epoch()
    assert await check_once(server.svc.live, server.svc.availability) == epoch
    assert await server.svc.live.epoch() == epoch
