"""Limits every feed parser keeps, so one hostile document cannot stall the service.

A parser runs off the event loop (`off_loop`, a worker thread) and checks a `Deadline` as it
goes, so it stops itself once its time is up; element, depth and row caps live beside each
parser. `off_loop` also stops waiting a moment after the deadline (the answer is a refusal);
a thread cannot be killed, but the caps bound what it can still spend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from inventory.errors import Invalid

T = TypeVar("T")
DEFAULT_SECONDS = 5.0
CHECK_EVERY = 256  # elements or rows between two looks at the clock


class Deadline:
    """Raises Invalid once `seconds` have passed since it was made."""

    def __init__(self, seconds: float = DEFAULT_SECONDS, what: str = "the document") -> None:
        self.seconds = seconds
        self.what = what
        self.at = time.monotonic() + seconds
        self.ticks = 0

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise Invalid(f"{self.what} took longer than {self.seconds:g} seconds to read; "
                          f"nothing was changed")

    def tick(self) -> None:
        """Cheap enough to call per element: looks at the clock every CHECK_EVERY calls."""
        self.ticks += 1
        if self.ticks % CHECK_EVERY == 0:
            self.check()


async def off_loop(work: Callable[[Deadline], T], seconds: float = DEFAULT_SECONDS,
                   what: str = "the document") -> T:
    """`work(deadline)` in a worker thread; the event loop keeps serving meanwhile."""
    deadline = Deadline(seconds, what)
    try:
        return await asyncio.wait_for(asyncio.to_thread(work, deadline), seconds + 1.0)
    except TimeoutError:
        raise Invalid(f"{what} took longer than {seconds:g} seconds to read; nothing was "
                      f"changed") from None
    except RecursionError:
        raise Invalid(f"{what} is nested too deeply to read") from None
