"""The change queue never leaves a caller waiting forever: if the task sending a group is
cancelled mid-call (the process shutting down), every caller of that group and every caller
still waiting is told the live store is unreachable. A send that never returns is the only
way to stand mid-call deterministically, so `send` here is a function of the test's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from inventory.change_queue import ChangeQueue
from inventory.errors import LiveStateUnavailable
from inventory.scripts import Change


def change(unit: str) -> Change:
    return Change(op="set", unit_id=unit, at=datetime.now(UTC), by="p", source="api",
                  available=1)


async def test_callers_of_a_cancelled_send_are_told_not_left_waiting() -> None:
    started = asyncio.Event()

    async def never_returns(changes):  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.Event().wait()

    queue = ChangeQueue(never_returns)
    first = asyncio.create_task(queue.apply(change("u-1")))
    await started.wait()
    second = asyncio.create_task(queue.apply(change("u-2")))  # waits for the next group
    await asyncio.sleep(0)
    assert queue._sender is not None
    queue._sender.cancel()
    for caller in (first, second):
        with pytest.raises(LiveStateUnavailable, match="shutting down"):
            await asyncio.wait_for(caller, 1)
    assert queue._sender is None
