"""Rate limits per token, counted in Redis so every process shares one budget (the `limits`
library's moving window). A request over its limit gets 429 with Retry-After and changes
nothing; a token is counted by its hash, so even invalid tokens are limited."""

from __future__ import annotations

import hashlib
import math
import time

import orjson
from limits import RateLimitItem, parse
from limits.aio.storage import RedisSentinelStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from inventory.keys import Keys

READS = frozenset({"GET", "HEAD", "OPTIONS"})
LIMITED = ("/api/", "/fhir/", "/hsds/")


def limits_uri(redis_url: str) -> str:
    """The `limits` storage URI for a redis-py URL (TCP or unix socket)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class RateLimits:
    def __init__(self, redis_url: str, prefix: str, writes: str, reads: str) -> None:
        storage = (RedisSentinelStorage if redis_url.startswith("redis+sentinel://")
                   else RedisStorage)  # BEDFINDER_REDIS_SENTINELS: follow the primary
        self.storage = storage(limits_uri(redis_url), implementation="redispy",
                               key_prefix=Keys(prefix).rate_limits)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.writes: RateLimitItem | None = parse(writes) if writes else None
        self.reads: RateLimitItem | None = parse(reads) if reads else None

    async def retry_after(self, who: str, write: bool) -> int | None:
        """Seconds to wait when `who` is over its limit, else None (and the hit counts)."""
        item = self.writes if write else self.reads
        if item is None:
            return None
        kind = "w" if write else "r"
        if await self.limiter.hit(item, kind, who):
            return None
        stats = await self.limiter.get_window_stats(item, kind, who)
        return max(1, math.ceil(stats.reset_time - time.time()))


def caller(scope: Scope) -> str:
    """A token's hash, or the client address for requests without one."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return hashlib.sha256(value[7:].strip()).hexdigest()[:32]
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


class RateLimit:
    """Pure ASGI middleware; a Redis outage never blocks requests on the limiter's account
    (the request goes on and meets the outage where it matters, with a clear 503)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED):
            await self.app(scope, receive, send)
            return
        services = getattr(scope["app"].state, "services", None)
        limits = getattr(services, "rate_limits", None)
        wait = None
        if limits is not None:
            try:
                wait = await limits.retry_after(caller(scope), scope["method"] not in READS)
            except Exception:  # noqa: BLE001 - Redis down: let the request meet it below
                wait = None
        if wait is None:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps({"detail": f"too many requests for this token; try again in "
                                       f"{wait} s"})
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"),
                                (b"retry-after", str(wait).encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
