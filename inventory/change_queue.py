"""Single changes that arrive together go to Redis together: one `change.lua` call carries
every change waiting when the previous call returns, each still atomic on its own and applied
in arrival order. A busy process then pays one round trip and one script call per group
instead of per update (the client's per-call cost was the largest part of a single update's
CPU, docs/benchmarks.md); an idle one sends each change at once, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from inventory.errors import LiveStateUnavailable
from inventory.model import UnitState
from inventory.scripts import Change

Send = Callable[[Sequence[Change]], Awaitable[list[UnitState | Exception]]]
MAX_GROUP = 200  # changes per script call: a script blocks Redis while it runs
STOPPED = "live store unreachable: this process is shutting down"


class ChangeQueue:
    def __init__(self, send: Send, max_group: int = MAX_GROUP) -> None:
        self._send = send
        self._max_group = max_group
        self._waiting: list[tuple[Change, asyncio.Future[UnitState]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def apply(self, change: Change) -> UnitState:
        """The unit's state right after `change`, or the error that refused it alone. As with
        any lost reply, a caller that stops waiting does not know whether it was applied."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[UnitState] = loop.create_future()
        self._waiting.append((change, answer))
        if self._sender is None:
            self._sender = loop.create_task(self._send_waiting())
        return await answer

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[:self._max_group]
                del self._waiting[:self._max_group]
                try:
                    answers = await self._send([change for change, _ in group])
                except Exception as error:  # noqa: BLE001 - each caller gets it
                    for _, future in group:
                        _settle(future, error)
                    continue
                except BaseException:  # cancelled mid-call: applied or not, nobody knows
                    for _, future in group:
                        _settle(future, LiveStateUnavailable(STOPPED))
                    raise
                for (_, future), result in zip(group, answers):
                    _settle(future, result)
        finally:
            self._sender = None
            left, self._waiting = self._waiting, []
            for _, future in left:  # only when this task was cancelled (shutdown)
                _settle(future, LiveStateUnavailable(STOPPED))


def _settle(future: asyncio.Future[UnitState], result: UnitState | Exception) -> None:
    if future.done():  # its caller went away
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
