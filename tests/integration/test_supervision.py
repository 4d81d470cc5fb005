"""Background work survives its own failures: a stream listener that raises on every batch
does not stop the fan-out or the search mirror, a supervised task that crashes is restarted,
and both are reported by `/readyz` and `/metrics`."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from inventory.clock import utcnow
from inventory.errors import RecordsUnavailable
from inventory.live import Event
from inventory.records import AuditEntry
from tests.conftest import Server
from tests.integration.live_helpers import inventory_url, provider_units, recv_changes, recv_json

UPDATES = 5


def metric(text: str, name: str, label: str, value: str) -> float | None:
    """One sample of a Prometheus text exposition, or None if it is not there."""
    match = re.search(rf'^{name}{{{label}="{re.escape(value)}"}} ([0-9.e+-]+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def until(check: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_listener_that_raises_stops_neither_the_fanout_nor_the_mirror(
        server: Server) -> None:
    calls: list[int] = []

    async def boom(events: list[Event]) -> None:
        calls.append(events[-1].seq)
        raise RuntimeError("listener bug")

    server.svc.reader.listen("boom", boom)
    _, provider, (unit,) = await provider_units(server, 1, capacity=20)
    reader = await server.token("display")
    async with connect(inventory_url(server, reader)) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        acked = []
        async with server.client(provider) as client:
            for available in range(1, UPDATES + 1):
                reply = await client.put(f"/api/v1/units/{unit}/availability",
                                         json={"available": available})
                assert reply.status_code == 200
                acked.append(reply.json()["seq"])
                await asyncio.sleep(0.05)  # separate batches: the listener fails on each
        got = await recv_changes(ws, UPDATES)
    assert [m["seq"] for m in got] == acked
    assert [m["unit"]["available"] for m in got] == list(range(1, UPDATES + 1))
    assert len(calls) >= 2, "the failing listener was called for later batches too"

    # The search mirror kept up: a search answers from it with the last change.
    assert await server.svc.mirror.caught_up(acked[-1], timeout=2.0)
    assert server.svc.mirror.states[unit].available == UPDATES
    async with server.client(reader) as client:
        found = (await client.get("/api/v1/programs")).json()
        ready = await client.get("/readyz")
        exposition = (await client.get("/metrics")).text
    assert found["seq"] >= acked[-1]
    (program,) = found["programs"]
    assert [u["available"] for u in program["units"]] == [UPDATES]

    # ... and the failures are reported, without making the process unready.
    assert ready.status_code == 200
    body = ready.json()
    assert body["listeners"]["boom"] == {"errors": len(calls), "last_error": "RuntimeError"}
    assert body["listeners"]["fanout"]["errors"] == 0
    assert body["supervised"]["stream_reader"] == {"running": True, "restarts": 0,
                                                   "last_error": None}
    assert metric(exposition, "bedfinder_stream_listener_errors_total", "listener",
                  "boom") == len(calls)


async def test_a_crashed_task_is_restarted_and_reported(server: Server) -> None:
    runs: list[float] = []

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise ConnectionError("lost the connection")
        await asyncio.Event().wait()  # the third run stays up

    server.svc.supervisor.start("flaky", flaky)
    await until(lambda: len(runs) == 3)
    async with server.client() as client:
        ready = await client.get("/readyz")
        exposition = (await client.get("/metrics")).text
    assert ready.status_code == 200
    assert ready.json()["tasks"] is True
    assert ready.json()["supervised"]["flaky"] == {"running": True, "restarts": 2,
                                                   "last_error": "ConnectionError"}
    assert metric(exposition, "bedfinder_task_restarts_total", "task", "flaky") == 2
    assert metric(exposition, "bedfinder_task_running", "task", "flaky") == 1
    assert runs[2] - runs[1] >= runs[1] - runs[0], "the backoff does not shrink"


async def test_a_task_waiting_to_restart_makes_the_process_unready(server: Server) -> None:
    async def down() -> None:
        raise ConnectionError("still down")

    server.svc.supervisor.max_backoff = server.svc.supervisor.first_backoff = 30.0
    server.svc.supervisor.start("down", down)
    await until(lambda: server.svc.supervisor.status()["down"].restarts == 1)
    async with server.client() as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["tasks"] is False
    assert ready.json()["supervised"]["down"]["running"] is False


async def test_every_long_lived_task_of_the_app_is_supervised(server: Server) -> None:
    names = set(server.svc.supervisor.status())
    assert {"stream_reader", "heartbeats", "notifications", "live_state_watch",
            "audit_writer", "demand_outbox", "job_scheduler"} <= names
    await until(lambda: server.svc.supervisor.all_running())


async def test_closing_flushes_the_audit_writer_then_refuses_new_rows(server: Server) -> None:
    """At shutdown, rows already handed in are committed; later ones are refused (their
    change is then not acknowledged), never left waiting forever."""
    writer = server.svc.audit
    handed_in = [asyncio.create_task(writer.record([row(40_000 + k)])) for k in range(20)]
    await asyncio.sleep(0)
    await writer.close(timeout=5.0)
    await asyncio.gather(*handed_in)
    async with server.svc.sessions() as session:
        seqs = (await session.execute(select(AuditEntry.seq).where(
            AuditEntry.seq >= 40_000))).scalars().all()
    assert sorted(seqs) == list(range(40_000, 40_020))
    with pytest.raises(RecordsUnavailable, match="shutting down"):
        await writer.record([row(40_100)])


def row(seq: int) -> AuditEntry:
    return AuditEntry(seq=seq, unit_id="u-close", op="set", at=utcnow(), actor="test",
                      source="test", available=1, held=0, waitlist=0, capacity=5, note=None,
                      detail={})
