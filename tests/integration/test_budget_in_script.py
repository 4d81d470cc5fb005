"""A count update's write budget is charged by the change script itself (one Redis round
trip per update), on the key the `limits` library keeps the same budget under: updates
counted there and requests counted at the edge spend one budget, whichever comes first, and
a request refused before the script still spends it."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server
from tests.integration.live_helpers import provider_url, recv_json


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_writes": "4/minute"})


async def test_updates_counted_by_the_script_and_by_the_edge_share_one_budget(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=20, available=0)
    token = await server.token("provider", org)
    single = f"/api/v1/units/{unit}/availability"
    batch = {"updates": [{"unit_id": unit, "available": 3}]}
    async with server.client(token) as client:
        first = await client.put(single, json={"available": 1})  # the script counts it
        census = await client.put("/api/v1/availability", json=batch)  # the edge does
        attest = await client.post(f"/api/v1/units/{unit}/attest")  # the script
    async with connect(provider_url(server, token)) as ws:  # the script, over a websocket
        await ws.send(orjson.dumps({"op": "set", "unit_id": unit, "available": 4,
                                    "ref": 1}).decode())
        ack = await recv_json(ws)
        await ws.send(orjson.dumps({"op": "set", "unit_id": unit, "available": 5,
                                    "ref": 2}).decode())
        over_ws = await recv_json(ws)
    async with server.client(token) as client:
        over_single = await client.put(single, json={"available": 6})
        over_batch = await client.put("/api/v1/availability", json=batch)
    assert [first.status_code, census.status_code, attest.status_code] == [200, 200, 200]
    assert ack["type"] == "ack"
    assert over_ws["type"] == "error" and "too many updates" in over_ws["error"]
    assert over_ws["ref"] == 2
    assert (over_single.status_code, over_batch.status_code) == (429, 429)
    assert 1 <= int(over_single.headers["retry-after"]) <= 60
    assert "too many requests" in over_single.json()["detail"]
    assert (await server.svc.live.units([unit]))[unit].available == 4


async def test_a_request_refused_before_the_script_still_spends_budget(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=20, available=0)
    token = await server.token("provider", org)
    async with server.client(token) as client:
        invalid = [await client.put(f"/api/v1/units/{unit}/availability",
                                    json={"available": -1}) for _ in range(4)]
        valid = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 2})
    assert [r.status_code for r in invalid] == [422] * 4
    assert valid.status_code == 429
    assert (await server.svc.live.units([unit]))[unit].available == 0
