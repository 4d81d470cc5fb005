"""Cluster-wide locks in Redis, so one thing happens once across every app process: the live
state's rebuild, answering one referral group, each scheduled job per interval.

A lock is a key holding a random token, set only if absent and with an expiry. Its holder
gives it back by token, so a holder whose lock already expired (and was taken by another)
never frees the other's. A holder that dies leaves nothing stuck: the key expires by itself.

A holder that works longer than the lock's term would no longer exclude anyone, so work
guarded by a lock runs inside `held`: the lock is renewed every third of its term while the
work goes on (a job may outlive its lock's first term many times over). If a renewal finds
the lock gone or taken (the holder was paused past the term, or Redis lost the key), or no
renewal has succeeded for a whole term (Redis unreachable), the work is cancelled: a holder
that may have lost its lock is fenced off rather than left acting beside a second holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar, cast

from redis.asyncio import Redis

from inventory.keys import Keys

log = logging.getLogger(__name__)
T = TypeVar("T")


class LockLost(Exception):
    """The lock guarding some work was lost while the work ran; the work was cancelled."""


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

    async def renew(self, name: str, token: str, seconds: float) -> bool:
        """Extend the lock on `name` to `seconds` from now if `token` still holds it; False
        (and nothing changed) if it is gone or someone else's."""
        key = self.keys.lock(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            if cast(str | None, await pipe.get(key)) != token:
                return False
            pipe.multi()
            pipe.pexpire(key, max(int(seconds * 1000), 1))
            await pipe.execute()
        return True

    @contextlib.asynccontextmanager
    async def renewing(self, name: str, token: str, seconds: float
                       ) -> AsyncIterator[asyncio.Event]:
        """Renew the lock every third of its term until the block ends; the event yielded is
        set once the lock is lost (or could not be renewed for a whole term), for work that
        is fenced some other way (a compare-and-set in SQL) and only needs to know."""
        lost = asyncio.Event()

        async def keep() -> None:
            await self._keep(name, token, seconds)
            lost.set()

        renewing = asyncio.ensure_future(keep())
        try:
            yield lost
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def run_job(self, job: str, token: str, longest_run: float,
                      work: Callable[[], Awaitable[T]]) -> T:
        """Run scheduled `job` under the run lock `claim_job_run` gave (see `held`)."""
        return await self.held(f"job:{job}:run", token, longest_run, work)

    async def held(self, name: str, token: str, seconds: float,
                   work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` while holding the lock (`token`, term `seconds`), renewing it every
        third of its term. Raises LockLost, with `work` cancelled, if the lock was lost or
        could not be renewed for a whole term. Does not release the lock: the caller does."""
        task = asyncio.ensure_future(work())
        renewing = asyncio.ensure_future(self._keep(name, token, seconds))
        try:
            done, _ = await asyncio.wait({task, renewing}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise LockLost(f"the lock {name!r} was lost while its work ran; the work was "
                           "stopped so a second holder does not act beside it")
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            if not task.done():
                task.cancel()

    async def _keep(self, name: str, token: str, seconds: float) -> None:
        """Renew until cancelled; return as soon as the lock is known or feared lost."""
        confirmed_until = time.monotonic() + seconds
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                if not await self.renew(name, token, seconds):
                    log.error("lock %s was lost while held", name)
                    return
                confirmed_until = time.monotonic() + seconds
            except Exception as error:  # noqa: BLE001 - Redis unreachable: try again soon
                log.warning("lock %s not renewed: %s", name, error)
                if time.monotonic() >= confirmed_until:
                    log.error("lock %s not renewed for a whole term; it may be lost", name)
                    return
