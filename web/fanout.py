"""Websocket fan-out: every stream batch the reader hands over is serialized once and offered
to each of this process's subscribers, whose outgoing messages are bounded.

Heartbeats carry two seqs: `seq`, the last this process delivered, and `latest`, the last
Redis itself has (None when Redis cannot be asked). A client whose last seq is still below
the `latest` of the heartbeat before, or that hears no heartbeat for two intervals, knows
its feed is broken (this process's reader is down, stuck or lagging, or the connection is
dead) and reconnects with `after=`; the pages then say "Not live" instead of "Live".

If a batch cannot be encoded (SQL down while the directory is read), every subscriber is cut
off rather than silently skipping those seqs: each reconnects with its last seq and loses
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from inventory.actors import Actor
from inventory.live import Event
from inventory.mirror import Mirror
from web.audiences import PUBLIC, STAFF, audience_of, message_for
from web.direct_write import DirectWriter
from web.frames import Joined, OutFrame, encoded, joined_frames

HEARTBEAT = None  # queue entries with no seq are always delivered
Encoder = Callable[[list[Event]], Awaitable[list[dict]]]
LatestSeq = Callable[[], Awaitable[int]]


class Subscriber:
    """One websocket's outgoing messages, bounded. At first (while its backlog is sent) they
    wait in a queue of at most `maxsize` messages; once that is empty, and if the server
    lets us, the fan-out writes each frame straight to the connection (`DirectWriter`), with
    at most `maxsize * SLOT_BYTES` bytes waiting in its write buffer. When either bound is
    reached the subscriber is cut off, never waited for: it reconnects with its last seq
    and loses nothing."""

    __slots__ = ("actor", "audience", "dropped", "last", "queue", "writer")

    def __init__(self, maxsize: int, actor: Actor | None = None) -> None:
        self.queue: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue(maxsize)
        self.dropped = asyncio.Event()
        self.actor = actor
        self.audience = audience_of(actor)  # which encoding of shared messages it gets
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
        """From now on the fan-out writes frames itself. Call only when the queue is empty,
        with no await between that check and this call, so nothing is reordered or lost."""
        self.last = last
        self.writer = writer


class Fanout:
    """This process's subscribers, and what is offered to them."""

    def __init__(self, mirror: Mirror, encode: Encoder, queue_size: int,
                 heartbeat_seconds: float, latest: LatestSeq | None = None) -> None:
        self.mirror = mirror
        self.encode = encode
        self.latest = latest  # the seq Redis has now, for heartbeats
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        self.subscribers: set[Subscriber] = set()

    def subscribe(self, actor: Actor | None = None) -> Subscriber:
        subscriber = Subscriber(self.queue_size, actor)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def publish(self, seq: int | None, message: dict) -> None:
        """Offer one message to everyone, shaped for each audience; it is serialized here,
        once per audience."""
        frames = {audience: encoded(message_for(message, audience))
                  for audience in (PUBLIC, STAFF)}
        for subscriber in tuple(self.subscribers):
            data, out = frames[subscriber.audience]
            subscriber.offer(seq, data, out)

    def notify(self, to: dict[str, str | None], message: dict) -> None:
        """Offer a targeted message to the subscribers in its audience."""
        data, out = encoded(message)
        for subscriber in tuple(self.subscribers):
            if subscriber.is_in(to):
                subscriber.offer(HEARTBEAT, data, out)

    def publish_batch(self, batch: list[tuple[int, dict]]) -> None:
        """Offer several stream events at once, each serialized once per audience (public,
        staff) that has subscribers, never once per subscriber. A subscriber written
        to directly gets them in one write (one system call), so a reader that fell behind
        catches up with fewer, larger writes."""
        joined: dict[str, Joined] = {}  # one encoding per audience, made only when needed
        for subscriber in tuple(self.subscribers):
            audience = subscriber.audience
            frames = joined.get(audience)
            if frames is None:
                frames = joined[audience] = joined_frames(
                    [(seq, message_for(m, audience)) for seq, m in batch])
            subscriber.offer_batch(frames)

    async def deliver(self, events: list[Event]) -> None:
        """The stream reader's listener: encode the batch and offer it to everyone. If it
        cannot be encoded, cut everyone off (they resume from their last seq) and raise.
        With no subscriber nothing is encoded: one who joins later starts from its own
        snapshot or backlog, never from these messages."""
        if not self.subscribers:
            return
        try:
            messages = await self.encode(events)
        except Exception:
            self.drop_all()
            raise
        self.publish_batch([(e.seq, m) for e, m in zip(events, messages)])

    def drop_all(self) -> None:
        """Cut every subscriber off; each reconnects with its last seq (or, after a rebuild,
        gets a new snapshot)."""
        for subscriber in tuple(self.subscribers):
            subscriber.dropped.set()

    async def heartbeats(self) -> None:
        """Until cancelled: tell every subscriber the last seq now and then."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.publish(HEARTBEAT, await self.heartbeat())

    async def heartbeat(self) -> dict:
        """The heartbeat message now. `latest` is read after `seq`, so a current process
        always has seq <= latest; None when Redis does not answer (the feed is not live)."""
        seq = self.mirror.last_seq
        latest: int | None = None
        if self.latest is not None:
            try:
                latest = await asyncio.wait_for(self.latest(), self.heartbeat_seconds)
            except Exception:  # noqa: BLE001 - Redis down or slow: say we do not know
                latest = None
        return {"type": "heartbeat", "seq": seq, "latest": latest}
