"""FreshRead: concurrent callers share a read, and none gets a read that started before it
asked (the rebuild fence depends on the second: a floor read before a change was recorded
could miss a rebuild that happened after)."""

from __future__ import annotations

import asyncio

import pytest

from inventory.rebuild_fence import FreshRead


class Counter:
    """A read that takes a while and returns how many reads had started when it began."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def read(self) -> int:
        self.started += 1
        started = self.started
        await self.release.wait()
        return started


async def test_callers_that_ask_together_share_one_read() -> None:
    counter = Counter()
    fresh = FreshRead(counter.read)
    waiting = [asyncio.create_task(fresh.get()) for _ in range(20)]
    await asyncio.sleep(0)
    counter.release.set()
    assert await asyncio.gather(*waiting) == [1] * 20
    assert counter.started == 1


async def test_a_caller_arriving_during_a_read_gets_the_next_read() -> None:
    counter = Counter()
    fresh = FreshRead(counter.read)
    first = asyncio.create_task(fresh.get())
    await asyncio.sleep(0.01)
    assert counter.started == 1  # the first read is under way
    later = [asyncio.create_task(fresh.get()) for _ in range(5)]
    await asyncio.sleep(0.01)
    counter.release.set()
    assert await first == 1
    assert await asyncio.gather(*later) == [2] * 5
    assert counter.started == 2


async def test_a_failed_read_fails_its_callers_and_the_next_read_is_tried_afresh() -> None:
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("down")
        return calls

    fresh = FreshRead(read)
    with pytest.raises(ConnectionError):
        await fresh.get()
    assert await fresh.get() == 2


async def test_a_caller_that_goes_away_takes_no_read_from_the_others() -> None:
    counter = Counter()
    fresh = FreshRead(counter.read)
    leaving = asyncio.create_task(fresh.get())
    staying = [asyncio.create_task(fresh.get()) for _ in range(3)]
    await asyncio.sleep(0.01)
    leaving.cancel()
    await asyncio.sleep(0.01)
    counter.release.set()
    assert await asyncio.gather(*staying) == [1] * 3
    assert leaving.cancelled() and counter.started == 1
