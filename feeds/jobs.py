"""Scheduled feed work (polling, freshness), registered by web/scheduled.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from feeds import freshness, polling
from feeds.status import FeedStatus
from feeds.webhook import ReminderWebhook
from inventory.system import System

Job = tuple[str, float, Callable[[], Awaitable[object]]]


def scheduled_jobs(system: System) -> list[Job]:
    """(name, interval in seconds, coroutine function) for each job; each runs once per
    cluster under a lock."""
    settings = system.settings
    status = FeedStatus(system.redis, settings.redis_prefix)
    webhook = ReminderWebhook(settings.reminder_webhook, system.redis, settings.redis_prefix)
    jobs: list[Job] = [("freshness", settings.freshness_check_seconds,
                        lambda: freshness.check(system, webhook))]
    for feed in settings.feeds:
        jobs.append((f"feed:{feed['name']}", polling.interval_of(feed),
                     _poller(system, feed, status)))
    return jobs


def _poller(system: System, feed: dict[str, Any], status: FeedStatus
            ) -> Callable[[], Awaitable[object]]:
    return lambda: polling.poll(system, feed, status)
