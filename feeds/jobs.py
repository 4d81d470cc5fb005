"""Scheduled feed work (polling, freshness), registered by web/scheduled.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Job = tuple[str, float, Callable[[], Awaitable[object]]]


def scheduled_jobs(svc: Any) -> list[Job]:
    """(name, interval in seconds, coroutine function) for each job; each runs once per
    cluster under a lock."""
    return []
