"""Websocket fan-out: one reader per process follows the Redis event stream and offers each
event, serialized once, to every local subscriber's bounded queue.

Reading the stream (not pub/sub) means every process delivers every change in seq order,
and a subscriber that reconnects can be given exactly what it missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from websockets.exceptions import InvalidState
from websockets.protocol import State
from websockets.server import ServerProtocol

from inventory.actors import Actor
from inventory.live import Event, LiveStore
from inventory.model import UnitState
from web.views import public_message

log = logging.getLogger(__name__)
HEARTBEAT = None  # queue entries with no seq are always delivered


class Subscriber:
    """One websocket's outgoing messages, bounded. At first (while its backlog is sent) they
    wait in a queue of at most `maxsize` messages; once that is empty, and if the server
    lets us, the hub writes each frame straight to the connection (`DirectWriter`), with at
    most `maxsize * SLOT_BYTES` bytes waiting in its write buffer. When either bound is
    reached the subscriber is cut off, never waited for: it reconnects with its last seq
    and loses nothing."""

    __slots__ = ("actor", "dropped", "last", "queue", "writer")

    def __init__(self, maxsize: int, actor: Actor | None = None) -> None:
        self.queue: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue(maxsize)
        self.dropped = asyncio.Event()
        self.actor = actor
        self.writer: DirectWriter | None = None
        self.last = 0  # in direct mode, the last seq written

    def is_in(self, to: dict[str, str | None]) -> bool:
        """Whether this subscriber belongs to a notification's audience."""
        actor = self.actor
        if actor is None:
            return False
        if to.get("token_id"):
            return actor.token_id == to["token_id"]
        if to.get("organization_id"):
            return actor.organization_id == to["organization_id"] or actor.role == "admin"
        return bool(to.get("role")) and actor.role == to["role"]

    def offer(self, seq: int | None, data: str, frame: OutFrame | None = None) -> None:
        if self.dropped.is_set():
            return
        writer = self.writer
        if writer is not None:
            if seq is not None:
                if seq <= self.last:
                    return  # already in the backlog it was sent
                self.last = seq
            if not writer.write(frame or OutFrame(data)):
                self.dropped.set()
            return
        try:
            self.queue.put_nowait((seq, data))
        except asyncio.QueueFull:
            self.dropped.set()

    def offer_batch(self, batch: Joined) -> None:
        if self.writer is None or self.dropped.is_set() or batch.first <= self.last:
            for seq, data, out in batch.items:  # queued, or partly sent already
                self.offer(seq, data, out)
            return
        self.last = batch.items[-1][0]
        if not self.writer.write(batch):
            self.dropped.set()

    def go_direct(self, writer: DirectWriter, last: int) -> None:
        """From now on the hub writes frames itself. Call only when the queue is empty, with
        no await between that check and this call, so nothing is reordered or lost."""
        self.last = last
        self.writer = writer


SLOT_BYTES = 512  # a typical message: the direct write buffer holds maxsize of them


class OutFrame:
    """A message encoded once for every subscriber: its UTF-8 bytes, and (made on first
    use) the whole unmasked, uncompressed websocket text frame."""

    __slots__ = ("_frame", "raw")

    def __init__(self, data: str, raw: bytes | None = None) -> None:
        self.raw = raw if raw is not None else data.encode()
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            n = len(self.raw)
            if n < 126:
                head = bytes((0x81, n))
            elif n < 65536:
                head = bytes((0x81, 126)) + n.to_bytes(2, "big")
            else:
                head = bytes((0x81, 127)) + n.to_bytes(8, "big")
            self._frame = head + self.raw
        return self._frame


class Joined:
    """Consecutive stream events as one buffer of frames (made on first use)."""

    __slots__ = ("_frame", "first", "items")

    def __init__(self, items: list[tuple[int, str, OutFrame]]) -> None:
        self.items = items
        self.first = items[0][0]
        self._frame: bytes | None = None

    @property
    def raws(self) -> list[bytes]:
        return [out.raw for _, _, out in self.items]

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = b"".join(out.frame for _, _, out in self.items)
        return self._frame


class DirectWriter:
    """Writes text frames straight to one websocket's transport, skipping the ASGI send
    path and a task wake-up per message (at 1,000 subscribers that path cost more than
    everything else together; see docs/benchmarks.md). It works with uvicorn's
    websockets-sansio protocol, found behind the ASGI `send`; `for_send` returns None for
    any other server, which then uses the queue.

    Frames are whole and written synchronously, so they never interleave with the server's
    own (pings, close). Nothing is written once a close was sent or the peer is gone."""

    __slots__ = ("conn", "limit", "protocol", "transport")

    def __init__(self, protocol: Any, limit: int) -> None:
        self.protocol = protocol
        self.transport = protocol.transport
        self.conn = protocol.conn
        self.limit = limit

    @classmethod
    def for_send(cls, send: Any, limit: int) -> DirectWriter | None:
        protocol = _server_protocol(send)
        if protocol is None:
            return None
        return cls(protocol, limit)

    def write(self, out: OutFrame | Joined) -> bool:
        """False if the subscriber is too far behind (its buffer is full); True otherwise,
        also when the connection is closing and the frame is simply not sent."""
        protocol = self.protocol
        if protocol.close_sent or protocol.disconnected or self.transport.is_closing():
            return True
        if self.transport.get_write_buffer_size() > self.limit:
            return False
        conn = self.conn
        if conn.extensions:  # e.g. permessage-deflate: the frame is this connection's own
            try:
                for raw in out.raws if isinstance(out, Joined) else (out.raw,):
                    conn.send_text(raw)
            except InvalidState:
                return True
            self.transport.write(b"".join(conn.data_to_send()))
        elif conn.state is State.OPEN:
            self.transport.write(out.frame)
        return True


def _server_protocol(send: Any, depth: int = 8) -> Any | None:
    """uvicorn's websockets-sansio protocol object behind an ASGI `send` (which middleware
    and Starlette wrap in closures), or None."""
    seen: set[int] = set()
    todo = [(send, 0)]
    while todo:
        fn, level = todo.pop()
        if id(fn) in seen or level > depth:
            continue
        seen.add(id(fn))
        owner = getattr(fn, "__self__", None)
        if owner is not None and _is_sansio(owner):
            return owner
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if callable(value):
                todo.append((value, level + 1))
    return None


def _is_sansio(owner: Any) -> bool:
    conn = getattr(owner, "conn", None)
    return (type(owner).__name__ == "WebSocketsSansIOProtocol"
            and isinstance(conn, ServerProtocol)
            and hasattr(owner, "transport") and hasattr(owner, "close_sent")
            and hasattr(owner, "disconnected"))


def joined_frames(batch: list[tuple[int, dict]]) -> Joined:
    outs = []
    for seq, message in batch:
        raw = orjson.dumps(message)
        outs.append((seq, raw.decode(), OutFrame("", raw)))
    return Joined(outs)


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
        # A mirror of every unit's live state, kept by the same reader: searches read it
        # instead of Redis. `synced` is false until the first snapshot is loaded.
        self.states: dict[str, UnitState] = {}
        self.synced = False
        self.epoch: str | None = None  # the rebuild the mirror and last_seq belong to
        self._resync = True
        self._advanced = asyncio.Event()
        # Open websockets by token id, each an event set when that token is revoked.
        self.sessions: dict[str, set[asyncio.Event]] = {}
        self.on_revoke: list[Callable[[str], None]] = []
        self.on_event: list[Callable[[Event], None]] = []  # after each event is offered

    def session(self, token_id: str) -> asyncio.Event:
        """An event set when `token_id` is revoked; release it with `end_session`."""
        revoked = asyncio.Event()
        self.sessions.setdefault(token_id, set()).add(revoked)
        return revoked

    def end_session(self, token_id: str, revoked: asyncio.Event) -> None:
        events = self.sessions.get(token_id)
        if events is not None:
            events.discard(revoked)
            if not events:
                del self.sessions[token_id]

    def revoke(self, token_id: str) -> None:
        for listener in self.on_revoke:
            listener(token_id)
        for revoked in self.sessions.get(token_id, ()):
            revoked.set()

    def subscribe(self, actor: Actor | None = None) -> Subscriber:
        subscriber = Subscriber(self.queue_size, actor)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def publish(self, seq: int | None, message: dict) -> None:
        """Offer one message to everyone; it is serialized here, once."""
        raw = orjson.dumps(message)
        data, out = raw.decode(), OutFrame("", raw)
        for subscriber in tuple(self.subscribers):
            subscriber.offer(seq, data, out)

    def publish_batch(self, batch: list[tuple[int, dict]]) -> None:
        """Offer several stream events at once, each serialized once. A subscriber written
        to directly gets them in one write (one system call), so a reader that fell behind
        catches up with fewer, larger writes."""
        joined = joined_frames(batch)
        public: Joined | None = None  # for anonymous readers, made only if there are any
        for subscriber in tuple(self.subscribers):
            if subscriber.actor is None:
                if public is None:
                    public = joined_frames([(seq, public_message(m)) for seq, m in batch])
                subscriber.offer_batch(public)
            else:
                subscriber.offer_batch(joined)

    def replaced(self, epoch: str | None) -> None:
        """The live state now comes from rebuild `epoch`: reset, unless already done."""
        if epoch != self.epoch:
            self.reset()

    def reset(self) -> None:
        """The live state was rebuilt: cut everyone off so they resync with a snapshot,
        and reload the mirror."""
        self.resets += 1
        self.synced = False
        self._resync = True
        for subscriber in tuple(self.subscribers):
            subscriber.dropped.set()

    async def run(self) -> None:
        """Follow the stream until cancelled, surviving Redis outages."""
        delay = 0.1
        while True:
            try:
                if self._resync:
                    await self._load_snapshot()
                events = await self.live.read_new(self.last_id, block_ms=1000)
                if events and events[0].seq != self.last_seq + 1:
                    # Only a rebuild makes seq jump: subscribers hold the old numbering.
                    log.warning("stream gap after seq %d; resetting", self.last_seq)
                    self.reset()
                    continue
                if not events:  # idle: notice a rebuild before the next change shows it
                    self.replaced(await self.live.epoch())
                messages = await self.encode(events) if events else []
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis down: keep trying, with backoff
                log.warning("event stream read failed: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            for event in events:
                self.states[event.unit.id] = event.unit
                self.last_id = f"{event.seq}-0"
                self.last_seq = event.seq
            if events:
                self.publish_batch([(e.seq, m) for e, m in zip(events, messages)])
            for event in events:
                for listener in self.on_event:
                    listener(event)
            if events:
                self._signal()

    async def _load_snapshot(self) -> None:
        epoch = await self.live.epoch()
        if epoch is None:
            raise RuntimeError("live state not built yet")
        seq, states = await self.live.snapshot()
        self.epoch = epoch
        self.states = {s.id: s for s in states}
        self.last_seq, self.last_id = seq, f"{seq}-0"
        self._resync = False
        self.synced = True
        self._signal()

    def _signal(self) -> None:
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    async def in_epoch(self, epoch: str | None, timeout: float) -> bool:
        """Wait until the hub streams rebuild `epoch`, so a new subscriber is not cut off
        by a reset it does not need; False if it did not within `timeout`."""
        return await self._until(lambda: self.synced and self.epoch == epoch, timeout)

    async def caught_up(self, seq: int, timeout: float) -> bool:
        """Wait until the mirror reflects `seq`; False if it did not within `timeout`."""
        return await self._until(lambda: self.synced and self.last_seq >= seq, timeout)

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

    async def notifications(self, channel: str) -> None:
        """Deliver targeted messages (pub/sub) to the local subscribers they are for."""
        while True:
            try:
                async with self.live.redis.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    async for raw in pubsub.listen():
                        if raw.get("type") != "message":
                            continue
                        envelope = orjson.loads(raw["data"])
                        if "revoked" in envelope:
                            self.revoke(envelope["revoked"])
                            continue
                        raw = orjson.dumps(envelope["message"])
                        data, out = raw.decode(), OutFrame("", raw)
                        for subscriber in tuple(self.subscribers):
                            if subscriber.is_in(envelope["to"]):
                                subscriber.offer(HEARTBEAT, data, out)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("notification channel failed: %s", error)
                await asyncio.sleep(1.0)

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.publish(HEARTBEAT, {"type": "heartbeat", "seq": self.last_seq})
