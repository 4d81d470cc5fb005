"""Redis loses everything (FLUSHDB, a restart without persistence): the live state comes back
from the SQL audit log with every acknowledged change, seqs keep increasing, subscribers are
told to resync, and no write is acknowledged and then lost."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import Server
from tests.integration.live_helpers import (
    audit_rows,
    inventory_url,
    provider_units,
    recv_json,
    wait_ready,
    wipe_prefix,
)

UNITS = 30
ROUNDS = 3


async def put(client: Any, unit: str, available: int, note: str) -> tuple[int, dict[str, Any]]:
    reply = await client.put(f"/api/v1/units/{unit}/availability",
                             json={"available": available, "note": note})
    return reply.status_code, reply.json()


async def test_after_a_wipe_the_live_state_is_rebuilt_with_every_acknowledged_change(
        server: Server) -> None:
    _, provider, units = await provider_units(server, 5, capacity=50, available=0)
    reader = await server.token("navigator")
    expected: dict[str, int] = {}
    async with server.client(provider) as client:
        for i in range(20):
            status, body = await put(client, units[i % 5], i, f"before-{i}")
            assert status == 200, body
            expected[units[i % 5]] = i
    seq_before = await server.svc.live.current_seq()

    async with connect(inventory_url(server, reader)) as ws:
        snapshot = await recv_json(ws)
        assert snapshot["seq"] == seq_before
        last_seen = snapshot["seq"]

        assert await wipe_prefix(server) > 0
        assert await server.svc.live.epoch() is None

        # Told to resync: the server closes the subscription (1012 service restart or
        # 1013 try again later); whatever came before the close is in seq order.
        try:
            for _ in range(100):
                message = await recv_json(ws, 5)
                if message["type"] == "unit":
                    assert message["seq"] > last_seen
                    last_seen = message["seq"]
            raise AssertionError("subscription not closed after the live state was rebuilt")
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in (1012, 1013), closed

    ready = await wait_ready(server, 10)
    assert {k: ready[k] for k in ("ready", "redis", "live_state", "sql", "tasks")} == {
        "ready": True, "redis": True, "live_state": True, "sql": True, "tasks": True}
    live = await server.svc.live.units(units)
    assert {u: live[u].available for u in units} == expected
    rebuilt_seq = await server.svc.live.current_seq()
    assert rebuilt_seq > seq_before

    async with server.client(provider) as client:
        status, body = await put(client, units[0], 33, "after")
    assert status == 200, body
    assert body["seq"] > seq_before and body["seq"] == rebuilt_seq + 1
    expected[units[0]] = 33

    # Reconnecting with the last seq from before the wipe gives a snapshot of the truth.
    async with connect(inventory_url(server, reader, after=last_seen)) as ws:
        message = await recv_json(ws)
    assert message["type"] == "snapshot"
    assert message["seq"] >= body["seq"]
    assert {u["id"]: u["available"] for u in message["units"]} == expected


async def test_writes_racing_a_wipe_are_acknowledged_and_kept_or_refused_with_503(
        server: Server) -> None:
    """One write per unit in flight while the keys vanish: each is either acknowledged, and
    then in the audit log and the rebuilt live state, or refused with 503. Nothing else."""
    _, provider, units = await provider_units(server, UNITS, capacity=100, available=0)
    expected = {u: 0 for u in units}
    lost: list[str] = []
    statuses: dict[int, int] = {}
    async with server.client(provider) as client:
        for round_ in range(ROUNDS):
            seq_before = await server.svc.live.current_seq()

            async def write(k: int, unit: str, round_: int = round_
                            ) -> tuple[str, int, int, dict[str, Any]]:
                available = 10 * (round_ + 1) + k % 10
                status, body = await put(client, unit, available, f"r{round_}-{k}")
                return unit, available, status, body

            writes = [asyncio.create_task(write(k, u)) for k, u in enumerate(units)]
            await asyncio.sleep(0.01 * round_)  # wipe at a different moment each round
            await wipe_prefix(server)
            results = await asyncio.wait_for(asyncio.gather(*writes), 60)
            await wait_ready(server, 10)

            notes = {r.note: r for r in await audit_rows(server)}
            for unit, available, status, body in results:
                statuses[status] = statuses.get(status, 0) + 1
                assert status in (200, 503), (status, body)
                note = f"r{round_}-{units.index(unit)}"
                if status == 200:
                    assert note in notes, f"acknowledged {note} is not in the audit log"
                    assert (notes[note].unit_id, notes[note].available) == (unit, available)
                    expected[unit] = available
                else:
                    assert "rebuilt" in body["detail"] or "unreachable" in body["detail"], body
                    assert note not in notes, f"refused {note} is in the audit log"
            live = await server.svc.live.units(units)
            lost += [f"round {round_}: {u} live {live[u].available} (seq {live[u].seq}), "
                     f"acknowledged {expected[u]}"
                     for u in units if live[u].available != expected[u]]
            for u in units:  # resync the expectation so later rounds are judged on their own
                expected[u] = live[u].available
            assert await server.svc.live.current_seq() > seq_before
    assert lost == [], f"rebuilt live state is not the last acknowledged change: {lost[:5]}"
    assert statuses.get(200, 0) > 0


async def test_seqs_after_a_rebuild_are_above_every_seq_issued_before(server: Server) -> None:
    _, provider, units = await provider_units(server, 2, capacity=10, available=0)
    reader = await server.token("display")
    async with server.client(provider) as client:
        for i in range(10):
            status, body = await put(client, units[i % 2], i % 10, "")
            assert status == 200
    issued = [e.seq for e in await server.svc.live.events_after(0, 10_000) or []]
    assert issued, "no events before the wipe"
    await wipe_prefix(server)
    await wait_ready(server, 10)
    async with connect(inventory_url(server, reader)) as ws:
        snapshot = await recv_json(ws)
        async with server.client(provider) as client:
            status, body = await put(client, units[1], 4, "")
        assert status == 200
        while True:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            if message["type"] == "unit":
                break
    assert snapshot["seq"] >= max(issued)
    assert message["seq"] == body["seq"] > max(issued)


class RebuildBeforeRecord:
    """The audit writer's `record`, made to let Redis lose its keys and the live state be
    rebuilt from SQL after a change was applied and before its record commits: the narrow
    window the racing test above hits by chance, here every time."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.record = server.svc.audit.record
        self.times = 0

    async def __call__(self, rows: Any) -> None:
        if self.times == 0:
            self.times += 1
            await wipe_prefix(self.server)
            await self.server.svc.availability.rebuild()  # reads SQL without these rows
        await self.record(rows)


async def test_a_change_recorded_after_a_rebuild_read_sql_is_put_back_before_it_is_acknowledged(
        server: Server, monkeypatch: Any) -> None:
    _, provider, units = await provider_units(server, 2, capacity=20, available=3)
    reader = await server.token("navigator")
    monkeypatch.setattr(server.svc.audit, "record", RebuildBeforeRecord(server))
    async with server.client(provider) as client:
        status, body = await put(client, units[0], 9, "late")
    assert status == 200, body
    live = await server.svc.live.units(units)
    assert (live[units[0]].available, live[units[1]].available) == (9, 3)
    assert live[units[0]].seq > body["seq"], "put back as a new change on the stream"
    async with connect(inventory_url(server, reader)) as ws:
        snapshot = await recv_json(ws)
    assert {u["id"]: u["available"] for u in snapshot["units"]} == {units[0]: 9, units[1]: 3}


async def test_a_hold_recorded_after_a_rebuild_read_sql_is_put_back_before_it_is_acknowledged(
        server: Server, monkeypatch: Any) -> None:
    _, _, units = await provider_units(server, 1, capacity=5, available=2)
    navigator = await server.token("navigator")
    monkeypatch.setattr(server.svc.audit, "record", RebuildBeforeRecord(server))
    async with server.client(navigator) as client:
        placed = await client.post("/api/v1/holds", json={"unit_id": units[0],
                                                          "client_ref": "c-rebuild"})
        assert placed.status_code == 201, placed.text
        live = (await server.svc.live.units(units))[units[0]]
        assert (live.available, live.held) == (1, 1)
        admitted = await client.post(f"/api/v1/holds/{placed.json()['id']}/admit")
        assert admitted.status_code == 200, admitted.text
    live = (await server.svc.live.units(units))[units[0]]
    assert (live.available, live.held) == (1, 0)


async def rebuilt(server: Server) -> int:
    """Wipe the live state, rebuild it from SQL, and return the rebuild's seq floor."""
    await wipe_prefix(server)
    await server.svc.availability.rebuild()
    floor = await server.svc.live.rebuild_floor()
    assert floor is not None
    return floor


async def test_changes_put_back_in_either_order_leave_the_latest_recorded_one(
        server: Server) -> None:
    """Two changes to one unit applied before a rebuild and recorded after it are put back
    by their writers in whichever order they finish: the unit ends with the later one, and
    a change made after the rebuild is never overwritten by either."""
    _, provider, units = await provider_units(server, 1, capacity=20, available=1)
    live = server.svc.live
    floor = await rebuilt(server)
    before = (await live.units(units))[units[0]]
    earlier = replace(before, seq=floor - 5, available=5)
    later = replace(before, seq=floor - 3, available=7)

    assert await live.catch_up(later, []) > floor
    assert await live.catch_up(earlier, []) == 0, "an older recorded change came back"
    assert (await live.units(units))[units[0]].available == 7

    floor = await rebuilt(server)
    earlier, later = replace(earlier, seq=floor - 5), replace(later, seq=floor - 3)
    assert await live.catch_up(earlier, []) > floor
    assert await live.catch_up(later, []) > floor, "the later recorded change was not put back"
    assert (await live.units(units))[units[0]].available == 7

    async with server.client(provider) as client:
        status, body = await put(client, units[0], 9, "after the rebuild")
    assert status == 200, body
    assert await live.catch_up(replace(later, seq=floor - 1), []) == 0
    assert (await live.units(units))[units[0]].available == 9
