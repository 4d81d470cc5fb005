"""Cluster-wide locks in Redis, so one thing happens once across every app process: the live
state's rebuild, answering one referral group, each scheduled job per interval.

A lock is a key holding a random token, set only if absent and with an expiry. Its holder
gives it back by token, so a holder whose lock already expired (and was taken by another)
never frees the other's. A holder that dies leaves nothing stuck: the key expires by itself.
The cost is that a holder that outlives its lock's expiry no longer excludes anyone, so a
lock's length is chosen above the longest run of what it guards.
"""

from __future__ import annotations

import secrets
from typing import cast

from redis.asyncio import Redis

from inventory.keys import Keys


class Locks:
    """Named locks under one key prefix (`Keys.lock`). The client is made with
    decode_responses=True, so values come back as str."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def acquire(self, name: str, seconds: float) -> str | None:
        """The token of a lock on `name` for `seconds`, or None while someone else holds it."""
        token = secrets.token_hex(8)
        ok = await self.redis.set(self.keys.lock(name), token, nx=True,
                                  px=max(int(seconds * 1000), 1))
        return token if ok else None

    async def release(self, name: str, token: str) -> None:
        """Give the lock back if `token` still holds it; otherwise leave it alone."""
        key = self.keys.lock(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            if cast(str | None, await pipe.get(key)) == token:
                pipe.multi()
                pipe.delete(key)
                await pipe.execute()

    async def claim_job_run(self, job: str, interval: float, longest_run: float
                            ) -> str | None:
        """Whether this process runs scheduled `job` now: every process ticks each
        `interval`; the first to claim the tick's slot runs it, and only if no earlier run
        still holds the run lock (for up to `longest_run` seconds). Returns the run lock's
        token, to give back with `release_job_run`, or None when another process has it."""
        if await self.acquire(f"job:{job}:slot", interval * 0.9) is None:
            return None
        return await self.acquire(f"job:{job}:run", longest_run)

    async def release_job_run(self, job: str, token: str) -> None:
        await self.release(f"job:{job}:run", token)
