"""The one adapter that reaches into server internals: writing websocket frames straight to a
connection's transport, skipping the ASGI send path and a task wake-up per message. At 1,000
subscribers that path cost more than everything else together (docs/benchmarks.md).

It depends on private objects of three libraries, pinned in pyproject.toml for that reason:
Starlette's `WebSocket._send` (the ASGI send callable), uvicorn's websockets-sansio protocol
(`WebSocketsSansIOProtocol`: `transport`, `conn`, `close_sent`, `disconnected`), found behind
that callable's closures, and websockets' sans-I/O `ServerProtocol` (`state`, `extensions`,
`send_text`, `data_to_send`). `DirectWriter.for_websocket` returns None whenever any of that
is not what it expects (another server, another protocol implementation, an upgrade that
moved things), and the fan-out then uses its ordinary queue: slower, never wrong.
tests/integration/test_direct_write.py fails if a server upgrade disables this path, so the
slowdown cannot go unnoticed.
"""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket
from websockets.exceptions import InvalidState
from websockets.protocol import State
from websockets.server import ServerProtocol

from web.frames import Joined, OutFrame

SLOT_BYTES = 512  # a typical message: the direct write buffer holds maxsize of them
SEARCH_DEPTH = 8


class DirectWriter:
    """Writes text frames straight to one websocket's transport.

    Frames are whole and written synchronously, so they never interleave with the server's
    own (pings, close). Nothing is written once a close was sent or the peer is gone. At most
    `limit` bytes wait in the transport's write buffer: past that, `write` says the
    subscriber is too far behind."""

    __slots__ = ("conn", "limit", "protocol", "transport")

    def __init__(self, protocol: Any, limit: int) -> None:
        self.protocol = protocol
        self.transport = protocol.transport
        self.conn = protocol.conn
        self.limit = limit

    @classmethod
    def for_websocket(cls, ws: WebSocket, limit: int) -> DirectWriter | None:
        """A writer for this accepted websocket, or None if the server does not allow it."""
        return cls.for_send(getattr(ws, "_send", None), limit)

    @classmethod
    def for_send(cls, send: Any, limit: int) -> DirectWriter | None:
        protocol = server_protocol(send)
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


def server_protocol(send: Any, depth: int = SEARCH_DEPTH) -> Any | None:
    """uvicorn's websockets-sansio protocol object behind an ASGI `send` (which middleware
    and Starlette wrap in closures), or None."""
    seen: set[int] = set()
    todo = [(send, 0)]
    while todo:
        fn, level = todo.pop()
        if fn is None or id(fn) in seen or level > depth:
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
