"""Rate limits per token across processes' shared Redis: 429 with Retry-After, nothing
changed, other tokens unaffected."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server
from tests.integration.live_helpers import provider_url, recv_json


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limit_writes": "5/minute",
                                       "rate_limit_reads": "8/minute"})


async def test_writes_over_the_limit_get_429_with_retry_after_and_change_nothing(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=20, available=0)
    busy, other = await server.token("provider", org), await server.token("provider", org)
    async with server.client(busy) as client:
        replies = [await client.put(f"/api/v1/units/{unit}/availability",
                                    json={"available": n}) for n in range(1, 8)]
    assert [r.status_code for r in replies] == [200] * 5 + [429] * 2
    assert 1 <= int(replies[-1].headers["retry-after"]) <= 60
    assert "too many requests" in replies[-1].json()["detail"]
    refused = replies[-1].headers  # answered at the edge, still decorated like any answer
    assert refused["x-content-type-options"] == "nosniff"
    assert refused["cache-control"] == "no-store" and len(refused["x-request-id"]) == 32
    assert (await server.svc.live.units([unit]))[unit].available == 5
    async with server.client(other) as client:
        assert (await client.put(f"/api/v1/units/{unit}/availability",
                                 json={"available": 9})).status_code == 200


async def test_reads_have_their_own_budget(server: Server) -> None:
    token = await server.token("navigator")
    async with server.client(token) as client:
        codes = [(await client.get("/api/v1/programs")).status_code for _ in range(10)]
    assert codes == [200] * 8 + [429] * 2


async def test_provider_websocket_messages_count_as_writes(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=20, available=0)
    token = await server.token("provider", org)
    async with connect(provider_url(server, token)) as ws:
        replies = []
        for n in range(1, 8):
            await ws.send(orjson.dumps({"op": "set", "unit_id": unit, "available": n,
                                        "ref": n}).decode())
            replies.append(await recv_json(ws))
    assert [r["type"] for r in replies] == ["ack"] * 5 + ["error"] * 2
    assert "too many updates" in replies[-1]["error"]
    assert (await server.svc.live.units([unit]))[unit].available == 5
