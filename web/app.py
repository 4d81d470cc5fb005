"""The FastAPI application: its lifespan builds every client and background task."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from inventory.alert_store import AlertStore
from inventory.clock import SimulatedClock, utcnow
from inventory.config import Settings, load_settings
from inventory.embedded_redis import EmbeddedRedis
from inventory.live import Event
from inventory.live_watch import watch_live_state
from inventory.mirror import Mirror
from inventory.stream_reader import Listener, StreamReader
from inventory.system import System, build_system, redis_address
from inventory.tokens import no_longer_valid
from inventory.users import PERSON_PREFIX
from web import admin_page, analytics, errors, logs, pages, signin, ws
from web.alert_delivery import AlertDelivery
from web.api import (
    access,
    events,
    feeds,
    health,
    levels,
    match,
    metrics,
    programs,
    reports,
    tokens,
    units,
)
from web.api import alerts as alerts_api
from web.api import docs as api_docs
from web.api import holds as holds_api
from web.api import push as push_api
from web.api import referrals as referrals_api
from web.api import simulation as simulation_api
from web.api import transitions as transitions_api
from web.edge import Edge
from web.fanout import Fanout
from web.mail import Mailer
from web.metrics import Metrics
from web.notifications import Notifications
from web.people import People, build_people
from web.push import Pusher
from web.rate_limits import RateLimits
from web.scheduled import start_jobs
from web.services import Services
from web.sessions import TokenSessions
from web.web_sessions import SOCKET_PREFIX

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 5.0


def web_services(system: System, redis_url: str) -> Services:
    """The web parts of one process, built on `system` and wired to each other."""
    settings = system.settings
    mirror = Mirror()
    reader = StreamReader(system.live, mirror)
    fanout = Fanout(mirror, lambda batch: events.encode(system, batch),
                    settings.subscriber_queue, settings.heartbeat_seconds,
                    latest=system.live.current_seq)
    token_sessions = TokenSessions()
    token_sessions.on_revoke.append(system.tokens.forget)
    meters = Metrics()
    rate_limits = (RateLimits(redis_url, settings.redis_prefix, settings.rate_limit_writes,
                              settings.rate_limit_reads, settings.rate_limit_invalid_tokens,
                              settings.trusted_proxies)
                   if settings.rate_limit_writes or settings.rate_limit_reads
                   or settings.rate_limit_invalid_tokens else None)
    alerts = AlertStore(system.sessions, settings.public_base_url,
                        settings.alerts.escalate_after_minutes, bool(settings.smtp.host),
                        settings.alerts.push_hosts)
    pusher = Pusher(system.sessions, lambda: system.clock(), settings.alerts.push_subject,
                    settings.alerts.push_ttl_seconds)
    delivery = AlertDelivery(alerts, system.locks, system.notifier, system.redis, pusher,
                             Mailer(settings.smtp), lambda: system.clock(),
                             settings.alerts.poll_seconds)
    reader.on_reset(fanout.drop_all)
    reader.listen("fanout", fanout.deliver)
    reader.listen("metrics", _counting(meters))
    reader.on_listener_error.append(meters.listener_failed)
    system.supervisor.on_crash.append(meters.task_crashed)
    return Services(system=system, reader=reader, mirror=mirror, fanout=fanout,
                    token_sessions=token_sessions,
                    notifications=Notifications(system.redis, system.notifier.channel, fanout,
                                                token_sessions),
                    metrics=meters, alerts=alerts, pusher=pusher, alert_delivery=delivery,
                    rate_limits=rate_limits)


def _counting(metrics: Metrics) -> Listener:
    async def count(batch: list[Event]) -> None:
        metrics.count_events(batch)

    return count


async def no_longer_allowed(svc: Services, people: People, ids: set[str]) -> set[str]:
    """Which open websockets' owners may no longer read: tokens revoked or expired, people
    gone or disabled here (`usr-...`), sessions ended, timed out or refused at a due recheck
    at the identity provider (`ses-...`, web/web_sessions.py)."""
    persons = {i for i in ids if i.startswith(PERSON_PREFIX)}
    sessions = {i for i in ids if i.startswith(SOCKET_PREFIX)}
    ended = await people.no_longer_granted({i.removeprefix(SOCKET_PREFIX) for i in sessions})
    return (await no_longer_valid(svc.sessions, ids - persons - sessions, svc.clock())
            | await people.users.no_longer_active(persons)
            | {SOCKET_PREFIX + digest for digest in ended})


def start_tasks(svc: Services, people: People) -> None:
    """Every long-lived task of the web process, under the System's supervisor (which already
    runs the audit writer and the demand outbox)."""
    supervisor = svc.supervisor
    supervisor.start("stream_reader", svc.reader.run)
    supervisor.start("heartbeats", svc.fanout.heartbeats)
    supervisor.start("notifications", svc.notifications.run)
    supervisor.start("token_sweep", lambda: svc.token_sessions.sweep(
        lambda ids: no_longer_allowed(svc, people, ids), svc.settings.token_sweep_seconds))
    if svc.settings.token_cache_seconds > 0:
        supervisor.start("token_recheck", svc.tokens.keep_confirmed)
    supervisor.start("live_state_watch", lambda: watch_live_state(
        svc.live, svc.availability, svc.reader))
    supervisor.start("alert_nudges", svc.alert_delivery.listen)
    supervisor.start("alert_delivery", svc.alert_delivery.run)
    start_jobs(svc)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    embedded = None
    redis_url = redis_address(settings)
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir)
        redis_url = embedded.start()
        embedded.supervise()  # killed or crashed, it is started again (a no-op if joined)
    # Simulation mode only: a clock `bedfinder simulate` moves (web/api/simulation.py).
    clock = SimulatedClock() if settings.simulation_mode else utcnow
    system = await build_system(settings, redis_url, clock)
    svc = web_services(system, redis_url)
    app.state.services = svc
    app.state.people = build_people(system)
    with contextlib.suppress(Exception):
        await system.availability.ensure_ready()
    start_tasks(svc, app.state.people)
    try:
        yield
    finally:
        # Bounded: a task stuck in a library's cleanup must not hold up a deploy.
        await system.close(SHUTDOWN_SECONDS)
        await svc.pusher.close()
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
        docs_url=None, redoc_url=None,  # web/api/docs.py serves /docs itself, CDN-free
        # No OpenTelemetry here (Prometheus at /metrics): FastAPI's native telemetry would
        # ask OTel for its providers, reading the environment, on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    errors.install(app)
    errors.document(app)
    pages.install_error_pages(app)
    for router in (health.router, levels.router, programs.router, units.router, holds_api.router,
                   match.router, transitions_api.router, referrals_api.router, events.router,
                   feeds.router, reports.router, tokens.router, ws.router, metrics.router,
                   pages.router, analytics.router, signin.router, access.router,
                   admin_page.router, alerts_api.router, push_api.router,
                   push_api.worker):
        app.include_router(router)
    if settings.simulation_mode:  # never in production: no such route exists otherwise
        app.include_router(simulation_api.router)
    app.include_router(api_docs.router)  # /docs from the package, no CDN
    app.add_middleware(Edge, max_bytes=settings.max_body_bytes,
                       write_shortcut=settings.write_shortcut)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory web.app:app_factory`: settings from file and environment."""
    return create_app()
