"""Connections that cannot starve the server, and the one uvicorn configuration that uses them.

uvicorn times out idle keep-alive connections but not a client that trickles a request head
one byte at a time (slowloris): such connections pile up until the process runs out of file
descriptors. `GuardedHttp` (uvicorn's httptools protocol plus three checks) guarantees:

- a connection that has not sent a complete request (head and body) within
  `header_timeout` of opening, or of its previous response, is answered 408 and closed;
- one client address holds at most `per_address` connections (websockets included, since an
  upgraded connection stays counted until it closes); the next is answered 503 and closed;
- all addresses together hold at most `total` connections, kept below the open-file limit so
  Redis, SQL and log files still get descriptors.

Counts are per process (each `--workers` process keeps its own) and keyed by the TCP peer
address. Behind a reverse proxy that peer is the proxy, so per-client caps and header
timeouts belong to the proxy there (docs/security.md); the app's own limits still bound what
the proxy itself can open. `serve`, `demo` and the tests that exercise these limits all build
their server with `uvicorn_config`, so they enforce the same limits.
"""

from __future__ import annotations

import asyncio
import resource
from collections import Counter
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from inventory.config import Settings

FD_RESERVE = 256  # descriptors kept for Redis, SQL, the embedded Redis socket and log files
WS_MAX_BYTES = 65_536  # largest websocket message; a bigger one is closed with 1009
GRACE_SECONDS = 10  # on shutdown websockets are closed with 1012 and requests finish


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    per_address: int  # 0: no per-address cap
    total: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        if not settings.max_connections:
            raise_descriptor_limit()
        return cls(settings.header_timeout_seconds, settings.max_connections_per_address,
                   settings.max_connections or descriptor_budget())


def descriptor_budget() -> int:
    """Connections this process can hold and still open what it needs besides them."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(soft - FD_RESERVE, 64)


def raise_descriptor_limit(ceiling: int = 1_048_576) -> None:
    """Lift the soft open-file limit to the hard one (often 1024 -> 524288): the total cap
    then comes from what the system allows, not from a login shell's default."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # keep the soft limit; the cap follows it


class Guard:
    """One server's open connections by client address. Only the event loop thread calls it,
    so a check and its count are never interleaved with another connection's."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.by_address: Counter[str] = Counter()
        self.open: dict[int, str] = {}

    def admit(self, transport: asyncio.BaseTransport, client: tuple[str, int] | None
              ) -> str | None:
        """Count the connection, or return why it is refused (then it is not counted)."""
        address = client[0] if client else ""
        if len(self.open) >= self.limits.total:
            return f"the server holds its limit of {self.limits.total} connections"
        cap = self.limits.per_address
        if address and cap and self.by_address[address] >= cap:
            return f"your address already holds the limit of {cap} open connections"
        self.open[id(transport)] = address
        self.by_address[address] += 1
        return None

    def release(self, transport: asyncio.BaseTransport) -> None:
        """Forget a closed connection; a second call (HTTP then websocket) does nothing."""
        address = self.open.pop(id(transport), None)
        if address is None:
            return
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]


def guard_of(config: uvicorn.Config) -> Guard:
    """The guard of the server this config runs (created on first use in each process)."""
    guard: Guard | None = getattr(config, "bedfinder_guard", None)
    if guard is None:
        limits = getattr(config, "bedfinder_limits", None) or ConnectionLimits(10.0, 0, 10_000)
        guard = Guard(limits)
        config.bedfinder_guard = guard  # type: ignore[attr-defined]
    return guard


def _plain_response(status: bytes, text: str) -> bytes:
    body = text.encode()
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body)


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's HTTP protocol with the connection caps and the request-head deadline."""

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.guard = guard_of(config)
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        refusal = self.guard.admit(transport, self.client)
        if refusal is not None:
            transport.write(_plain_response(b"503 Service Unavailable", refusal + "\n"))
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        # Not called once the connection became a websocket: GuardedWebSocket releases it.
        self._disarm()
        self.guard.release(self.transport)
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same deadline

    def _arm(self) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(self.guard.limits.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expired(self) -> None:
        self.deadline = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # closed already, or now a websocket (which has its own pings)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if not cycle.more_body:
                return  # a complete request is being answered; re-armed when it is done
            if cycle.response_started:
                self.transport.close()
                return
        self.transport.write(_plain_response(
            b"408 Request Timeout", f"no complete request within "
            f"{self.guard.limits.header_timeout:g} seconds\n"))
        self.transport.close()


class GuardedWebSocket(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, releasing its connection's count when it closes."""

    def connection_lost(self, exc: Exception | None) -> None:
        guard_of(self.config).release(self.transport)
        super().connection_lost(exc)


def uvicorn_config(app: Any, settings: Settings, host: str, port: int, workers: int = 1,
                   **options: Any) -> uvicorn.Config:
    """The server configuration `serve`, `demo` and the tests share: guarded connections,
    64 KiB websocket messages, bounded graceful shutdown. `options` adds logging choices."""
    config = uvicorn.Config(
        app, host=host, port=port, workers=workers, http=GuardedHttp, ws=GuardedWebSocket,
        ws_max_size=WS_MAX_BYTES, timeout_graceful_shutdown=GRACE_SECONDS,
        # X-Forwarded-For is believed only from the `trusted_proxies` setting (rate limits),
        # never from uvicorn's own default list.
        proxy_headers=False, factory=isinstance(app, str), **options)
    config.bedfinder_limits = ConnectionLimits.from_settings(settings)  # type: ignore[attr-defined]
    return config
