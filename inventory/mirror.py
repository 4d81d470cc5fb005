"""This process's mirror of every unit's live state, kept current by the stream reader, so a
search reads a dict instead of asking Redis for every unit.

The mirror knows which rebuild of the live state (`epoch`) it holds and the last seq it
reflects; `caught_up(seq)` lets a reader wait until a change acknowledged before its request
began is in, so a search never shows a count older than what the same user just saw
acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from inventory.live import Event, LiveStore
from inventory.model import UnitState

CATCH_UP_SECONDS = 0.25


class Mirror:
    """Written only by the stream reader; read by anyone in the process. `synced` is false
    until a snapshot is loaded and again from a reset until the next one."""

    def __init__(self) -> None:
        self.states: dict[str, UnitState] = {}
        self.synced = False
        self.epoch: str | None = None  # the rebuild `states` and `last_seq` belong to
        self.last_seq = 0
        self._advanced = asyncio.Event()

    def load(self, epoch: str, seq: int, states: Iterable[UnitState]) -> None:
        """Replace everything with a snapshot of rebuild `epoch` taken at `seq`."""
        self.epoch = epoch
        self.states = {s.id: s for s in states}
        self.last_seq = seq
        self.synced = True
        self._signal()

    def apply(self, events: list[Event]) -> None:
        """Take in consecutive stream events (the reader checked there is no gap)."""
        for event in events:
            self.states[event.unit.id] = event.unit
            self.last_seq = event.seq
        if events:
            self._signal()

    def invalidate(self) -> None:
        """The live state was rebuilt: what is here is of the old numbering until reloaded."""
        self.synced = False

    async def caught_up(self, seq: int, timeout: float) -> bool:
        """Wait until the mirror reflects `seq`; False if it did not within `timeout`."""
        return await self._until(lambda: self.synced and self.last_seq >= seq, timeout)

    async def in_epoch(self, epoch: str | None, timeout: float) -> bool:
        """Wait until the mirror holds rebuild `epoch` (so a new subscriber is not cut off by
        a reset it does not need); False if it did not within `timeout`."""
        return await self._until(lambda: self.synced and self.epoch == epoch, timeout)

    async def current(self, live: LiveStore, unit_ids: Iterable[str]) -> dict[str, UnitState]:
        """Every unit's live state as of now: the mirror once it has caught up with the current
        seq (so a search sees every change acknowledged before it began), else Redis itself."""
        if await self.caught_up(await live.current_seq(), CATCH_UP_SECONDS):
            return self.states
        return await live.units(unit_ids)

    def _signal(self) -> None:
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def _until(self, done: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._advanced.wait(), remaining)
            except TimeoutError:
                return False
        return True
