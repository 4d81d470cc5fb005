"""The fan-out's fast path is in use under uvicorn: once its backlog is sent, a subscriber's
frames are written by the hub directly, and still arrive complete and in order. (If a
uvicorn upgrade hides the protocol, this fails rather than the app quietly slowing down.)"""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect

from tests.conftest import Server
from tests.integration.live_helpers import inventory_url, provider_units, recv_changes, recv_json


async def test_subscriber_goes_direct_and_gets_every_change_in_order(server: Server) -> None:
    _, provider, units = await provider_units(server, 2, capacity=50)
    reader = await server.token("display")
    async with connect(inventory_url(server, reader), compression=None) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        for _ in range(100):
            subscribers = list(server.svc.fanout.subscribers)
            if subscribers and subscribers[0].writer is not None:
                break
            await asyncio.sleep(0.01)
        assert [s.writer is not None for s in server.svc.fanout.subscribers] == [True]
        async with server.client(provider) as client:
            seqs = []
            for i in range(30):
                reply = await client.put(f"/api/v1/units/{units[i % 2]}/availability",
                                         json={"available": i})
                seqs.append(reply.json()["seq"])
        got = await recv_changes(ws, 30)
        assert [m["seq"] for m in got] == seqs
        assert [m["unit"]["available"] for m in got] == list(range(30))


async def test_a_compressing_client_is_written_to_directly_too(server: Server) -> None:
    _, provider, units = await provider_units(server, 1, capacity=50)
    reader = await server.token("navigator")  # staff: its messages carry the note
    async with connect(inventory_url(server, reader)) as ws:  # offers permessage-deflate
        assert (await recv_json(ws))["type"] == "snapshot"
        async with server.client(provider) as client:
            reply = await client.put(f"/api/v1/units/{units[0]}/availability",
                                     json={"available": 7, "note": "x" * 300})
        (message,) = await recv_changes(ws, 1)
        assert message["seq"] == reply.json()["seq"]
        assert message["unit"]["note"] == "x" * 300
        assert server.svc.fanout.subscribers and all(
            s.writer is not None and s.writer.conn.extensions
            for s in server.svc.fanout.subscribers)
