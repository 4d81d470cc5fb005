"""The wall clock, in one place: rules take `now` or a `Clock`, and only the composition root
(inventory/system.py) hands out this one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
