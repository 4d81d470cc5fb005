"""Feed run status kept in Redis (no SQL table): per feed its last success, last error,
consecutive failures and next run; and the reminder webhook's health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from inventory.keys import Keys


class FeedStatus:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = Keys(prefix)

    def key(self, name: str) -> str:
        return self.keys.feed_status(name)

    async def get(self, name: str) -> dict[str, Any]:
        raw = await self.redis.hgetall(self.key(name))
        result: dict[str, Any] = {str(k): v for k, v in raw.items() if k != "report"}
        result["failures"] = int(raw.get("failures", 0))
        result["runs"] = int(raw.get("runs", 0))
        result["report"] = orjson.loads(raw["report"]) if raw.get("report") else None
        return result

    async def succeeded(self, name: str, at: datetime, next_run: datetime,
                        report: dict[str, Any]) -> None:
        await self.redis.hset(self.key(name), mapping={
            "last_success": at.isoformat(), "failures": 0, "next_run": next_run.isoformat(),
            "report": orjson.dumps(report).decode()})
        await self.redis.hincrby(self.key(name), "runs", 1)

    async def failed(self, name: str, at: datetime, next_run: datetime, error: str) -> int:
        failures = await self.redis.hincrby(self.key(name), "failures", 1)
        await self.redis.hset(self.key(name), mapping={
            "last_error": error[:500], "last_error_at": at.isoformat(),
            "next_run": next_run.isoformat()})
        await self.redis.hincrby(self.key(name), "runs", 1)
        return int(failures)

    async def failures(self, name: str) -> int:
        return int(await self.redis.hget(self.key(name), "failures") or 0)

    async def claim_run(self, name: str, seconds: float) -> bool:
        """True for exactly one caller per `seconds` across the cluster: the per-interval
        guard that makes a poll run once per interval however many processes schedule it."""
        return bool(await self.redis.set(self.keys.feed_due(name), "1", nx=True,
                                          px=max(int(seconds * 1000), 1)))
