"""The wall clock, in one place: rules take `now` or a `Clock`, and only the composition root
(inventory/system.py) hands out this one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class SimulatedClock:
    """A clock that a simulation moves (`bedfinder simulate`, in `simulation_mode` only).

    Until it is first set it reads the wall clock. It only moves forward: a simulation's
    events happen in time order, and a clock that went back would let a hold expire before
    it was placed. Never built in production (simulation_mode false)."""

    def __init__(self) -> None:
        self._now: datetime | None = None

    def __call__(self) -> datetime:
        return self._now or utcnow()

    def set(self, now: datetime) -> datetime:
        """Move to `now` (aware); ValueError, and no change, if that is before the clock."""
        if now.tzinfo is None:
            raise ValueError(f"{now.isoformat()} has no time zone; give one, e.g. Z")
        current = self()
        if self._now is not None and now < current:
            raise ValueError(f"the simulated clock reads {current.isoformat()}; it only "
                             f"moves forward, not back to {now.isoformat()}")
        self._now = now.astimezone(UTC)
        return self._now
