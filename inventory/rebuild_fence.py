"""Closing the window between a change applied in Redis and its record in SQL, when the live
state is rebuilt inside it.

A change is applied in Redis, then recorded, then acknowledged. Should Redis lose its keys in
between, the rebuild reads SQL; if it reads before the change's record commits, the rebuilt
live state lacks a change that is then acknowledged. Every seq handed out before a rebuild
is at or below the seq that rebuild starts from (`seq_rebuild_gap` above the highest
recorded seq), so after recording, a change whose seq is at or below the current live
state's floor was applied before that rebuild and may be missing from it. Its unit's
recorded state (counts and active holds) is then put back, unless the live unit already has
that change or a later one (`catch_up.lua`), before the change is acknowledged.

The floor is read once per group of concurrent writers, by a read that starts after each of
them recorded (`FreshRead`), so the common case costs one small Redis read per group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory import audit
from inventory.live import LiveStore

log = logging.getLogger(__name__)
T = TypeVar("T")


class FreshRead(Generic[T]):
    """A value read after the caller asked: callers that ask while no read has started yet
    share the next one; a caller never gets a read that started before it asked. Each caller
    waits on a future of its own, so one that goes away (cancelled) takes no read from the
    others, with no shield (and its extra future and callbacks) per caller."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._waiting: list[asyncio.Future[T]] = []
        self._reader: asyncio.Task[None] | None = None

    async def get(self) -> T:
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(answer)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_all())
        return await answer

    async def _read_all(self) -> None:
        while self._waiting:
            waiting, self._waiting = self._waiting, []  # later callers wait for the next read
            try:
                value = await self._read()
            except Exception as error:  # noqa: BLE001 - handed to every waiting caller
                for answer in waiting:
                    if not answer.done():
                        answer.set_exception(error)
            except BaseException:  # cancelled: so are the waiting callers
                for answer in waiting + self._waiting:
                    answer.cancel()
                self._waiting = []
                raise
            else:
                for answer in waiting:
                    if not answer.done():
                        answer.set_result(value)


class RebuildFence:
    """Makes sure a recorded change is in the live state before it is acknowledged, even if
    the live state was rebuilt between the change and its record."""

    def __init__(self, live: LiveStore, sessions: async_sessionmaker,
                 ensure_ready: Callable[[], Awaitable[str]]) -> None:
        self.live = live
        self.sessions = sessions
        self.ensure_ready = ensure_ready
        self._floor = FreshRead(live.rebuild_floor)

    async def settle(self, changed: Iterable[tuple[str, int]]) -> None:
        """Call after recording changes (unit id, seq) and before acknowledging them."""
        changed = list(changed)
        if not changed:
            return
        floor = await self._floor.get()
        if floor is None:  # being rebuilt now: wait for it (or do it), then judge
            await self.ensure_ready()
            floor = await self._floor.get()
        late = sorted({unit for unit, seq in changed if floor is None or seq <= floor})
        if late:
            await self.catch_up(late)

    async def catch_up(self, unit_ids: list[str]) -> None:
        """Put these units' recorded states back where the live state is older."""
        states, _ = await audit.persisted_states(self.sessions, unit_ids)
        holds = await audit.active_holds(self.sessions, unit_ids)
        for state in states:
            seq = await self.live.catch_up(state, [h for h in holds if h.unit_id == state.id])
            if seq:
                log.warning("unit %s: change %d was recorded after the live state was rebuilt "
                            "without it; put back as seq %d", state.id, state.seq, seq)
