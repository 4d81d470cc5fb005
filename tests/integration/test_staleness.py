"""Never silently stale: when this process's stream reader stops keeping up, its heartbeats
show subscribers the seq Redis has (so they can tell they are behind), `/readyz` fails and
`/metrics` shows the lag; when the reader recovers, all three say so."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from inventory.config import Settings
from inventory.live import Event
from tests.conftest import Server, serve
from tests.integration.live_helpers import inventory_url, provider_units, recv_json

STALL_SECONDS = 2.0


@pytest.fixture
async def quick_stall(settings: Settings) -> AsyncIterator[Server]:
    """The app with /readyz failing after two seconds behind (the least allowed; the
    default is five)."""
    async for running in serve(settings.model_copy(
            update={"stream_stall_seconds": STALL_SECONDS})):
        yield running


def gauge(exposition: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+-]+)$", exposition, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def next_heartbeat(ws: object) -> dict:
    while True:
        message = await recv_json(ws, timeout=5)
        if message["type"] == "heartbeat":
            return message


async def test_heartbeats_readyz_and_metrics_show_a_stuck_stream_reader(
        quick_stall: Server) -> None:
    server = quick_stall
    _, provider, (unit,) = await provider_units(server, 1, capacity=50)
    reader = await server.token("display")
    release = asyncio.Event()

    async def stuck(events: list[Event]) -> None:
        await release.wait()  # a listener that never returns holds up the whole reader

    async with connect(inventory_url(server, reader)) as ws, \
            server.client(provider) as client:
        snapshot = await recv_json(ws)
        assert snapshot["type"] == "snapshot"
        current = await next_heartbeat(ws)
        assert current["latest"] == current["seq"] == snapshot["seq"]
        assert (await client.get("/readyz")).status_code == 200

        server.svc.reader.listen("stuck", stuck)
        acked = []
        for available in (1, 2, 3):
            reply = await client.put(f"/api/v1/units/{unit}/availability",
                                     json={"available": available})
            assert reply.status_code == 200
            acked.append(reply.json()["seq"])
            if available == 1:
                # The first change reaches the subscriber (the stuck listener runs after the
                # fan-out); the reader then waits on it, so the later two never do.
                message = await recv_json(ws)
                while message["type"] != "unit":
                    message = await recv_json(ws)
                assert message["seq"] == acked[0]
        beat = await next_heartbeat(ws)
        beat = await next_heartbeat(ws)
        assert beat["latest"] == acked[-1], beat
        assert beat["seq"] < beat["latest"], "a stuck reader's heartbeat must show the gap"

        await asyncio.sleep(STALL_SECONDS + 0.5)
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["stream_reader"] is False
        assert body["stream"]["lag"] >= 2
        assert body["stream"]["behind_seconds"] > STALL_SECONDS
        exposition = (await client.get("/metrics")).text
        assert gauge(exposition, "bedfinder_stream_lag") >= 2
        assert gauge(exposition, "bedfinder_stream_behind_seconds") > STALL_SECONDS

        release.set()
        seen: list[int] = []
        async with asyncio.timeout(5):
            while not seen or seen[-1] < acked[-1]:
                message = await recv_json(ws)
                if message["type"] == "unit":
                    seen.append(message["seq"])
        assert acked[-1] in seen
        beat = await next_heartbeat(ws)
        assert beat["seq"] == beat["latest"] == acked[-1]
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.json()
        assert ready.json()["stream"]["lag"] == 0
        exposition = (await client.get("/metrics")).text
        assert gauge(exposition, "bedfinder_stream_lag") == 0


async def test_heartbeat_says_latest_is_unknown_when_redis_cannot_be_asked(
        server: Server) -> None:
    async def down() -> int:
        raise ConnectionError("redis is down")

    server.svc.fanout.latest = down
    beat = await server.svc.fanout.heartbeat()
    assert beat["type"] == "heartbeat"
    assert beat["latest"] is None
    assert beat["seq"] == server.svc.mirror.last_seq
