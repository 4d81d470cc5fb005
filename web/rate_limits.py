"""Rate limits that cannot be sidestepped, counted in Redis so every process shares one
budget (the `limits` library's moving window). A request over its limit gets 429 with
Retry-After and changes nothing.

- A token's requests are counted by its hash: one read budget, and one write budget shared
  by HTTP writes and `/ws/provider` messages (`token_key` names both).
- Requests without a token are counted per client address.
- A count update (`PUT /api/v1/units/{id}/availability`, `POST .../attest`, and `set` and
  `attest` on `/ws/provider`) is counted by the script that applies it (`change.lua`, the
  library's moving window on the library's key), so an update costs one Redis round trip.
  The edge does not count those requests before they reach it; one refused before it (an
  invalid body, a wrong token) is counted by the edge after its answer, so every request
  still spends budget.
- Tokens that turn out unknown, revoked or expired are counted per client address too, and
  once an address is over that budget its tokens are refused before the SQL lookup
  (`web/auth.py`): sending a new random `Bearer bf_...` each time buys nothing.
- The client address is the TCP peer, or, for peers listed in `trusted_proxies`, the
  right-most X-Forwarded-For address that is not itself a trusted proxy.

Open websockets are capped per token and per address by `OpenSockets`, in each process.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import re
import time
from collections import Counter
from collections.abc import Iterable
from typing import cast

import orjson
from limits import RateLimitItem, parse
from limits.aio.storage import RedisSentinelStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import Scope, Send

from inventory.keys import Keys
from inventory.scripts import Budget

READS = frozenset({"GET", "HEAD", "OPTIONS"})
LIMITED = ("/api/", "/fhir/", "/hsds/")
# Requests whose write budget the change script charges (see the module docstring), and the
# scope key their route sets once it has handed the budget to the script.
COUNTED_IN_SCRIPT = re.compile(r"^/api/v1/units/[^/]+/(availability|attest)$")
CHARGED = "bedfinder.write_budget_charged"


def limits_uri(redis_url: str) -> str:
    """The `limits` storage URI for a redis-py URL (TCP or unix socket)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """The trusted proxies setting as networks (a bare address is a one-address network)."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(scope: Scope, trusted: tuple[Network, ...] = ()) -> str:
    """Who is asking: the TCP peer, or behind trusted proxies the right-most forwarded
    address that is not one of them. A client can prepend anything to X-Forwarded-For, so
    only the hops our own proxies appended are believed."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def token_key(token: bytes | str) -> str:
    """The name a token's budgets are counted under, on every path (HTTP and websockets)."""
    raw = token.encode() if isinstance(token, str) else token
    return hashlib.sha256(raw.strip()).hexdigest()[:32]


class RateLimits:
    def __init__(self, redis_url: str, prefix: str, writes: str, reads: str,
                 invalid_tokens: str = "", trusted_proxies: Iterable[str] = ()) -> None:
        storage = (RedisSentinelStorage if redis_url.startswith("redis+sentinel://")
                   else RedisStorage)  # BEDFINDER_REDIS_SENTINELS: follow the primary
        self.storage = storage(limits_uri(redis_url), implementation="redispy",
                               key_prefix=Keys(prefix).rate_limits)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.writes: RateLimitItem | None = parse(writes) if writes else None
        self.reads: RateLimitItem | None = parse(reads) if reads else None
        self.invalid: RateLimitItem | None = parse(invalid_tokens) if invalid_tokens else None
        self.trusted = networks(trusted_proxies)

    async def invalid_wait(self, address: str) -> int | None:
        """Seconds until `address` may have tokens looked up again, if it sent too many
        invalid ones; None when it may (this counts nothing). With Redis down the lookup
        goes on and meets the outage where it matters."""
        if self.invalid is None:
            return None
        try:
            if await self.limiter.test(self.invalid, "bad", address):
                return None
            stats = await self.limiter.get_window_stats(self.invalid, "bad", address)
        except Exception:  # noqa: BLE001 - Redis down: never block on the limiter's account
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def count_invalid(self, address: str) -> None:
        """One more unknown, revoked or expired token from `address`."""
        if self.invalid is not None:
            with contextlib.suppress(Exception):  # Redis down: as above
                await self.limiter.hit(self.invalid, "bad", address)

    def write_budget(self, who: str) -> Budget | None:
        """`who`'s write budget for `change.lua` to charge: the moving window on the very key
        `limits` keeps it under (its storage's prefix and the item's key), so writes counted
        there and here share one budget (tests/integration/test_budget_in_script.py)."""
        item = self.writes
        if item is None:
            return None
        key = self.storage.bridge.prefixed_key(item.key_for("w", who))
        return Budget(key=key, limit=item.amount, window_seconds=item.get_expiry(),
                      now=time.time())

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


def caller(scope: Scope, trusted: tuple[Network, ...] = ()) -> str:
    """A token's hash, or the client address for requests without one."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return token_key(value[7:])
    return "addr:" + client_address(scope, trusted)


class OpenSockets:
    """Open websockets per token and per client address in this process. `open` either
    counts one more and returns None, or counts nothing and returns the refusal; every
    successful `open` is paired with one `close`. Per process: with N processes behind a
    balancer a token may hold up to N times its cap (docs/security.md)."""

    def __init__(self) -> None:
        self.by_token: Counter[str] = Counter()
        self.by_address: Counter[str] = Counter()

    def open(self, token: str | None, address: str, per_token: int, per_address: int
             ) -> str | None:
        if token is not None and self.by_token[token] >= per_token:
            return f"this token already has {per_token} open websockets; close one first"
        if self.by_address[address] >= per_address:
            return (f"this address already has {per_address} open websockets; "
                    "close one first")
        if token is not None:
            self.by_token[token] += 1
        self.by_address[address] += 1
        return None

    def close(self, token: str | None, address: str) -> None:
        for counter, key in ((self.by_token, token), (self.by_address, address)):
            if key is None:
                continue
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]


def limits_of(scope: Scope) -> RateLimits | None:
    """The app's rate limits (None when they are off, or before the services are built)."""
    services = getattr(scope["app"].state, "services", None)
    return cast(RateLimits | None, getattr(services, "rate_limits", None))


async def retry_after(scope: Scope) -> int | None:
    """Seconds the request must wait, or None when it may go on. A Redis outage never blocks
    requests on the limiter's account (the request goes on and meets the outage where it
    matters, with a clear 503)."""
    limits = limits_of(scope)
    if limits is None:
        return None
    try:
        wait: int | None = await limits.retry_after(caller(scope, limits.trusted),
                                                    scope["method"] not in READS)
    except Exception:  # noqa: BLE001 - Redis down: let the request meet it below
        return None
    return wait


def counted_in_script(scope: Scope) -> bool:
    return scope["method"] in ("PUT", "POST") and COUNTED_IN_SCRIPT.match(scope["path"]) is not None


def budget_for(scope: Scope) -> Budget | None:
    """The write budget of this request's caller, for the change script to charge; marks
    the request as charged, so the edge does not count it again."""
    limits = limits_of(scope)
    if limits is None:
        return None
    scope[CHARGED] = True
    return limits.write_budget(caller(scope, limits.trusted))


def too_many(wait: int) -> str:
    return f"too many requests for this token; try again in {wait} s"


async def refuse(send: Send, wait: int) -> None:
    """The 429 answer, naming when to try again."""
    body = orjson.dumps({"detail": too_many(wait)})
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"),
                            (b"retry-after", str(wait).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
