"""The running app writes only keys named in `inventory/keys.py`, all in one cluster slot."""

from __future__ import annotations

import asyncio

from redis.crc import key_slot

from inventory.keys import Keys
from tests.conftest import Server


async def test_every_key_the_app_writes_is_named_by_keys_and_shares_one_slot(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=4, available=2)
    provider, navigator = await server.token("provider", org), await server.token("navigator")
    async with server.client(provider) as client:
        put = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 3})
        assert put.status_code == 200, put.text
    async with server.client(navigator) as client:
        assert (await client.get("/api/v1/programs")).status_code == 200
        hold = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "k1"})
        assert hold.status_code == 201, hold.text
    keys = Keys(server.settings.redis_prefix)
    redis = server.svc.redis
    for _ in range(100):  # the search is recorded for analytics by a background flush
        if await redis.exists(keys.demand):
            break
        await asyncio.sleep(0.05)

    found = {key async for key in redis.scan_iter(match=keys.every_key, count=1000)}
    hold_id = hold.json()["id"]
    assert {keys.seq, keys.stream, keys.epoch, keys.rebuild_floor, keys.units,
            keys.hold_expiry, keys.demand, keys.directory_version, keys.unit(unit),
            keys.unit_holds(unit), keys.hold(hold_id)} <= found
    fixed = {keys.seq, keys.stream, keys.epoch, keys.rebuild_floor, keys.units,
             keys.hold_expiry, keys.demand, keys.directory_version, keys.feed_stale,
             keys.feed_webhook}
    families = tuple(name("") for name in (keys.unit, keys.unit_holds, keys.hold, keys.lock,
                                           keys.watch, keys.feed_status, keys.feed_due))
    unnamed = {k for k in found if k not in fixed and not k.startswith(families)
               and not k.startswith(keys.rate_limits)}
    assert not unnamed, f"keys written outside inventory/keys.py: {sorted(unnamed)}"
    assert {key_slot(k.encode()) for k in found} == {key_slot(keys.tag.encode())}
