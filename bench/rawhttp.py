"""A minimal HTTP/1.1 keep-alive client, so that driving thousands of requests per second
costs the (shared, 2-core) machine little next to the server being measured."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class Connection(asyncio.Protocol):
    """One keep-alive connection; `request` sends one request and returns (status, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        length = 0
        for line in bytes(self.buffer[:end]).lower().split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, method: str, path: str, body: bytes, headers: str
                      ) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\n{headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body)
        return await self.waiter


async def connect(base: str) -> Connection:
    parts = urlsplit(base)
    _, conn = await asyncio.get_running_loop().create_connection(
        Connection, parts.hostname or "127.0.0.1", parts.port or 80)
    return conn
