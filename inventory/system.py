"""The composition root of the domain: every client and service one process needs, built once
(by the web app's lifespan, a CLI command, the demo, a benchmark or a test) and passed in.

Nothing here connects at import time, and nothing here knows about the web: the web layer
builds its own parts (fan-out, sessions, notifications, rate limits, metrics) on top of a
`System`. The System owns the process's `Supervisor` and starts its own long-lived tasks in
it (the group-commit audit writer and the demand outbox); `close` flushes and stops them,
then closes Redis and the engine, each step bounded so a stuck library never holds up a
shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from inventory import timeline
from inventory.audit import AuditWriter
from inventory.availability import Availability
from inventory.clock import Clock, utcnow
from inventory.config import Settings
from inventory.database import create_engine, session_factory
from inventory.demand import Outbox
from inventory.directory import Directory
from inventory.holds import Holds
from inventory.keys import Keys
from inventory.live import LiveStore
from inventory.locks import Locks
from inventory.notify import Notifier
from inventory.referrals import Referrals
from inventory.supervisor import Supervisor
from inventory.tokens import TokenVerifier
from inventory.transitions import Policy, Transitions

log = logging.getLogger(__name__)
REDIS_CONNECTIONS = 200
REDIS_WAIT_SECONDS = 10.0
CLOSE_SECONDS = 5.0
SENTINEL_SECONDS = 1.0


@dataclass
class System:
    settings: Settings
    redis: Redis
    engine: AsyncEngine
    sessions: async_sessionmaker
    live: LiveStore
    locks: Locks
    availability: Availability
    directory: Directory
    tokens: TokenVerifier
    holds: Holds
    transitions: Transitions
    referrals: Referrals
    notifier: Notifier
    audit: AuditWriter
    demand: Outbox
    supervisor: Supervisor = field(default_factory=Supervisor)
    clock: Clock = utcnow

    def cadence(self, cadence_minutes: int | None) -> int:
        """A program's update cadence, or the configured default when it names none."""
        return cadence_minutes or self.settings.default_cadence_minutes

    async def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Flush the audit writer and the demand outbox, stop every supervised task, close
        Redis and dispose of the engine; each step waits at most `timeout` seconds."""
        await self.audit.close(timeout)
        await self.demand.close(timeout)
        await self.supervisor.stop(timeout)
        for closing in (self.redis.aclose(), self.engine.dispose()):
            await _bounded(closing, timeout)


async def _bounded(closing: Awaitable[None], timeout: float) -> None:
    task = asyncio.ensure_future(closing)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("%s did not finish within %ss", closing, timeout)


SENTINEL_SCHEME = "redis+sentinel://"


def redis_address(settings: Settings) -> str | None:
    """Where the live state is, as one string every part accepts: `BEDFINDER_REDIS_URL`, or
    with `BEDFINDER_REDIS_SENTINELS` a `redis+sentinel://h1:p1,h2:p2/<service>` address (the
    `limits` library's form), or None for the embedded Redis."""
    if settings.redis_sentinels:
        hosts = ",".join(h.strip() for h in settings.redis_sentinels.split(",") if h.strip())
        return f"{SENTINEL_SCHEME}{hosts}/{settings.redis_sentinel_service}"
    return settings.redis_url or None


def sentinel_hosts(address: str) -> tuple[list[tuple[str, int]], str]:
    """The sentinels' (host, port) pairs and the service name of a sentinel address."""
    hosts, _, service = address.removeprefix(SENTINEL_SCHEME).partition("/")
    pairs = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        pairs.append((name, int(port)))
    return pairs, service


def connect_redis(redis_url: str) -> Redis:
    """A client whose pool makes a burst (hundreds of websockets connecting at once) wait for
    a connection rather than fail when every connection is in use.

    With a sentinel address, the client asks the sentinels for the current primary on every
    new connection; after a failover the old connections fail (the requests on them get
    503), and the next ones go to the promoted replica. Whether that replica missed
    acknowledged writes is checked by the live-state watch (inventory/live_watch.py)."""
    if redis_url.startswith(SENTINEL_SCHEME):
        hosts, service = sentinel_hosts(redis_url)
        sentinel = Sentinel(hosts, sentinel_kwargs={"socket_timeout": SENTINEL_SECONDS},
                            socket_timeout=REDIS_WAIT_SECONDS,
                            socket_connect_timeout=SENTINEL_SECONDS)
        return sentinel.master_for(service, decode_responses=True, health_check_interval=10)
    # No socket timeout (redis-py before 8 had none; 8 made it 5 s): with one, each command
    # is sent inside `asyncio.wait_for`, and on Python 3.11 a task cancelled while sending
    # could wait forever (tests/integration/test_redis_cancel.py), which hung shutdowns.
    return Redis.from_pool(BlockingConnectionPool.from_url(
        redis_url, decode_responses=True, health_check_interval=10,
        max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS, socket_timeout=None))


async def build_system(settings: Settings, redis_url: str, clock: Clock = utcnow) -> System:
    """Every domain service, wired, reading time from `clock` (the demo history and simulation
    mode pass a simulated one); the audit writer and demand outbox already running under the
    System's supervisor. Call `close()` when done."""
    redis = connect_redis(redis_url)
    engine = create_engine(settings.sqlalchemy_url())
    sessions = session_factory(engine)
    audit = AuditWriter(sessions)
    keys = Keys(settings.redis_prefix)
    live = LiveStore(redis, keys, settings.stream_max_events)
    locks = Locks(redis, keys)
    availability = Availability(live, sessions, clock, settings.seq_rebuild_gap, audit, locks)
    directory = Directory(sessions, availability, redis, settings.redis_prefix, clock)
    holds = Holds(live, sessions, directory, clock, settings.hold_minutes,
                  settings.hold_max_minutes, audit, availability.fence)
    transitions = Transitions(sessions, directory, clock, Policy(
        settings.caseload_limit, settings.at_risk_hours, settings.lapse_grace_hours,
        settings.pathways), locks)
    holds.on_end.append(transitions.hold_ended)
    notifier = Notifier(redis, settings.redis_prefix)
    publisher = timeline.Publisher(notifier, transitions.audiences)
    timeline.connect(sessions, publisher)
    referrals = Referrals(sessions, directory, holds, locks, notifier, clock,
                          settings.referral_expiry_minutes, settings.decline_reasons)
    system = System(
        settings=settings, redis=redis, engine=engine, sessions=sessions, live=live, locks=locks,
        availability=availability, directory=directory,
        tokens=TokenVerifier(sessions, settings.token_cache_seconds), holds=holds,
        transitions=transitions, referrals=referrals, notifier=notifier, audit=audit,
        demand=Outbox(redis, settings.redis_prefix), clock=clock)
    system.supervisor.start("audit_writer", audit.run)
    system.supervisor.start("demand_outbox", system.demand.run)
    system.supervisor.start("timeline_publisher", publisher.run)
    return system
