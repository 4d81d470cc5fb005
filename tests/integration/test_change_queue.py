"""Concurrent single changes share script calls (inventory/change_queue.py) without sharing
their fate: each caller gets its own unit's state or its own refusal, seqs stay contiguous
and in the order the changes were handed in, and a unit changed twice in one group sees
both changes."""

from __future__ import annotations

import asyncio

import pytest

from inventory.errors import NoCapacity, NotYourUnit
from inventory.model import UnitState
from inventory.scripts import Change
from tests.conftest import Server


async def test_concurrent_changes_share_calls_and_keep_their_own_answers(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = await server.org("Ours"), await server.org("Theirs")
    program = await server.program(ours)
    units = [await server.unit(program, capacity=5, available=0) for _ in range(20)]
    other = await server.unit(await server.program(theirs), capacity=5, available=1)
    live, now = server.svc.live, server.svc.clock()
    scripts, calls = live._scripts, []
    send = scripts.changes

    async def counted(changes):  # type: ignore[no-untyped-def]
        calls.append(len(changes))
        return await send(changes)

    monkeypatch.setattr(live._queue, "_send", counted)
    first = await live.current_seq()

    def change(unit: str, available: int) -> Change:
        return Change(op="set", unit_id=unit, at=now, by="p", source="api",
                      only_organization=ours, available=available)

    requested = [change(u, k % 5) for k, u in enumerate(units)]
    requested += [change(other, 0), change(units[0], 9), change(units[1], 4)]
    answers = await asyncio.gather(*(live.apply(c) for c in requested),
                                   return_exceptions=True)
    assert sum(calls) == len(requested) and len(calls) < len(requested) / 2, calls
    applied = [a for a in answers if isinstance(a, UnitState)]
    assert [a.seq for a in applied] == list(range(first + 1, first + 1 + len(applied)))
    assert [(a.id, a.available) for a in applied] == [
        (c.unit_id, c.available) for c, a in zip(requested, answers) if a in applied]
    assert isinstance(answers[20], NotYourUnit)  # another organization's unit
    assert isinstance(answers[21], NoCapacity)  # 9 > capacity 5
    assert (await live.units([units[1]]))[units[1]].available == 4  # its second change won
    assert (await live.units([other]))[other].available == 1
    assert (await live.units([units[0]]))[units[0]].available == 0


async def test_a_lone_change_is_sent_at_once(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=0)
    live = server.svc.live
    state = await asyncio.wait_for(live.apply(Change(
        op="set", unit_id=unit, at=server.svc.clock(), by="p", source="api",
        available=3)), 1)
    assert state.available == 3 and state.seq == await live.current_seq()
