"""Prometheus metrics: one registry per app, so several apps in one process (tests) never
collide, and how a request is counted. Each process reports its own at `/metrics`
(web/api/metrics.py); see docs/deployment.md for scraping."""

from __future__ import annotations

import collections
import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from starlette.types import Scope

from inventory.live import Event

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("bedfinder_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=r)
        self.request_seconds = Histogram("bedfinder_http_request_seconds",
                                         "Time to answer an HTTP request", ["method", "route"],
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.shortcut_writes = Counter(
            "bedfinder_write_shortcut_requests",
            "Count updates answered past FastAPI's routing (web/write_shortcut.py); the rest "
            "of that route's requests took the general path", registry=r)
        self.events = Counter("bedfinder_stream_events",
                              "Changes read from the event stream, by operation (updates, "
                              "holds, admits, releases, expiries); every process sees all",
                              ["op"], registry=r)
        self.delivery_seconds = Histogram(
            "bedfinder_delivery_seconds",
            "From a change's commit in Redis to its hand-over to this process's subscribers",
            buckets=LATENCY_BUCKETS, registry=r)
        self.dropped = Counter("bedfinder_subscribers_dropped",
                               "Subscribers cut off as too slow or by a rebuild", registry=r)
        self.feed_failures = Gauge("bedfinder_feed_consecutive_failures",
                                   "Failed polls of each configured feed since its last success",
                                   ["feed"], registry=r)
        self.connections = Gauge("bedfinder_websocket_connections",
                                 "Open inventory websockets on this process", registry=r)
        self.stale_units = Gauge("bedfinder_stale_units",
                                 "Units whose count is older than their program's cadence",
                                 registry=r)
        self.seq = Gauge("bedfinder_seq", "Last seq this process has delivered", registry=r)
        self.stream_lag = Gauge("bedfinder_stream_lag",
                                "Seqs Redis has that this process has not delivered yet",
                                registry=r)
        self.stream_behind = Gauge("bedfinder_stream_behind_seconds",
                                   "Seconds since this process's stream reader last had "
                                   "everything in the event stream (about 1 when healthy)",
                                   registry=r)
        self.job_runs = Counter("bedfinder_job_runs", "Scheduled job runs on this process "
                                "(summed over processes: one per interval per cluster)",
                                ["job"], registry=r)
        self.tasks = Gauge("bedfinder_asyncio_tasks", "Tasks alive in this process's event loop",
                           registry=r)
        self.task_running = Gauge("bedfinder_task_running",
                                  "1 while a supervised long-lived task runs, 0 while it waits "
                                  "to be restarted", ["task"], registry=r)
        self.task_restarts = Counter("bedfinder_task_restarts",
                                     "Crashes of a supervised long-lived task (each is "
                                     "followed by a restart)", ["task"], registry=r)
        self.listener_errors = Counter("bedfinder_stream_listener_errors",
                                       "Batches a stream listener raised on (the other "
                                       "listeners still got them)", ["listener"], registry=r)

    def task_crashed(self, name: str, _error: BaseException) -> None:
        self.task_restarts.labels(name).inc()

    def listener_failed(self, name: str, _error: BaseException) -> None:
        self.listener_errors.labels(name).inc()

    def count_events(self, events: list[Event]) -> None:
        """One increment per operation in the batch, not per event: looking up a labelled
        counter per event was a few percent of a census batch's CPU."""
        for op, count in collections.Counter(event.op for event in events).items():
            self.events.labels(op).inc(count)
        for event in events:
            if event.at is not None:
                self.observe_delivery(event.at.timestamp())

    def observe_delivery(self, committed_at: float) -> None:
        self.delivery_seconds.observe(max(0.0, time.time() - committed_at))


def record_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one request by route template (never the raw path: ids would make
    unbounded label sets); called by the app's edge middleware (web/edge.py)."""
    services = getattr(scope["app"].state, "services", None)
    if services is None:
        return
    path = getattr(scope.get("route"), "path", "unmatched")
    method = scope["method"]
    services.metrics.requests.labels(method, path, str(status)).inc()
    services.metrics.request_seconds.labels(method, path).observe(seconds)
