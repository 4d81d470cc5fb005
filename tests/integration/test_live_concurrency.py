"""Many writers on the same units at once: every acknowledged change takes exactly one seq,
is recorded once in the audit log and the stream, and the live state is the last of them."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.conftest import Server
from tests.integration.live_helpers import (
    audit_rows,
    last_audit_by_unit,
    provider_units,
    provider_url,
    recv_json,
)

CHANGES = 200
CAPACITY = 30
WS_CONNECTIONS = 4


def plan(units: list[str], seed: int) -> list[dict[str, Any]]:
    """200 changes on the given units: sets and attests, over REST or the provider socket."""
    rng = random.Random(seed)
    ops = []
    for i in range(CHANGES):
        ops.append({
            "tag": f"change-{i}",
            "unit": units[i % len(units)],
            "op": "attest" if rng.random() < 0.3 else "set",
            "available": rng.randint(0, CAPACITY),
            "waitlist": rng.randint(0, 5),
            "via": "ws" if rng.random() < 0.3 else "rest",
        })
    return ops


async def run_rest(client: Any, op: dict[str, Any]) -> dict[str, Any]:
    if op["op"] == "set":
        reply = await client.put(f"/api/v1/units/{op['unit']}/availability", json={
            "available": op["available"], "waitlist": op["waitlist"], "note": op["tag"]})
    else:
        reply = await client.post(f"/api/v1/units/{op['unit']}/attest", json={"note": op["tag"]})
    assert reply.status_code == 200, (op, reply.text)
    return {"tag": op["tag"], "seq": reply.json()["seq"], "via": "rest"}


async def run_ws(ws: Any, lock: asyncio.Lock, op: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"op": op["op"], "unit_id": op["unit"], "ref": op["tag"],
                               "note": op["tag"]}
    if op["op"] == "set":
        message |= {"available": op["available"], "waitlist": op["waitlist"]}
    async with lock:  # one request in flight per socket: replies come back in order
        await ws.send(orjson.dumps(message).decode())
        reply = await recv_json(ws, 10)
    assert reply == {"type": "ack", "ref": op["tag"], "seq": reply["seq"]}, (op, reply)
    return {"tag": op["tag"], "seq": reply["seq"], "via": "ws"}


async def run_all(server: Server, token: str, ops: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    sockets = [await connect(provider_url(server, token)) for _ in range(WS_CONNECTIONS)]
    locks = [asyncio.Lock() for _ in sockets]
    try:
        async with server.client(token) as client:
            tasks = []
            for i, op in enumerate(ops):
                if op["via"] == "ws":
                    k = i % WS_CONNECTIONS
                    tasks.append(run_ws(sockets[k], locks[k], op))
                else:
                    tasks.append(run_rest(client, op))
            return await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        for ws in sockets:
            await ws.close()


async def test_concurrent_changes_each_take_one_seq_and_live_state_is_the_last(
        server: Server) -> None:
    _, token, units = await provider_units(server, 3, capacity=CAPACITY, available=0)
    start = await server.svc.live.current_seq()
    ops = plan(units, seed=7)
    acks = await run_all(server, token, ops)
    assert len(acks) == CHANGES

    rows = await audit_rows(server, start)
    events = await server.svc.live.events_after(start, 10_000)
    assert events is not None
    end = await server.svc.live.current_seq()

    # Seqs: one per change, contiguous, strictly increasing, the same in SQL and the stream.
    assert end == start + CHANGES
    assert [r.seq for r in rows] == list(range(start + 1, end + 1))
    assert [e.seq for e in events] == list(range(start + 1, end + 1))

    # Each acknowledged change is recorded exactly once, in both places, under the same seq.
    by_op = {op["tag"]: op for op in ops}
    row_tags = [r.note for r in rows]
    event_tags = [e.unit.note for e in events]
    assert sorted(row_tags) == sorted(by_op) and len(set(row_tags)) == CHANGES
    assert row_tags == event_tags
    row_of = {r.note: r for r in rows}
    for ack in acks:
        row = row_of[ack["tag"]]
        op = by_op[ack["tag"]]
        assert (row.unit_id, row.op) == (op["unit"], op["op"])
        if op["op"] == "set":
            assert (row.available, row.waitlist) == (op["available"], op["waitlist"])
        if ack["via"] == "ws":
            assert ack["seq"] == row.seq, ack
        else:
            # the REST reply shows the unit as it is after the change: this seq or later
            assert ack["seq"] >= row.seq, ack

    # The stream entry and the audit row of each seq describe the same state.
    for row, event in zip(rows, events):
        assert (event.unit.id, event.op) == (row.unit_id, row.op)
        assert (event.unit.available, event.unit.held, event.unit.waitlist,
                event.unit.capacity) == (row.available, row.held, row.waitlist, row.capacity)

    # An attest keeps the counts the unit had just before it (in seq order).
    previous: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.op == "attest" and row.unit_id in previous:
            assert (row.available, row.waitlist) == previous[row.unit_id], row.seq
        previous[row.unit_id] = (row.available, row.waitlist)

    # The live state of each unit is its highest-seq audit row.
    live = await server.svc.live.units(units)
    latest = await last_audit_by_unit(server)
    for unit in units:
        state, row = live[unit], latest[unit]
        assert (state.seq, state.available, state.held, state.waitlist, state.capacity) == (
            row.seq, row.available, row.held, row.waitlist, row.capacity), unit
        assert state.available + state.held <= state.capacity


async def test_rest_acknowledgement_carries_the_seq_and_counts_of_its_own_change(
        server: Server) -> None:
    """A provider must be able to tell which seq its change took: the PUT reply's `seq` and
    counts are those of this change, even while others write the same unit."""
    _, token, units = await provider_units(server, 1, capacity=CAPACITY, available=0)
    unit = units[0]
    async with server.client(token) as client:
        async def put(i: int) -> tuple[int, dict[str, Any]]:
            reply = await client.put(f"/api/v1/units/{unit}/availability",
                                     json={"available": i % (CAPACITY + 1), "note": f"put-{i}"})
            assert reply.status_code == 200, reply.text
            return i, reply.json()

        replies = await asyncio.wait_for(asyncio.gather(*(put(i) for i in range(60))), 60)
    row_of = {r.note: r for r in await audit_rows(server)}
    wrong = [(i, body["seq"], row_of[f"put-{i}"].seq, body["available"], i % (CAPACITY + 1))
             for i, body in replies
             if body["seq"] != row_of[f"put-{i}"].seq or body["available"] != i % (CAPACITY + 1)]
    assert wrong == [], f"(i, reply seq, change seq, reply available, set): {wrong[:5]}"


async def test_refused_changes_take_no_seq_and_leave_no_trace(server: Server) -> None:
    _org, token, units = await provider_units(server, 1, capacity=5, available=2)
    unit = units[0]
    other_org = await server.org("Other")
    other_unit = await server.unit(await server.program(other_org), capacity=5, available=1)
    start = await server.svc.live.current_seq()
    audit_before = len(await audit_rows(server))

    async with server.client(token) as client:
        refused = [
            (await client.put(f"/api/v1/units/{unit}/availability", json={"available": 6}), 409),
            (await client.put(f"/api/v1/units/{unit}/availability",
                              json={"available": 4, "capacity": 3}), 409),
            (await client.put(f"/api/v1/units/{unit}/availability", json={"available": -1}), 422),
            (await client.put(f"/api/v1/units/{other_unit}/availability",
                              json={"available": 1}), 403),
            (await client.post(f"/api/v1/units/{other_unit}/attest"), 403),
            (await client.put("/api/v1/units/no-such-unit/availability",
                              json={"available": 1}), 404),
        ]
        for reply, status in refused:
            assert reply.status_code == status, reply.text
    async with connect(provider_url(server, token)) as ws:
        for message in ({"op": "set", "unit_id": unit, "available": 9, "ref": 1},
                        {"op": "set", "unit_id": other_unit, "available": 0, "ref": 2},
                        {"op": "attest", "unit_id": other_unit, "ref": 3}):
            await ws.send(orjson.dumps(message).decode())
            reply = await recv_json(ws)
            assert reply["type"] == "error" and reply["ref"] == message["ref"], reply

    assert await server.svc.live.current_seq() == start
    assert await server.svc.live.events_after(start) == []
    assert len(await audit_rows(server)) == audit_before
    state = (await server.svc.live.units([unit]))[unit]
    assert (state.available, state.capacity) == (2, 5)

    # The next accepted change takes the very next seq: nothing was used up.
    async with server.client(token) as client:
        ok = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 3})
    assert ok.status_code == 200 and ok.json()["seq"] == start + 1
    assert [e.seq for e in await server.svc.live.events_after(start)] == [start + 1]
