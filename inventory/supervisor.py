"""Every long-lived task of one process, watched: a crash is logged, counted and followed by a
restart after a short backoff, so one bad message or outage never silently ends a loop that
the rest of the process still depends on (the stream reader, heartbeats, scheduled jobs, the
audit writer, the demand outbox).

A task is a coroutine function that is meant to run until cancelled. Returning is treated
like a crash (it too is restarted), because nothing here is meant to finish on its own.
`status()` is what `/readyz` and `/metrics` report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
# A task that ran this long since its last start is healthy again: its backoff starts over.
HEALTHY_SECONDS = 30.0

Task = Callable[[], Awaitable[None]]
CrashListener = Callable[[str, BaseException], None]


@dataclass
class TaskStatus:
    """One supervised task as `/readyz` shows it. `last_error` names the exception's type only:
    the message (which may quote data) goes to the log."""

    running: bool = False
    restarts: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"running": self.running, "restarts": self.restarts,
                "last_error": self.last_error}


class Supervisor:
    """Runs named long-lived tasks and restarts each one that crashes, with a backoff that
    doubles from `first_backoff` up to `max_backoff` while it keeps crashing. Names are
    unique: starting a name twice is a programming error."""

    def __init__(self, first_backoff: float = FIRST_BACKOFF_SECONDS,
                 max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.on_crash: list[CrashListener] = []  # called with (task name, error) per crash
        self._status: dict[str, TaskStatus] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    def start(self, name: str, task: Task) -> None:
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already supervised")
        if self._stopping:
            raise RuntimeError(f"task {name!r} not started: the supervisor is stopping")
        self._status[name] = TaskStatus()
        self._tasks[name] = asyncio.get_running_loop().create_task(
            self._keep_running(name, task), name=f"supervised:{name}")

    def status(self) -> dict[str, TaskStatus]:
        return dict(self._status)

    def all_running(self) -> bool:
        return all(s.running for s in self._status.values())

    async def _keep_running(self, name: str, task: Task) -> None:
        status = self._status[name]
        loop = asyncio.get_running_loop()
        backoff = self.first_backoff
        while True:
            started = loop.time()
            status.running = True
            try:
                await task()
                error: BaseException = RuntimeError(f"task {name!r} returned")
            except asyncio.CancelledError:
                status.running = False
                raise
            except Exception as crash:  # noqa: BLE001 - the whole point: log, count, restart
                error = crash
            status.running = False
            status.restarts += 1
            status.last_error = type(error).__name__
            if loop.time() - started > HEALTHY_SECONDS:
                backoff = self.first_backoff
            log.error("task %s crashed (%d so far); restarting in %.1fs", name,
                      status.restarts, backoff, exc_info=error)
            for listener in self.on_crash:
                with contextlib.suppress(Exception):
                    listener(name, error)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def stop(self, timeout: float) -> list[str]:
        """Cancel every task and wait at most `timeout` seconds; returns the names of those
        that had not finished (a task stuck in a library's cleanup must not hold up a
        deploy)."""
        self._stopping = True
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        if not tasks:
            return []
        _, stuck = await asyncio.wait(tasks.values(), timeout=timeout)
        names = [name for name, task in tasks.items() if task in stuck]
        for name in names:
            log.warning("task %s did not stop within %ss", name, timeout)
        return names
