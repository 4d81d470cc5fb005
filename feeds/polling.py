"""Polling configured feeds: each feed runs once per interval across the cluster (a Redis
key claimed with SET NX and the interval as expiry), failures are counted and retried with
exponential backoff (capped), and every outcome is kept for `GET /api/v1/feeds`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from feeds import service
from feeds.status import FeedStatus
from inventory.actors import SYSTEM, Actor
from inventory.system import System

log = logging.getLogger(__name__)
KINDS = ("hsds", "edxl_have", "csv")
MAX_BACKOFF_SECONDS = 3600.0


def interval_of(feed: dict[str, Any]) -> float:
    return float(feed.get("interval_seconds", 300))


def backoff(interval: float, failures: int) -> float:
    return min(interval * 2 ** max(failures - 1, 0), max(MAX_BACKOFF_SECONDS, interval))


async def run_once(system: System, feed: dict[str, Any]) -> dict[str, Any]:
    """Read and apply one feed now; returns its report."""
    kind, mapping = feed.get("kind"), feed.get("mapping") or {}
    source = f"feed:{feed['name']}"[:40]
    if kind == "hsds":
        where = str(feed.get("url") or feed.get("path") or "")
        report = await service.import_hsds(
            system, where, mapping.get("level_of_care", "outpatient"), label=source)
        return report.as_dict()
    data = await service.read_source(feed)
    if kind == "edxl_have":
        return await service.import_edxl(system, data, mapping.get("hospitals"), label=source)
    if kind == "csv":
        org = mapping.get("organization_id")
        actor = Actor(token_id=f"feed-{feed['name']}", role="provider" if org else "admin",
                      organization_id=org) if org else SYSTEM
        states = await service.import_census(system, data, actor, org)
        return {"applied": [s.id for s in states]}
    raise ValueError(f"feed {feed['name']!r}: kind {kind!r} is not one of {KINDS}")


async def poll(system: System, feed: dict[str, Any], status: FeedStatus) -> None:
    """The scheduled job of one feed: skip unless due (once per interval, or the backoff
    after failures), else run it and record the outcome."""
    name, interval = str(feed["name"]), interval_of(feed)
    now: datetime = system.clock()
    current = await status.get(name)
    due = current.get("next_run")
    if due and datetime.fromisoformat(due) > now + timedelta(seconds=0.05):
        return
    if not await status.claim_run(name, interval * 0.9):
        return
    try:
        report = await run_once(system, feed)
    except Exception as error:  # noqa: BLE001 - a feed's failure is recorded, never crashes the job
        failures = current["failures"] + 1
        wait = backoff(interval, failures)
        await status.failed(name, now, now + timedelta(seconds=wait), f"{error}")
        log.warning("feed %s failed (%d in a row, next try in %.0fs): %s", name, failures,
                    wait, error)
        return
    await status.succeeded(name, now, now + timedelta(seconds=interval), report)
