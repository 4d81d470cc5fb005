"""Messages for particular people (a navigator's transition match, a provider's incoming
referral), sent across every app process over Redis pub/sub.

Pub/sub, unlike the event stream, keeps nothing: a message sent while nobody of that
audience is connected is gone. That is acceptable because each one is also a record
(transitions, referrals) the pages load on connect; the message is only the cue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from inventory.keys import Keys


@dataclass(frozen=True, slots=True)
class Audience:
    """Who should see a message: one token, one organization's providers, or a role."""

    token_id: str | None = None
    organization_id: str | None = None
    role: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"token_id": self.token_id, "organization_id": self.organization_id,
                "role": self.role}


class Notifier:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.channel = Keys(prefix).notify_channel

    async def send(self, audience: Audience, message: dict[str, Any]) -> None:
        await self.redis.publish(self.channel, orjson.dumps(
            {"to": audience.as_dict(), "message": message}))

    async def revoked(self, token_id: str) -> None:
        """Tell every process a token is revoked: forget it and close its websockets now."""
        await self.redis.publish(self.channel, orjson.dumps({"revoked": token_id}))
