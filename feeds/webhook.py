"""The provider reminder webhook: a JSON POST signed with HMAC-SHA256, retried with backoff,
disabled after `max_failures` consecutive failed deliveries (admin-visible reason).

Signature: header `X-Bedfinder-Signature: sha256=<hex>` is HMAC-SHA256 of
`<X-Bedfinder-Timestamp>.<raw body>` with the configured secret, so a receiver can refuse
replays of old bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import datetime
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from inventory.keys import Keys

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class ReminderWebhook:
    def __init__(self, config: dict[str, Any], redis: Redis, prefix: str) -> None:
        self.url = str(config.get("url") or "")
        self.secret = str(config.get("secret") or "")
        self.max_failures = int(config.get("max_failures", 5))
        self.retries = int(config.get("retries", 3))
        self.backoff = float(config.get("backoff_seconds", 1.0))
        self.timeout = float(config.get("timeout_seconds", 5.0))
        self.redis = redis
        self.key = Keys(prefix).feed_webhook

    @property
    def configured(self) -> bool:
        return bool(self.url and self.secret)

    async def state(self) -> dict[str, Any]:
        raw = await self.redis.hgetall(self.key)
        return {"configured": self.configured, "url": self.url or None,
                "failures": int(raw.get("failures", 0)),
                "disabled": bool(raw.get("disabled_reason")),
                "disabled_reason": raw.get("disabled_reason"),
                "last_outcome": raw.get("last_outcome"), "last_at": raw.get("last_at"),
                "sent": int(raw.get("sent", 0))}

    async def enable(self) -> None:
        await self.redis.hdel(self.key, "disabled_reason")
        await self.redis.hset(self.key, "failures", 0)

    async def send(self, payload: dict[str, Any], now: datetime) -> bool:
        """Deliver once (with retries); False when it failed or the webhook is disabled."""
        if not self.configured or await self.redis.hget(self.key, "disabled_reason"):
            return False
        body = orjson.dumps(payload)
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json", "X-Bedfinder-Timestamp": timestamp,
                   "X-Bedfinder-Signature": sign(self.secret, timestamp, body)}
        error = "no attempt"
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(self.retries):
                if attempt:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    response = await client.post(self.url, content=body, headers=headers)
                    if response.status_code < 300:
                        await self._record(True, f"delivered ({response.status_code}) "
                                                 f"after {attempt + 1} attempt(s)", now)
                        return True
                    error = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
        await self._record(False, f"failed after {self.retries} attempt(s): {error}", now)
        return False

    async def _record(self, ok: bool, outcome: str, now: datetime) -> None:
        (log.info if ok else log.warning)("reminder webhook %s", outcome)
        if ok:
            await self.redis.hincrby(self.key, "sent", 1)
            await self.redis.hset(self.key, "failures", 0)
        await self.redis.hset(self.key, mapping={"last_outcome": outcome,
                                                 "last_at": now.isoformat()})
        if ok:
            return
        failures = await self.redis.hincrby(self.key, "failures", 1)
        if failures >= self.max_failures:
            await self.redis.hset(self.key, "disabled_reason",
                                  f"disabled after {failures} consecutive failed deliveries; "
                                  f"last: {outcome}")
