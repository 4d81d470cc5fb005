"""Websocket subscribers for the broadcast benchmarks, spread over several processes.

Each process holds many connections on one event loop and does as little as it can per
message (a minimal RFC 6455 client on asyncio.Protocol: no per-message task, no masking of
received frames), so that what is measured is the server, not the clients. For each `seq`
a process notes how many of its connections received it and when the last one did (the
system-wide CLOCK_MONOTONIC, comparable across processes on one host).

The same harness serves the app and the bare baseline server, so their numbers compare.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing as mp
import os
import struct
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

import orjson

CONNECT_AT_ONCE = 8  # per process: the app's Redis pool (100) must not run dry during setup


@dataclass
class Tally:
    """What one client process saw, sent back to the parent when it stops."""

    connected: int = 0
    per_seq: dict[int, list[float]] = field(default_factory=dict)  # seq -> [count, last t]
    out_of_order: int = 0
    closed: dict[int, int] = field(default_factory=dict)  # close code -> connections
    sizes: list[int] = field(default_factory=list)


class Subscriber(asyncio.Protocol):
    """One websocket connection, parsing unmasked server frames as they arrive."""

    def __init__(self, request: bytes, tally: Tally, ready: asyncio.Event) -> None:
        self.request = request
        self.tally = tally
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.open = False
        self.greeted = False  # got its first message (snapshot or hello)
        self.last_seq = 0
        self.leaving = False  # we close it ourselves at the end
        self.closed_by_server = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"handshake refused: {bytes(self.buffer[:200])!r}")
            del self.buffer[:end + 4]
            self.open = True
        self._frames(now)

    def _frames(self, now: float) -> None:
        buf = self.buffer
        i, size = 0, len(buf)
        while size - i >= 2:
            opcode, length = buf[i] & 0x0F, buf[i + 1] & 0x7F
            head = 2
            if length == 126:
                if size - i < 4:
                    break
                length, head = struct.unpack_from("!H", buf, i + 2)[0], 4
            elif length == 127:
                if size - i < 10:
                    break
                length, head = struct.unpack_from("!Q", buf, i + 2)[0], 10
            if size - i - head < length:
                break
            payload = bytes(buf[i + head:i + head + length])
            i += head + length
            self._frame(opcode, payload, now)
        del buf[:i]

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x1:
            if not self.greeted:
                self.greeted = True
                self.ready.set()
            if not payload.startswith(b'{"type":"unit"'):
                return  # snapshot, hello, heartbeat
            seq = orjson.loads(payload)["seq"]
            if seq <= self.last_seq:
                self.tally.out_of_order += 1
            self.last_seq = seq
            seen = self.tally.per_seq.get(seq)
            if seen is None:
                self.tally.per_seq[seq] = [1, now]
                self.tally.sizes.append(len(payload))
            else:
                seen[0] += 1
                seen[1] = now
        elif opcode == 0x9:  # ping: answer with a masked pong
            self._send(0xA, payload)
        elif opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.tally.closed[code] = self.tally.closed.get(code, 0) + 1
            self.closed_by_server = True
            self._send(0x8, payload[:2])
            if self.transport is not None:
                self.transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[n % 4] for n, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        self.ready.set()
        if self.open and not self.leaving and not self.closed_by_server:
            self.tally.closed[1006] = self.tally.closed.get(1006, 0) + 1


def upgrade_request(url: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    return parts.hostname or "127.0.0.1", parts.port or 80, request


async def hold(url: str, count: int, ready: Any, last_seq: Any, stop: Any,
               done: Any) -> Tally:
    """Open `count` connections, say ready when each has its first message, then keep them
    until `stop`; say `done` once every open connection has seen `last_seq` (when set)."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    host, port, request = upgrade_request(url)
    subs: list[Subscriber] = []
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def connect() -> None:
        async with gate:
            greeted = asyncio.Event()
            _, sub = await loop.create_connection(
                lambda: Subscriber(request, tally, greeted), host, port)
            subs.append(sub)
            await asyncio.wait_for(greeted.wait(), 60)

    await asyncio.gather(*(connect() for _ in range(count)))
    tally.connected = sum(1 for s in subs if s.open and s.greeted)
    ready.release()
    while not stop.is_set():
        await asyncio.sleep(0.05)
        target = last_seq.value
        if target and all(s.last_seq >= target for s in subs if s.transport
                          and not s.transport.is_closing()):
            done.set()
    for sub in subs:
        sub.leaving = True
        if sub.transport is not None:
            sub.transport.close()
    return tally


def run_process(url: str, count: int, ready: Any, last_seq: Any, stop: Any, done: Any,
                out: Connection) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    tally = asyncio.run(hold(url, count, ready, last_seq, stop, done))
    out.send(tally)
    out.close()


class Crowd:
    """N subscribers of `url` over `processes` client processes."""

    def __init__(self, url: str, subscribers: int, processes: int) -> None:
        ctx = mp.get_context("spawn")
        self.ready = ctx.Semaphore(0)
        self.last_seq = ctx.Value("q", 0)
        self.stop = ctx.Event()
        self.processes = min(processes, subscribers)
        self.done = [ctx.Event() for _ in range(self.processes)]
        self.pipes: list[Connection] = []
        self.workers: list[Any] = []
        share = [subscribers // self.processes + (1 if i < subscribers % self.processes else 0)
                 for i in range(self.processes)]
        for i, count in enumerate(share):
            reader, writer = ctx.Pipe(duplex=False)
            worker = ctx.Process(target=run_process, daemon=True, args=(
                url, count, self.ready, self.last_seq, self.stop, self.done[i], writer))
            worker.start()
            self.pipes.append(reader)
            self.workers.append(worker)

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for _ in self.workers:
            if not self.ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise TimeoutError("subscribers did not all connect in time")

    def wait_delivered(self, last_seq: int, timeout: float) -> bool:
        """Wait until every open subscriber has seen `last_seq`; False on timeout."""
        self.last_seq.value = last_seq
        deadline = time.monotonic() + timeout
        return all(done.wait(max(0.0, deadline - time.monotonic())) for done in self.done)

    def finish(self) -> Tally:
        """Stop every process and merge what they saw."""
        self.stop.set()
        merged = Tally()
        for pipe, worker in zip(self.pipes, self.workers):
            tally: Tally = pipe.recv() if pipe.poll(60) else Tally()
            worker.join(10)
            merged.connected += tally.connected
            merged.out_of_order += tally.out_of_order
            merged.sizes += tally.sizes
            for code, n in tally.closed.items():
                merged.closed[code] = merged.closed.get(code, 0) + n
            for seq, (count, at) in tally.per_seq.items():
                seen = merged.per_seq.setdefault(seq, [0, 0.0])
                seen[0] += count
                seen[1] = max(seen[1], at)
        return merged


@dataclass
class Delivery:
    """Per update: latency to the last subscriber; and what was lost."""

    latencies_ms: list[float]
    lost: int  # (subscriber, acknowledged update) pairs never received
    message_bytes: int


def delivery(sent: dict[int, float], tally: Tally, subscribers: int) -> Delivery:
    """`sent`: acknowledged seq -> monotonic send time."""
    latencies, lost = [], 0
    for seq, at in sent.items():
        count, last = tally.per_seq.get(seq, (0, 0.0))
        lost += subscribers - int(count)
        if count:
            latencies.append((last - at) * 1000)
    sizes = sorted(tally.sizes)
    return Delivery(latencies, lost, sizes[len(sizes) // 2] if sizes else 0)
