"""A transition's timeline: every status change, referral answer, hold, alert and note, one
row each in `transition_events`, written inside the SQL transaction of the change it records
(so the timeline never tells of a change that was rolled back, nor misses one that stands).

After the commit each new event is published to the transition's care team as a
`transition_event` message, so their pages update live. Publishing is a cue, like every
targeted message (inventory/notify.py): pages read the timeline on connect, and readers that
must miss nothing (alerts) follow the table by its increasing `id`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from inventory.actors import NAVIGATOR, Actor
from inventory.notify import Audience, Notifier
from inventory.records import TransitionEvent

log = logging.getLogger(__name__)

CREATED, DISCHARGE_PENDING, CLAIMED, REASSIGNED = (
    "created", "discharge_pending", "claimed", "reassigned")
REFERRAL_SENT, REFERRAL_SEEN, REFERRAL_ACCEPTED, REFERRAL_DECLINED = (
    "referral_sent", "referral_seen", "referral_accepted", "referral_declined")
REFERRAL_WITHDRAWN, REFERRAL_EXPIRED = "referral_withdrawn", "referral_expired"
HOLD_PLACED, HOLD_RELEASED, ADMITTED = "hold_placed", "hold_released", "admitted"
AT_RISK, LAPSED, BED_MATCH, NOTE = "at_risk", "lapsed", "bed_match", "note"
MEMBER_INVITED, MEMBER_REMOVED, CANCELLED, NEXT_STEP = (
    "member_invited", "member_removed", "cancelled", "next_step")
KINDS = frozenset({
    CREATED, DISCHARGE_PENDING, CLAIMED, REASSIGNED, REFERRAL_SENT, REFERRAL_SEEN,
    REFERRAL_ACCEPTED, REFERRAL_DECLINED, REFERRAL_WITHDRAWN, REFERRAL_EXPIRED, HOLD_PLACED,
    HOLD_RELEASED, ADMITTED, AT_RISK, LAPSED, BED_MATCH, NOTE, MEMBER_INVITED, MEMBER_REMOVED,
    CANCELLED, NEXT_STEP})

PENDING_KEY = "transition_events"  # session.info: events added, not yet committed
OUTBOX_KEY = "timeline_outbox"  # session.info (from the sessionmaker): where they go after
OUTBOX_SIZE = 10_000

# Events that add to or take from the queue of discharge-pending clients no one leads yet.
QUEUE_KINDS = frozenset({"discharge_pending", "claimed"})
AudiencesOf = Callable[[str], Awaitable[list[Audience]]]


def append(session: AsyncSession, transition_id: str, kind: str, actor: Actor | str,
           at: datetime | None = None, **details: Any) -> TransitionEvent:
    """Add one event to the caller's transaction; it is published once that commits.
    `details` must hold no client identifiers (program ids, reasons, counts, note text
    already checked by inventory/privacy.check_note)."""
    if kind not in KINDS:
        raise ValueError(f"unknown timeline kind {kind!r}")
    row = TransitionEvent(transition_id=transition_id, at=at or datetime.now(UTC), kind=kind,
                          actor=(actor.name if isinstance(actor, Actor) else actor)[:100],
                          details=details)
    session.add(row)
    session.info.setdefault(PENDING_KEY, []).append(row)
    return row


def view(row: TransitionEvent) -> dict[str, Any]:
    return {"id": row.id, "transition_id": row.transition_id, "at": row.at.isoformat(),
            "kind": row.kind, "actor": row.actor, "details": row.details}


async def events_of(session: AsyncSession, transition_id: str) -> list[dict[str, Any]]:
    """The timeline, oldest first (ids increase with commits' order of insertion)."""
    rows = (await session.execute(select(TransitionEvent).where(
        TransitionEvent.transition_id == transition_id).order_by(TransitionEvent.id))).scalars()
    return [view(r) for r in rows]


class Publisher:
    """Sends committed events to their transition's care team.

    `queue` is bounded (OUTBOX_SIZE): when it is full (Redis stalled for long) an event's live
    message is dropped and logged; the event itself is committed and shown on the next read.
    `run` is a long-lived task meant for the System's supervisor."""

    def __init__(self, notifier: Notifier, audiences_of: AudiencesOf) -> None:
        self.notifier = notifier
        self.audiences_of = audiences_of
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(OUTBOX_SIZE)

    def offer(self, events: list[dict[str, Any]]) -> None:
        for item in events:
            try:
                self.queue.put_nowait(item)
            except asyncio.QueueFull:
                log.warning("timeline event %s not published live: outbox full", item["id"])

    async def run(self) -> None:
        while True:
            item = await self.queue.get()
            await self.publish(item)

    async def publish(self, item: dict[str, Any]) -> None:
        message = {"type": "transition_event", "transition_id": item["transition_id"],
                   "event": item}
        try:
            for audience in await self.audiences_of(item["transition_id"]):
                await self.notifier.send(audience, message)
            if item["kind"] in QUEUE_KINDS:  # every connector's queue changed: a nudge only
                await self.notifier.send(Audience(role=NAVIGATOR), {"type": "transition_queue"})
        except (RedisError, OSError) as error:
            log.warning("timeline event %s: not published live: %s", item["id"], error)


def connect(sessions: async_sessionmaker, publisher: Publisher) -> None:
    """Make every session of `sessions` hand its committed events to `publisher`."""
    sessions.configure(info={OUTBOX_KEY: publisher})
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    publisher = session.info.get(OUTBOX_KEY)
    if pending and isinstance(publisher, Publisher):
        publisher.offer([view(row) for row in pending])


def _after_rollback(session: Session, previous_transaction: object) -> None:
    session.info.pop(PENDING_KEY, None)
