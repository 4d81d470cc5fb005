"""Targeted messages (a navigator's transition match, a provider's incoming referral) and
token revocations, received over Redis pub/sub from any process (inventory/notify.py) and
delivered to this process's subscribers they are for.

Pub/sub keeps nothing: what is sent while this process is not listening (Redis down, or
between a crash and its restart) is gone; see inventory/notify.py for why that is acceptable.
"""

from __future__ import annotations

import logging

import orjson
from redis.asyncio import Redis

from web.fanout import Fanout
from web.sessions import TokenSessions

log = logging.getLogger(__name__)


class Notifications:
    def __init__(self, redis: Redis, channel: str, fanout: Fanout,
                 sessions: TokenSessions) -> None:
        self.redis = redis
        self.channel = channel
        self.fanout = fanout
        self.sessions = sessions

    async def run(self) -> None:
        """Listen until cancelled. A lost connection ends this run with an exception: the
        supervisor logs it and starts a new one after a short backoff."""
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            async for raw in pubsub.listen():
                if raw.get("type") != "message":
                    continue
                try:
                    self.handle(raw["data"])
                except Exception:
                    log.exception("notification not delivered")

    def handle(self, data: str | bytes) -> None:
        envelope = orjson.loads(data)
        if "revoked" in envelope:
            self.sessions.revoke(envelope["revoked"])
        else:
            self.fanout.notify(envelope["to"], envelope["message"])
