"""One reader per process follows the Redis event stream, keeps the process's mirror current,
and hands each batch of events to the listeners registered with it (the websocket fan-out,
metrics, ...).

Reading the stream (not pub/sub) means every process sees every change in seq order, and a
gap in seq can only mean the live state was rebuilt: then the mirror is reloaded from a
snapshot and every listener is told to reset.

How current the reader is: `current_at` is the last time (monotonic) a read returned
everything the stream held, so `behind_for()` grows while the reader is down (Redis
unreachable), stuck (a listener that never returns) or lagging (every read a full batch);
`/readyz` fails and `/metrics` shows it, and heartbeats let clients see it too.

A listener that raises is logged and counted (`listener_status`, `on_listener_error`) and the
others still get the batch; the loop goes on with the next one. A listener that must not
lose a batch (the fan-out) handles its own failure, e.g. by cutting its subscribers off so
they resume from their last seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from inventory.live import Event, LiveStore
from inventory.mirror import Mirror

log = logging.getLogger(__name__)
BLOCK_MS = 1000
READ_COUNT = 500
FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 2.0

Listener = Callable[[list[Event]], Awaitable[None]]
ErrorListener = Callable[[str, BaseException], None]


@dataclass
class ListenerStatus:
    """How often one listener raised, and the type of its last exception (the message goes
    to the log, not to `/readyz`)."""

    errors: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"errors": self.errors, "last_error": self.last_error}


class StreamReader:
    def __init__(self, live: LiveStore, mirror: Mirror) -> None:
        self.live = live
        self.mirror = mirror
        self.last_id = "0-0"
        self.resets = 0
        self.listener_status: dict[str, ListenerStatus] = {}
        self.on_listener_error: list[ErrorListener] = []
        self._listeners: dict[str, Listener] = {}
        self._reset_listeners: list[Callable[[], None]] = []
        self._resync = True
        self.current_at = time.monotonic()  # the last read that left nothing unread

    def behind_for(self) -> float:
        """Seconds since the reader last had everything the stream held (about BLOCK_MS/1000
        at most while healthy and idle; more while down, stuck or lagging)."""
        return max(0.0, time.monotonic() - self.current_at)

    async def lag(self) -> int:
        """How many seqs Redis has that this process has not delivered yet (0 when current)."""
        return max(0, await self.live.current_seq() - self.mirror.last_seq)

    def listen(self, name: str, listener: Listener) -> None:
        """Hand every later batch to `listener`, after the mirror has taken it in; listeners
        are called in the order they were added."""
        if name in self._listeners:
            raise ValueError(f"a listener named {name!r} is already registered")
        self._listeners[name] = listener
        self.listener_status[name] = ListenerStatus()

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the live state was rebuilt (seqs renumbered)."""
        self._reset_listeners.append(listener)

    def replaced(self, epoch: str | None) -> None:
        """The live state now comes from rebuild `epoch`: reset, unless already done."""
        if epoch != self.mirror.epoch:
            self.reset()

    def reset(self) -> None:
        """The live state was rebuilt: reload the mirror, and tell every reset listener."""
        self.resets += 1
        self.mirror.invalidate()
        self._resync = True
        for listener in self._reset_listeners:
            try:
                listener()
            except Exception as error:
                log.error("reset listener %r failed", listener, exc_info=error)

    async def run(self) -> None:
        """Follow the stream until cancelled, surviving Redis outages (with backoff)."""
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                events = await self._read()
                delay = FIRST_RETRY_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis down: keep trying
                log.warning("event stream read failed: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
                continue
            if events:
                await self._deliver(events)

    async def _read(self) -> list[Event]:
        """The next batch, or [] when idle or after a reset."""
        if self._resync:
            await self._load_snapshot()
        events = await self.live.read_new(self.last_id, block_ms=BLOCK_MS, count=READ_COUNT)
        if len(events) < READ_COUNT:  # nothing left unread when this read returned
            self.current_at = time.monotonic()
        if events and events[0].seq != self.mirror.last_seq + 1:
            # Only a rebuild makes seq jump: listeners hold the old numbering.
            log.warning("stream gap after seq %d; resetting", self.mirror.last_seq)
            self.reset()
            return []
        if not events:  # idle: notice a rebuild before the next change shows it
            self.replaced(await self.live.epoch())
        return events

    async def _load_snapshot(self) -> None:
        epoch = await self.live.epoch()
        if epoch is None:
            raise RuntimeError("live state not built yet")
        seq, states = await self.live.snapshot()
        self.mirror.load(epoch, seq, states)
        self.last_id = f"{seq}-0"
        self._resync = False

    async def _deliver(self, events: list[Event]) -> None:
        self.last_id = f"{events[-1].seq}-0"
        self.mirror.apply(events)
        for name, listener in tuple(self._listeners.items()):
            try:
                await listener(events)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - one listener never stops the others
                self._failed(name, error)

    def _failed(self, name: str, error: Exception) -> None:
        status = self.listener_status[name]
        status.errors += 1
        status.last_error = type(error).__name__
        log.error("stream listener %s failed (%d so far); the others still got the batch",
                  name, status.errors, exc_info=error)
        for hook in self.on_listener_error:
            with contextlib.suppress(Exception):
                hook(name, error)
