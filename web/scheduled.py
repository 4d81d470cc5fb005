"""Scheduled jobs, each a supervised long-lived task of its own (so a hung job delays only
itself) that ticks every interval; per tick, only one process of the cluster runs the job,
under a Redis lock that expires by itself, so a process that dies mid-job never leaves it
stuck."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from feeds.jobs import Job, scheduled_jobs
from inventory.watch import watch_transitions
from web.analytics import refresh_history
from web.services import Services

log = logging.getLogger(__name__)
MIN_LOCK_SECONDS = 30


def once_per_cluster(svc: Services, name: str, interval: float, lock_seconds: float,
                     job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """Every process ticks; per interval only the first to claim the slot runs the job, and
    never while an earlier run still holds the run lock. Both locks expire by themselves, so
    a process that dies mid-job leaves nothing stuck. A failing job is logged, not raised:
    it runs again next interval."""

    async def run() -> None:
        if await svc.live.try_lock(f"job:{name}:slot", interval * 0.9) is None:
            return
        token = await svc.live.try_lock(f"job:{name}:run", lock_seconds)
        if token is None:
            return
        svc.metrics.job_runs.labels(name).inc()
        try:
            await job()
        except Exception:
            log.exception("scheduled job %s failed", name)
        finally:
            await svc.live.unlock(f"job:{name}:run", token)

    return run


def every(interval: float, tick: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A long-lived task calling `tick` one interval after start and after each tick ends:
    never two at once, and missed ticks are not made up. An exception from `tick` (Redis
    down while taking a lock) ends the task for the supervisor to restart."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            await tick()

    return loop


async def purge_client_refs(svc: Services) -> None:
    """Forget client references some days after holds, transitions and referrals end."""
    cutoff = svc.clock() - timedelta(days=svc.settings.purge_client_refs_days)
    await svc.holds.purge_client_refs(cutoff)
    await svc.transitions.purge_client_refs(cutoff)
    await svc.referrals.purge_client_refs(cutoff)


async def watch(svc: Services) -> None:
    programs = await svc.directory.programs()
    states = await svc.live_states(programs)
    await watch_transitions(svc.transitions, programs, states, svc.settings.pathways,
                            svc.notifier, svc.redis, svc.settings.redis_prefix, svc.clock(),
                            svc.settings.default_cadence_minutes)


def jobs(svc: Services) -> list[Job]:
    """(name, interval in seconds, coroutine function) for every scheduled job."""
    listed: list[Job] = [
        ("expire_holds", svc.settings.hold_expiry_check_seconds, svc.holds.expire_due),
        ("purge_client_refs", 3600, lambda: purge_client_refs(svc)),
        ("watch_transitions", svc.settings.transition_watch_seconds, lambda: watch(svc)),
        ("lapse_transitions", 60, svc.transitions.lapse_overdue),
        ("expire_referrals", 15, svc.referrals.expire_due),
        ("analytics_history", 300, lambda: refresh_history(svc)),
    ]
    return listed + scheduled_jobs(svc.system)


def start_jobs(svc: Services) -> None:
    """Start every scheduled job under the process's supervisor, as `job:<name>`."""
    for name, seconds, job in jobs(svc):
        tick = once_per_cluster(svc, name, seconds, max(seconds * 5, MIN_LOCK_SECONDS), job)
        svc.supervisor.start(f"job:{name}", every(seconds, tick))
