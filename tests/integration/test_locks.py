"""Cluster-wide locks on the real Redis: two `Locks` on one prefix stand for two processes."""

from __future__ import annotations

import asyncio

from inventory.locks import Locks
from tests.conftest import Server


def two_processes(server: Server) -> tuple[Locks, Locks]:
    return server.svc.locks, Locks(server.svc.redis, server.svc.live.keys)


async def test_a_lock_is_held_once_and_only_its_token_gives_it_back(server: Server) -> None:
    one, other = two_processes(server)
    token = await one.acquire("test-lock", 30)
    assert token is not None
    assert await other.acquire("test-lock", 30) is None
    await other.release("test-lock", "not-the-token")
    assert await other.acquire("test-lock", 30) is None
    await one.release("test-lock", token)
    assert await other.acquire("test-lock", 30) is not None


async def test_a_lock_whose_holder_died_expires_by_itself(server: Server) -> None:
    one, other = two_processes(server)
    assert await one.acquire("referral:grp-1", 0.2) is not None
    assert await other.acquire("referral:grp-1", 30) is None
    await asyncio.sleep(0.3)
    assert await other.acquire("referral:grp-1", 30) is not None


async def test_a_scheduled_job_runs_once_per_interval_across_processes(server: Server) -> None:
    one, other = two_processes(server)
    token = await one.claim_job_run("test_job", interval=0.3, longest_run=30)
    assert token is not None
    assert await other.claim_job_run("test_job", interval=0.3, longest_run=30) is None
    await asyncio.sleep(0.35)  # next interval, but the first run still holds the run lock
    assert await other.claim_job_run("test_job", interval=0.3, longest_run=30) is None
    await one.release_job_run("test_job", token)
    await asyncio.sleep(0.35)
    assert await other.claim_job_run("test_job", interval=0.3, longest_run=30) is not None
