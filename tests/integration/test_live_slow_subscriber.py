"""A subscriber that stops reading is cut off; it never delays the others."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from inventory.config import Settings
from tests.conftest import Server, serve
from tests.integration.live_helpers import inventory_url, provider_units

QUEUE = 20
READERS = 100
CHANGES = 100
NOTE = "n" * 500  # the longest note: bigger messages fill the stalled client's buffers sooner
FLOODERS = 8
STUCK = 10  # queued messages that show its sender waits on the socket


@pytest.fixture
async def small_queues(settings: Settings) -> AsyncIterator[Server]:
    async for running in serve(settings.model_copy(update={"subscriber_queue": QUEUE})):
        yield running


class StalledClient:
    """A websocket client on a raw socket with a tiny receive buffer that, once the handshake
    is done, reads nothing until asked to `drain`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def open(cls, server: Server, token: str) -> StalledClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.setblocking(False)
        host_port = server.base_url.removeprefix("http://")
        host, port = host_port.rsplit(":", 1)
        await loop.sock_connect(sock, (host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(sock, (
            f"GET /ws/inventory?token={token} HTTP/1.1\r\nHost: {host_port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:  # byte by byte: leave the frames unread
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 1), 5)
            assert chunk, "server closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(sock)

    async def drain(self, seconds: float = 30.0) -> tuple[int | None, bool]:
        """Read everything now: the code of the server's close frame (None if it sent none
        before going quiet for a few seconds), and whether the server ended the connection."""
        loop = asyncio.get_running_loop()
        data = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), QUIET_SECONDS)
            except TimeoutError:
                return close_code(data), False
            except ConnectionError:
                return close_code(data), True
            if not chunk:
                return close_code(data), True
            data += chunk
            if close_code(data) is not None:
                return close_code(data), True
        return close_code(data), False

    def close(self) -> None:
        self.sock.close()


# How long the server may stay silent before the drain calls the connection still open;
# generous, because a loaded 2-core machine (CI) can pause a process for seconds.
QUIET_SECONDS = 8


def close_code(data: bytes) -> int | None:
    """The status code of the first close frame in a stream of unmasked server frames."""
    i = 0
    while i + 2 <= len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if length == 126:
            if i + 2 > len(data):
                return None
            (length,) = struct.unpack("!H", data[i:i + 2])
            i += 2
        elif length == 127:
            if i + 8 > len(data):
                return None
            (length,) = struct.unpack("!Q", data[i:i + 8])
            i += 8
        if i + length > len(data):
            return None
        if opcode == 0x8:
            return struct.unpack("!H", data[i:i + 2])[0] if length >= 2 else 1005
        i += length
    return None


class Reader:
    """A subscriber that reads everything, noting when each seq arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seqs: list[int] = []
        self.arrived: dict[int, float] = {}
        self.snapshot_seq: int | None = None
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        async for raw in self.ws:
            message: dict[str, Any] = orjson.loads(raw)
            if message["type"] == "snapshot":
                self.snapshot_seq = message["seq"]
            elif message["type"] == "unit":
                self.seqs.append(message["seq"])
                self.arrived[message["seq"]] = time.monotonic()


async def test_a_stalled_subscriber_is_dropped_and_never_delays_the_readers(
        small_queues: Server) -> None:
    server = small_queues
    hub = server.svc.fanout
    _, provider, units = await provider_units(server, 4, capacity=100_000, available=0)
    reader_token = await server.token("navigator")  # staff: their messages carry NOTE

    stalled = await StalledClient.open(server, reader_token)
    readers: list[Reader] = []
    try:
        for _ in range(100):
            if len(hub.subscribers) == 1:
                break
            await asyncio.sleep(0.01)
        (stalled_sub,) = hub.subscribers

        async with server.client(provider) as client:
            # Stall it for real: changes until its socket buffers (the kernel may keep a
            # megabyte or two) are full and messages pile up in its queue.
            def stuck() -> bool:
                return stalled_sub.queue.qsize() >= STUCK or stalled_sub.dropped.is_set()

            async def flood(k: int) -> None:
                for n in range(2000):
                    if stuck():
                        return
                    reply = await client.put(f"/api/v1/units/{units[k % 4]}/availability",
                                             json={"available": n, "note": NOTE})
                    assert reply.status_code == 200, reply.text

            await asyncio.wait_for(asyncio.gather(*(flood(k) for k in range(FLOODERS))), 60)
            assert stuck(), (
                "could not fill the stalled client's buffers")

            for _ in range(READERS):
                readers.append(Reader(await connect(inventory_url(server, reader_token))))
            for _ in range(500):
                if all(r.snapshot_seq is not None for r in readers):
                    break
                await asyncio.sleep(0.01)
            assert all(r.snapshot_seq is not None for r in readers), "a reader got no snapshot"
            start = await server.svc.live.current_seq()
            assert all(r.snapshot_seq == start for r in readers)

            acked: list[tuple[int, float]] = []
            for i in range(CHANGES):
                reply = await client.put(f"/api/v1/units/{units[i % 4]}/availability",
                                         json={"available": i, "note": NOTE})
                assert reply.status_code == 200, reply.text
                acked.append((reply.json()["seq"], time.monotonic()))
        last_seq, last_ack = acked[-1]
        expected = list(range(start + 1, start + CHANGES + 1))
        assert [seq for seq, _ in acked] == expected

        # Every reader gets every change, in order, and the last one promptly.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(len(r.seqs) < CHANGES for r in readers):
            await asyncio.sleep(0.02)
        for r in readers:
            assert r.seqs == expected
        delays = [r.arrived[last_seq] - last_ack for r in readers]
        assert max(delays) < 2.0, f"slowest reader got the last change {max(delays):.2f}s late"

        # The stalled one fell more than QUEUE messages behind: the server gave up on it ...
        assert stalled_sub.dropped.is_set(), "stalled subscriber was never marked too slow"
        # ... and let it go: it leaves the hub within seconds, though it still reads nothing.
        deadline = time.monotonic() + 5
        while stalled_sub in hub.subscribers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        held = stalled_sub in hub.subscribers
        # Reading now shows how the server ended the connection.
        code, ended = await stalled.drain()
        assert not held, ("the server still holds the dropped, stalled subscriber 5s after "
                          f"giving up on it (close code once the client read: {code})")
        assert ended, "the server never ended the stalled connection"
        assert code in (1013, None), f"stalled client saw close code {code}"
    finally:
        stalled.close()
        for r in readers:
            await r.ws.close()
            r.task.cancel()
