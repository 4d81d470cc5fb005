"""Scheduled feed work (polling, freshness), registered by web/scheduled.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from feeds import freshness, polling
from feeds.status import FeedStatus
from feeds.webhook import ReminderWebhook

Job = tuple[str, float, Callable[[], Awaitable[object]]]


def scheduled_jobs(svc: Any) -> list[Job]:
    """(name, interval in seconds, coroutine function) for each job; each runs once per
    cluster under a lock."""
    status = FeedStatus(svc.redis, svc.settings.redis_prefix)
    webhook = ReminderWebhook(svc.settings.reminder_webhook, svc.redis,
                              svc.settings.redis_prefix)
    jobs: list[Job] = [("freshness", svc.settings.freshness_check_seconds,
                        lambda: freshness.check(svc, webhook))]
    for feed in svc.settings.feeds:
        jobs.append((f"feed:{feed['name']}", polling.interval_of(feed),
                     _poller(svc, feed, status)))
    return jobs


def _poller(svc: Any, feed: dict[str, Any], status: FeedStatus
            ) -> Callable[[], Awaitable[object]]:
    return lambda: polling.poll(svc, feed, status)
