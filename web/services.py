"""The parts one app process wires together in its lifespan and hands to every route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from inventory.availability import Inventory
from inventory.config import Settings
from inventory.directory import Directory, ProgramInfo
from inventory.model import UnitState
from inventory.holds import Holds
from inventory.notify import Notifier
from inventory.referrals import Referrals
from inventory.transitions import Transitions
from inventory.live import LiveStore
from inventory.locks import Locks
from inventory.tokens import TokenVerifier
from web.hub import Hub
from web.metrics import Metrics
from web.rate_limits import RateLimits


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    settings: Settings
    redis: Redis
    engine: AsyncEngine
    sessions: async_sessionmaker
    live: LiveStore
    locks: Locks
    inventory: Inventory
    directory: Directory
    tokens: TokenVerifier
    hub: Hub
    holds: Holds
    transitions: Transitions
    referrals: Referrals
    notifier: Notifier
    rate_limits: RateLimits | None = None
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow

    async def live_states(self, programs: dict[str, ProgramInfo]) -> dict[str, UnitState]:
        """Every unit's live state as of now: this process's mirror once it has caught up
        with the current seq (so a search sees every change acknowledged before it began),
        else Redis itself."""
        seq = await self.live.current_seq()
        if await self.hub.caught_up(seq, timeout=0.25):
            return self.hub.states
        return await self.live.units(u.id for p in programs.values() for u in p.units)

    def cadence(self, cadence_minutes: int | None) -> int:
        return cadence_minutes or self.settings.default_cadence_minutes
