"""The parts one app process wires together in its lifespan and hands to every route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from inventory.availability import Inventory
from inventory.config import Settings
from inventory.directory import Directory
from inventory.holds import Holds
from inventory.live import LiveStore
from inventory.tokens import TokenVerifier
from web.hub import Hub


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    settings: Settings
    redis: Redis
    engine: AsyncEngine
    sessions: async_sessionmaker
    live: LiveStore
    inventory: Inventory
    directory: Directory
    tokens: TokenVerifier
    hub: Hub
    holds: Holds
    clock: Callable[[], datetime] = utcnow

    def cadence(self, cadence_minutes: int | None) -> int:
        return cadence_minutes or self.settings.default_cadence_minutes
