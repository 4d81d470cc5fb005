"""Each Lua script's typed call: what it returns is what Redis then holds, field by field
(the positions are decoded in one place, `inventory/scripts.py`, and checked here)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from inventory.actors import SYSTEM
from inventory.errors import Conflict, LiveStateUnavailable, NoCapacity
from inventory.scripts import Change, Counts, HoldEnd, HoldGrant
from tests.conftest import Server


async def test_a_change_returns_every_field_of_the_state_it_stored(server: Server) -> None:
    org = await server.org()
    program = await server.program(org)
    unit = await server.unit(program, capacity=8, available=1)
    live, now = server.svc.live, server.svc.clock()
    discharges = [{"at": "2026-12-02T09:00:00+00:00", "count": 2}]
    returned = await live.apply(Change(
        op="set", unit_id=unit, at=now, by="Ana at Harbor", source="api",
        only_organization=org, available=5, capacity=9, waitlist=3,
        expected_discharges=discharges, note="two leave tomorrow"))
    assert returned == (await live.units([unit]))[unit]
    assert (returned.available, returned.held, returned.waitlist, returned.capacity) == (
        5, 0, 3, 9)
    assert (returned.program_id, returned.organization_id) == (program, org)
    assert (returned.updated_at, returned.updated_by, returned.source, returned.note) == (
        now, "Ana at Harbor", "api", "two leave tomorrow")
    assert returned.expected_discharges == discharges
    assert returned.seq == await live.current_seq()
    [event] = await live.events_after(returned.seq - 1) or []
    # The stream entry carries the same state, less the organization (not streamed).
    assert event.unit == replace(returned, organization_id="")
    assert (event.op, event.actor, event.at) == ("set", "Ana at Harbor", now)


async def test_hold_calls_return_the_counts_redis_then_holds(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=3, available=1, waitlist=2)
    live, now = server.svc.live, server.svc.clock()
    granted = await live.grant_hold(HoldGrant(
        hold_id="hold-s1", unit_id=unit, expires_at=now + timedelta(minutes=30), at=now,
        actor=SYSTEM.name))
    state = (await live.units([unit]))[unit]
    assert granted == Counts(seq=state.seq, available=0, held=1, waitlist=2, capacity=3)
    assert await live.active_hold_ids(unit) == {"hold-s1"}
    with pytest.raises(NoCapacity, match="1 held for clients on the way, 2 on the waitlist"):
        await live.grant_hold(HoldGrant(hold_id="hold-s2", unit_id=unit, expires_at=now,
                                        at=now, actor=SYSTEM.name))
    with pytest.raises(Conflict, match="has not expired yet"):
        await live.end_hold(HoldEnd(hold_id="hold-s1", unit_id=unit, op="expire", at=now,
                                    actor=SYSTEM.name))
    ended = await live.end_hold(HoldEnd(hold_id="hold-s1", unit_id=unit, op="release",
                                        at=now, actor=SYSTEM.name))
    assert ended == Counts(seq=granted.seq + 1, available=1, held=0, waitlist=2, capacity=3)
    assert await live.active_hold_ids(unit) == set()


async def test_every_script_refuses_while_the_live_state_is_being_rebuilt(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=3, available=1)
    live, now = server.svc.live, server.svc.clock()
    # Hold the rebuild lock, so the app's own watcher cannot rebuild in the meantime.
    token = await server.svc.locks.acquire("rebuild", 30)
    assert token is not None
    await server.svc.redis.delete(live.keys.epoch)
    seq = await live.current_seq()
    calls = [
        live.apply(Change(op="attest", unit_id=unit, at=now, by="x", source="api")),
        live.grant_hold(HoldGrant(hold_id="h", unit_id=unit, expires_at=now, at=now,
                                  actor="x")),
        live.end_hold(HoldEnd(hold_id="h", unit_id=unit, op="release", at=now, actor="x")),
    ]
    for call in calls:
        with pytest.raises(LiveStateUnavailable, match="being rebuilt"):
            await call
    assert await live.current_seq() == seq
    await server.svc.locks.release("rebuild", token)
    await server.svc.availability.rebuild()
    assert (await live.units([unit]))[unit].available == 1


async def test_a_server_that_lost_the_scripts_is_given_them_again(server: Server) -> None:
    """After a Redis restart or SCRIPT FLUSH the next change loads its script again."""
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=8, available=1)
    live = server.svc.live
    await live.redis.script_flush()
    state = await live.apply(Change(op="set", unit_id=unit, at=server.svc.clock(), by="test",
                                    source="api", available=4))
    assert state.available == 4 and (await live.units([unit]))[unit].available == 4
