"""The FastAPI application: its lifespan builds every client and background task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis

from inventory.availability import Inventory
from inventory.config import Settings, load_settings
from inventory.database import create_engine, session_factory
from inventory.directory import Directory
from inventory.holds import Holds
from inventory.notify import Notifier
from inventory.referrals import Referrals
from inventory.transitions import Policy, Transitions
from inventory.live import Event, LiveStore
from inventory.tokens import TokenVerifier
from web import analytics, errors, logs, metrics, pages, ws
from web.api import events, feeds, health, placement, programs, reports, tokens, units
from web.api import holds as holds_api
from web.embedded_redis import EmbeddedRedis
from web.hub import Hub
from web.limits import BodySizeLimit
from web.metrics import RequestMetrics
from web.rate_limits import RateLimit, RateLimits
from web.request_context import RequestContext
from web.scheduled import start_scheduler
from web.services import Services, utcnow

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 5.0
REDIS_CONNECTIONS = 200
REDIS_WAIT_SECONDS = 10.0
WATCH_SECONDS = 1.0


async def watch_live_state(svc: Services) -> None:
    """Notice Redis coming back empty (restart, FLUSHDB) and rebuild it from SQL; tell the
    hub when the state it streams was replaced."""
    known = None
    while True:
        try:
            epoch = await svc.live.epoch()
            if epoch is None:
                epoch = await svc.inventory.rebuild()
            if known is not None and epoch != known:
                svc.hub.replaced(epoch)
            known = epoch
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Redis or SQL down: readiness says so; keep watching
            log.warning("live state check failed: %s", error)
        await asyncio.sleep(WATCH_SECONDS)


async def build_services(settings: Settings, redis_url: str) -> Services:
    # A burst (hundreds of websockets connecting at once) waits for a connection rather than
    # failing when the pool is exhausted.
    redis = Redis.from_pool(BlockingConnectionPool.from_url(
        redis_url, decode_responses=True, health_check_interval=10,
        max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS))
    engine = create_engine(settings.sqlalchemy_url())
    sessions = session_factory(engine)
    live = LiveStore(redis, settings.redis_prefix, settings.stream_max_events)
    inventory = Inventory(live, sessions, utcnow, settings.seq_rebuild_gap)
    directory = Directory(sessions, inventory, redis, settings.redis_prefix, utcnow)
    tokens = TokenVerifier(sessions, settings.token_cache_seconds)
    svc: Services

    async def encode(batch):  # type: ignore[no-untyped-def]
        return await events.encode(svc, batch)

    hub = Hub(live, encode, settings.subscriber_queue, settings.heartbeat_seconds)
    hub.on_revoke.append(tokens.forget)
    holds = Holds(live, sessions, directory, utcnow, settings.hold_minutes,
                  settings.hold_max_minutes)
    transitions = Transitions(sessions, directory, utcnow, Policy(
        settings.caseload_limit, settings.at_risk_hours, settings.lapse_grace_hours))
    holds.on_end.append(transitions.hold_ended)
    notifier = Notifier(redis, settings.redis_prefix)
    referrals = Referrals(sessions, directory, holds, live, notifier, utcnow,
                          settings.referral_expiry_minutes, settings.decline_reasons)
    svc = Services(settings=settings, redis=redis, engine=engine, sessions=sessions,
                   live=live, inventory=inventory, directory=directory, tokens=tokens, hub=hub,
                   holds=holds, transitions=transitions, referrals=referrals,
                   notifier=notifier)

    def count(event: Event) -> None:
        svc.metrics.events.labels(event.op).inc()
        if event.at is not None:
            svc.metrics.observe_delivery(event.at.timestamp())

    hub.on_event.append(count)
    if settings.rate_limit_writes or settings.rate_limit_reads:
        svc.rate_limits = RateLimits(redis_url, settings.redis_prefix,
                                     settings.rate_limit_writes, settings.rate_limit_reads)
    return svc


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir)
        redis_url = embedded.start()
    svc = await build_services(settings, redis_url)
    app.state.services = svc
    with contextlib.suppress(Exception):
        await svc.inventory.ensure_ready()
    tasks = [asyncio.create_task(svc.hub.run()), asyncio.create_task(svc.hub.heartbeats()),
             asyncio.create_task(svc.hub.notifications(svc.notifier.channel)),
             asyncio.create_task(watch_live_state(svc))]
    scheduler = start_scheduler(svc)
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
        for task in tasks:
            task.cancel()
        # Bounded: a task stuck in a library's cleanup must not hold up a deploy.
        _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
        for task in stuck:
            log.warning("background task %s did not stop within %ss", task.get_coro(),
                        SHUTDOWN_SECONDS)
        for closing in (svc.redis.aclose(), svc.engine.dispose()):
            done, _ = await asyncio.wait({asyncio.ensure_future(closing)},
                                         timeout=SHUTDOWN_SECONDS)
            if not done:
                log.warning("%s did not finish within %ss", closing, SHUTDOWN_SECONDS)
        if embedded is not None:
            embedded.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    logs.install()
    app = FastAPI(
        title="Bedfinder",
        version="0.1.0",
        summary="Real-time beds and treatment slots across a behavioral-health system of care",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    from web.api import levels  # GET /api/v1/levels (fold into the router list on merge)
    app.include_router(levels.router)
    errors.document(app)
    for router in (health.router, programs.router, units.router, holds_api.router,
                   placement.router, events.router, feeds.router, reports.router, tokens.router,
                   ws.router, metrics.router,
                   pages.router, analytics.router):
        app.include_router(router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit)
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestContext)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory web.app:app_factory`: settings from file and environment."""
    return create_app()
