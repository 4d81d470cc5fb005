"""Websocket fan-out: one reader per process follows the Redis event stream and offers each
event, serialized once, to every local subscriber's bounded queue.

Reading the stream (not pub/sub) means every process delivers every change in seq order,
and a subscriber that reconnects can be given exactly what it missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson

from inventory.live import Event, LiveStore

log = logging.getLogger(__name__)
HEARTBEAT = None  # queue entries with no seq are always delivered


class Subscriber:
    """One websocket's outgoing queue, bounded at `maxsize` messages (memory bound: maxsize
    times the message size). When it is full the subscriber is cut off, never waited for:
    it reconnects with its last seq and loses nothing."""

    __slots__ = ("queue", "dropped")

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue(maxsize)
        self.dropped = asyncio.Event()

    def offer(self, seq: int | None, data: str) -> None:
        if self.dropped.is_set():
            return
        try:
            self.queue.put_nowait((seq, data))
        except asyncio.QueueFull:
            self.dropped.set()


class Hub:
    """Delivers stream events and heartbeats to this process's subscribers."""

    def __init__(self, live: LiveStore,
                 encode: Callable[[list[Event]], Awaitable[list[dict]]], queue_size: int,
                 heartbeat_seconds: float) -> None:
        self.live = live
        self.encode = encode
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        self.subscribers: set[Subscriber] = set()
        self.last_id = "0-0"
        self.last_seq = 0
        self.resets = 0

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(self.queue_size)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def publish(self, seq: int | None, message: dict) -> None:
        """Offer one message to everyone; it is serialized here, once."""
        data = orjson.dumps(message).decode()
        for subscriber in tuple(self.subscribers):
            subscriber.offer(seq, data)

    def reset(self) -> None:
        """The live state was rebuilt: cut everyone off so they resync with a snapshot."""
        self.last_id = "0-0"
        self.resets += 1
        for subscriber in tuple(self.subscribers):
            subscriber.dropped.set()

    async def run(self) -> None:
        """Follow the stream until cancelled, surviving Redis outages."""
        self.last_id = await self._start_id()
        self.last_seq = int(self.last_id.split("-", 1)[0])
        delay = 0.1
        while True:
            try:
                events = await self.live.read_new(self.last_id, block_ms=1000)
                messages = await self.encode(events) if events else []
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis down: keep trying, with backoff
                log.warning("event stream read failed: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            for event, message in zip(events, messages):
                self.last_id = f"{event.seq}-0"
                self.last_seq = event.seq
                self.publish(event.seq, message)

    async def _start_id(self) -> str:
        while True:
            try:
                return await self.live.last_stream_id()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("event stream unreachable: %s", error)
                await asyncio.sleep(0.5)

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.publish(HEARTBEAT, {"type": "heartbeat", "seq": self.last_seq})
