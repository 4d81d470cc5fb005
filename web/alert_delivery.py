"""Alert delivery: every process runs it under its supervisor, and one process of the cluster
at a time does the work, under the `alerts` job's run lock (`Locks.run_job`).

A pass turns new timeline events into alerts, escalates those due, and sends every pending
delivery (live over the notifier, Web Push, e-mail). Passes start when a `transition_event`
message crosses the notify channel (the connector publishes one per committed event), and
every `alerts.poll_seconds` in any case: a missed nudge delays an alert by at most that, and
escalations come due without any event.

Exactly once per recipient and channel rests on SQL (inventory/alert_store.py), not on the
lock: a delivery is claimed by compare-and-set before it is sent. A process that dies between
the claim and the send leaves that delivery `sending`: it is not retried (at most once), and
is marked failed once it is older than `STUCK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError

from inventory.alert_store import AlertStore, Outgoing
from inventory.clock import Clock
from inventory.locks import Locks
from inventory.notify import Audience, Notifier
from web.mail import Mailer
from web.push import Pusher, SubscriptionGone, payload

log = logging.getLogger(__name__)
JOB = "alerts"
LOCK_SECONDS = 30.0
NUDGE = b"transition_event"


class AlertDelivery:
    def __init__(self, store: AlertStore, locks: Locks, notifier: Notifier, redis: Redis,
                 pusher: Pusher, mailer: Mailer, clock: Clock, poll_seconds: float) -> None:
        self.store = store
        self.locks = locks
        self.notifier = notifier
        self.redis = redis
        self.pusher = pusher
        self.mailer = mailer
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()
        self.passes = 0
        self.last_pass_seconds = 0.0

    def nudge(self) -> None:
        self.wake.set()

    async def listen(self) -> None:
        """Wake a pass whenever a timeline event is published (long-lived, supervised)."""
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self.notifier.channel)
            async for raw in pubsub.listen():
                data = raw.get("data")
                if raw.get("type") == "message" and isinstance(data, str | bytes) \
                        and NUDGE in (data.encode() if isinstance(data, str) else data):
                    self.nudge()

    async def run(self) -> None:
        """Pass after pass until cancelled (long-lived, supervised)."""
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self.wake.clear()  # a nudge during the pass below sets it again: no event missed
            await self.run_pass()

    async def run_pass(self) -> bool:
        """One pass if no other process is in one; whether this process did it."""
        token = await self.locks.acquire(f"job:{JOB}:run", LOCK_SECONDS)
        if token is None:
            return False
        started = time.perf_counter()
        try:
            await self.locks.run_job(JOB, token, LOCK_SECONDS, self.work)
        finally:
            await self.locks.release_job_run(JOB, token)
        self.passes += 1
        self.last_pass_seconds = time.perf_counter() - started
        return True

    async def work(self) -> None:
        now = self.clock()
        try:
            await self.store.record_new(now)
            await self.store.escalate_due(now)
            await self.store.give_up_stuck(now)
        except IntegrityError:
            # Another process made the same alerts at the same moment (its lock was lost to
            # this one): the constraints kept them once, and this pass's share rolled back.
            log.warning("alerts: another process recorded the same events; skipped")
        while batch := await self.store.claim_pending(self.clock()):
            await asyncio.gather(*(self.send(item) for item in batch))

    async def send(self, item: Outgoing) -> None:
        error: str | None = None
        try:
            await self.deliver(item)
        except Exception as failed:  # noqa: BLE001 - one refusal must not hold up the others
            error = f"{type(failed).__name__}: {failed}"
            log.warning("alert %s over %s not delivered: %s", item.alert["id"], item.channel,
                        error)
        await self.store.finish(item.delivery_id, self.clock(), error)

    async def deliver(self, item: Outgoing) -> None:
        if item.channel == "live":
            await self.notifier.send(_audience(item.target), {"type": "alert",
                                                              "alert": item.alert})
        elif item.channel == "push":
            await self.push(item)
        elif item.channel == "email":
            await self.mail(item)
        else:
            raise ValueError(f"unknown channel {item.channel!r}")

    async def push(self, item: Outgoing) -> None:
        subscription = await self.store.subscription(item.target)
        if subscription is None:
            raise LookupError("the subscription was removed")
        try:
            await self.pusher.send(subscription, payload(item.message, item.alert["id"]))
        except SubscriptionGone:
            await self.store.forget_subscription(item.target)
            raise

    async def mail(self, item: Outgoing) -> None:
        if not self.mailer.enabled:
            raise LookupError("SMTP is not configured")
        address = await self.store.email_of(item.target)
        if address is None:
            raise LookupError("the person has no e-mail address here")
        await self.mailer.send(item.message, address)


def _audience(target: str) -> Audience:
    role = target.removeprefix("role:")
    return Audience(role=role) if role != target else Audience(token_id=target)
