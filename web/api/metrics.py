"""`/metrics`: this process's Prometheus metrics, with gauges read at scrape time."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from feeds.status import FeedStatus
from inventory.model import is_stale
from web.api.deps import Svc
from web.metrics import Metrics
from web.services import Services

router = APIRouter(include_in_schema=False)


async def refresh(svc: Services) -> None:
    """Gauges read at scrape time from this process's mirror of the live state."""
    metrics: Metrics = svc.metrics
    metrics.connections.set(len(svc.fanout.subscribers))
    metrics.seq.set(svc.mirror.last_seq)
    metrics.stream_behind.set(svc.reader.behind_for())
    with contextlib.suppress(Exception):  # Redis down: the lag keeps its last value
        metrics.stream_lag.set(await svc.reader.lag())
    metrics.tasks.set(len(asyncio.all_tasks()))
    for name, task in svc.supervisor.status().items():
        metrics.task_running.labels(name).set(1 if task.running else 0)
    now = svc.clock()
    stale = 0
    for program in (await svc.directory.programs()).values():
        cadence = svc.cadence(program.cadence_minutes)
        for unit in program.units:
            state = svc.mirror.states.get(unit.id)
            stale += state is None or is_stale(state.updated_at, cadence, now)
    metrics.stale_units.set(stale)
    status = FeedStatus(svc.redis, svc.settings.redis_prefix)
    for feed in svc.settings.feeds:
        name = str(feed.get("name", ""))
        metrics.feed_failures.labels(name).set(await status.failures(name))


@router.get("/metrics")
async def metrics_endpoint(svc: Svc) -> Response:
    await refresh(svc)
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)


