"""A subscriber that reconnects with the last seq it saw gets exactly what it missed, in
order, then live changes; when that is no longer kept, a fresh snapshot instead."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server, serve
from tests.integration.live_helpers import (
    inventory_url,
    provider_units,
    recv_changes,
    recv_json,
)

MISSED = 50
RETENTION = 10


async def put(server: Server, token: str, unit: str, available: int) -> int:
    async with server.client(token) as client:
        reply = await client.put(f"/api/v1/units/{unit}/availability",
                                 json={"available": available})
    assert reply.status_code == 200, reply.text
    return reply.json()["seq"]


async def test_reconnect_with_last_seq_gets_exactly_the_missed_changes_then_live_ones(
        server: Server) -> None:
    _, provider, units = await provider_units(server, 3, capacity=100, available=0)
    reader = await server.token("navigator")

    async with connect(inventory_url(server, reader)) as ws:
        snapshot = await recv_json(ws)
    assert snapshot["type"] == "snapshot"
    assert sorted(u["id"] for u in snapshot["units"]) == sorted(units)
    last = snapshot["seq"]
    assert last == await server.svc.live.current_seq()

    expected = []
    async with server.client(provider) as client:
        for i in range(MISSED):
            unit = units[i % 3]
            reply = await client.put(f"/api/v1/units/{unit}/availability",
                                     json={"available": i, "note": f"missed-{i}"})
            assert reply.status_code == 200, reply.text
            expected.append((reply.json()["seq"], unit, i))
    assert [seq for seq, _, _ in expected] == list(range(last + 1, last + MISSED + 1))

    async with connect(inventory_url(server, reader, after=last)) as ws:
        missed = [await recv_json(ws) for _ in range(MISSED)]
        assert [m["type"] for m in missed] == ["unit"] * MISSED
        assert [(m["seq"], m["unit"]["id"], m["unit"]["available"]) for m in missed] == expected
        assert [m["unit"]["note"] for m in missed] == [f"missed-{i}" for i in range(MISSED)]
        assert all(m["op"] == "set" for m in missed)

        live_seq = await put(server, provider, units[0], 77)
        (live,) = await recv_changes(ws, 1)
    assert live_seq == last + MISSED + 1
    assert (live["type"], live["seq"], live["unit"]["id"], live["unit"]["available"]) == (
        "unit", live_seq, units[0], 77)


async def test_an_up_to_date_client_gets_no_snapshot_only_heartbeats_and_new_changes(
        server: Server) -> None:
    _, provider, units = await provider_units(server, 1, capacity=10, available=1)
    reader = await server.token("display")
    current = await server.svc.live.current_seq()
    async with connect(inventory_url(server, reader, after=current)) as ws:
        first = await recv_json(ws, 3)  # heartbeats come every second in tests
        assert first == {"type": "heartbeat", "seq": current, "latest": current}
        seq = await put(server, provider, units[0], 4)
        (change,) = await recv_changes(ws, 1)
    assert (change["seq"], change["unit"]["available"]) == (seq, 4) and seq == current + 1


async def test_reconnect_with_a_seq_from_the_future_gets_a_snapshot(server: Server) -> None:
    _, _, units = await provider_units(server, 1, capacity=10, available=3)
    reader = await server.token("display")
    current = await server.svc.live.current_seq()
    async with connect(inventory_url(server, reader, after=current + 1000)) as ws:
        message = await recv_json(ws)
    assert message["type"] == "snapshot" and message["seq"] == current
    assert [(u["id"], u["available"]) for u in message["units"]] == [(units[0], 3)]


@pytest.fixture
async def short_memory(settings: Settings) -> AsyncIterator[Server]:
    """A server whose event stream keeps only about RETENTION events."""
    async for running in serve(settings.model_copy(update={"stream_max_events": RETENTION})):
        yield running


async def test_reconnect_after_the_stream_was_trimmed_gets_a_current_snapshot(
        short_memory: Server) -> None:
    server = short_memory
    _, provider, units = await provider_units(server, 3, capacity=1000, available=0)
    reader = await server.token("navigator")
    async with connect(inventory_url(server, reader)) as ws:
        old = (await recv_json(ws))["seq"]

    last_seq, latest = 0, {}
    async with server.client(provider) as client:
        # Redis trims `MAXLEN ~` streams a whole node (100 entries) at a time: go well past.
        for i in range(400):
            unit = units[i % 3]
            reply = await client.put(f"/api/v1/units/{unit}/availability",
                                     json={"available": i})
            assert reply.status_code == 200, reply.text
            last_seq, latest[unit] = reply.json()["seq"], i
    assert await server.svc.live.events_after(old) is None, "stream was not trimmed"
    assert await server.svc.redis.xlen(server.svc.live.keys.stream) < 400

    async with connect(inventory_url(server, reader, after=old)) as ws:
        snapshot = await recv_json(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["seq"] >= last_seq
        assert {u["id"]: u["available"] for u in snapshot["units"]} == latest
        seq = await put(server, provider, units[1], 999)
        (change,) = await recv_changes(ws, 1)
    assert (change["type"], change["seq"], change["unit"]["available"]) == ("unit", seq, 999)
    assert seq == snapshot["seq"] + 1
