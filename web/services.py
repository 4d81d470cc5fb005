"""What one app process hands to every route: the domain's `System` and the web parts built on
it in the lifespan (web/app.py). Routes get it through `web.api.deps.Svc`.

The domain services are read-only views of the System's (`svc.holds is svc.system.holds`),
so a route and a scheduled job always act on the same objects; the clock is the System's too
(setting `svc.clock` in a test moves it for both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from inventory.alert_store import AlertStore
from inventory.audit import AuditWriter
from inventory.availability import Availability
from inventory.clock import Clock
from inventory.config import Settings
from inventory.demand import Outbox
from inventory.directory import Directory, ProgramInfo
from inventory.holds import Holds
from inventory.live import LiveStore
from inventory.locks import Locks
from inventory.mirror import Mirror
from inventory.model import UnitState
from inventory.notify import Notifier
from inventory.referrals import Referrals
from inventory.stream_reader import StreamReader
from inventory.supervisor import Supervisor
from inventory.system import System
from inventory.tokens import TokenVerifier
from inventory.transitions import Transitions
from web.alert_delivery import AlertDelivery
from web.fanout import Fanout
from web.metrics import Metrics
from web.notifications import Notifications
from web.push import Pusher
from web.rate_limits import OpenSockets, RateLimits
from web.sessions import TokenSessions

__all__ = ["Services"]


@dataclass
class Services:
    system: System
    reader: StreamReader
    mirror: Mirror
    fanout: Fanout
    token_sessions: TokenSessions
    notifications: Notifications
    metrics: Metrics
    alerts: AlertStore
    pusher: Pusher
    alert_delivery: AlertDelivery
    rate_limits: RateLimits | None = None
    sockets: OpenSockets = field(default_factory=OpenSockets)  # open websockets, capped

    @property
    def settings(self) -> Settings:
        return self.system.settings

    @property
    def redis(self) -> Redis:
        return self.system.redis

    @property
    def engine(self) -> AsyncEngine:
        return self.system.engine

    @property
    def sessions(self) -> async_sessionmaker:
        return self.system.sessions

    @property
    def live(self) -> LiveStore:
        return self.system.live

    @property
    def locks(self) -> Locks:
        return self.system.locks

    @property
    def availability(self) -> Availability:
        return self.system.availability

    @property
    def directory(self) -> Directory:
        return self.system.directory

    @property
    def tokens(self) -> TokenVerifier:
        return self.system.tokens

    @property
    def holds(self) -> Holds:
        return self.system.holds

    @property
    def transitions(self) -> Transitions:
        return self.system.transitions

    @property
    def referrals(self) -> Referrals:
        return self.system.referrals

    @property
    def notifier(self) -> Notifier:
        return self.system.notifier

    @property
    def audit(self) -> AuditWriter:
        return self.system.audit

    @property
    def demand(self) -> Outbox:
        return self.system.demand

    @property
    def supervisor(self) -> Supervisor:
        return self.system.supervisor

    @property
    def clock(self) -> Clock:
        return self.system.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.system.clock = clock

    def cadence(self, cadence_minutes: int | None) -> int:
        return self.system.cadence(cadence_minutes)

    async def live_states(self, programs: dict[str, ProgramInfo]) -> dict[str, UnitState]:
        """Every unit's live state as of now (see Mirror.current)."""
        return await self.mirror.current(
            self.live, (u.id for p in programs.values() for u in p.units))
