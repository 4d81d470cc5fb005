"""Locks that guard work are renewed while their holder works: a scheduled job that runs
three times its lock's term is never started a second time by another process, and a holder
whose lock is lost anyway is stopped rather than left acting beside the new holder."""

from __future__ import annotations

import asyncio

import pytest

from inventory.locks import LockLost, Locks
from tests.conftest import Server
from web.scheduled import once_per_cluster

TERM = 2.0  # the run lock's term; the job runs 3 terms (generous: a loaded CI machine stalls)
INTERVAL = 0.5


async def test_a_job_that_outlives_its_lock_term_is_never_run_twice(server: Server) -> None:
    running = 0
    most = 0
    finished = 0

    async def slow_job() -> None:
        nonlocal running, most, finished
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(TERM * 3)
        finally:
            running -= 1
        finished += 1

    # Two processes' ticks of the same job on one Redis (the same names, their own tokens).
    first = once_per_cluster(server.svc, "slow_test_job", INTERVAL, TERM, slow_job)
    second = once_per_cluster(server.svc, "slow_test_job", INTERVAL, TERM, slow_job)
    started = asyncio.ensure_future(first())
    await asyncio.sleep(0.05)
    assert running == 1
    for _ in range(int(TERM * 3 / INTERVAL) - 1):  # every interval while the job runs
        await asyncio.sleep(INTERVAL)
        await second()  # returns at once: the run lock is still held, renewed
    await started
    assert most == 1, "a second process started the job while the first still ran it"
    assert finished == 1
    # Once the job is done, the next interval runs it again.
    await asyncio.sleep(INTERVAL)
    await second()
    assert finished == 2


async def test_work_whose_lock_is_lost_is_stopped(server: Server) -> None:
    locks, other = server.svc.locks, Locks(server.svc.redis, server.svc.live.keys)
    token = await locks.acquire("fenced", TERM)
    assert token is not None
    acted_after_loss = False

    async def work() -> None:
        nonlocal acted_after_loss
        await asyncio.sleep(TERM * 3)
        acted_after_loss = True  # must never happen: the lock is another's by now

    async def steal() -> None:
        await asyncio.sleep(TERM / 2)
        await server.svc.redis.delete(server.svc.live.keys.lock("fenced"))
        assert await other.acquire("fenced", 30) is not None

    thief = asyncio.create_task(steal())
    with pytest.raises(LockLost):
        await locks.held("fenced", token, TERM, work)
    await thief
    assert not acted_after_loss


async def test_renewing_reports_a_lost_lock(server: Server) -> None:
    locks = server.svc.locks
    token = await locks.acquire("referral:grp-test", TERM)
    assert token is not None
    async with locks.renewing("referral:grp-test", token, TERM) as lost:
        await asyncio.sleep(TERM * 2)
        assert not lost.is_set(), "renewed past its first term"
        assert await server.svc.redis.pttl(server.svc.live.keys.lock("referral:grp-test")) > 0
        await server.svc.redis.delete(server.svc.live.keys.lock("referral:grp-test"))
        await asyncio.wait_for(lost.wait(), TERM)
