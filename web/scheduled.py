"""Scheduled jobs: one APScheduler per process, itself a supervised task (`job_scheduler`),
runs every job at its interval; per tick, only one process of the cluster runs the job, under
a Redis lock that expires by itself, so a process that dies mid-job never leaves it stuck.
The lock is renewed while the job runs (`Locks.run_job`), so a job may take longer than
its lock's term without a second process starting it; a job whose lock is lost anyway (its
process paused past the term) is cancelled rather than left running beside another."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from feeds.jobs import Job, scheduled_jobs
from inventory.locks import LockLost
from inventory.watch import watch_transitions
from web.analytics import refresh_history
from web.services import Services

log = logging.getLogger(__name__)
# The run lock's term: renewed every third of it while the job runs, so it only bounds how
# long a process that died mid-job keeps the others waiting.
MIN_LOCK_SECONDS = 10
# A tick skipped because the job's previous run is still going is expected under load.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)


def once_per_cluster(svc: Services, name: str, interval: float, lock_seconds: float,
                     job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """Every process ticks; per interval only the first to claim the slot runs the job, and
    never while an earlier run still holds the run lock. Both locks expire by themselves, so
    a process that dies mid-job leaves nothing stuck. A failing job is logged, not raised:
    it runs again next interval."""

    async def run() -> None:
        token = await svc.locks.claim_job_run(name, interval, lock_seconds)
        if token is None:
            return
        svc.metrics.job_runs.labels(name).inc()
        try:  # the run lock is renewed while the job runs; if lost, the job is cancelled
            await svc.locks.run_job(name, token, lock_seconds, job)
        except LockLost as lost:
            log.error("scheduled job %s stopped: %s", name, lost)
        except Exception:
            log.exception("scheduled job %s failed", name)
        finally:
            await svc.locks.release_job_run(name, token)

    return run


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


def scheduler_task(svc: Services) -> Callable[[], Awaitable[None]]:
    """The process's scheduler as one long-lived task: each job runs one interval after start
    and after each interval, never two runs at once (`max_instances`), missed runs collapsed
    into one (`coalesce`). If the task ends, the supervisor starts a fresh scheduler."""

    async def run() -> None:
        scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                   "misfire_grace_time": 30})
        for name, seconds, job in jobs(svc):
            tick = once_per_cluster(svc, name, seconds, max(seconds * 3, MIN_LOCK_SECONDS), job)
            scheduler.add_job(tick, "interval", seconds=seconds, id=name)
        scheduler.start()
        try:
            await asyncio.Event().wait()
        finally:
            scheduler.shutdown(wait=False)

    return run


def start_jobs(svc: Services) -> None:
    """Start the job scheduler under the process's supervisor, as `job_scheduler`."""
    svc.supervisor.start("job_scheduler", scheduler_task(svc))
