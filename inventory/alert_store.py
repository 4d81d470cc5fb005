"""The alerts' store: turns new timeline events into alerts and their deliveries, escalates
unanswered ones, and keeps people's acknowledgements and Web Push subscriptions.

Exactly once per recipient and channel, across processes: alerts are unique per (event,
recipient) and deliveries per (alert, channel, target); a delivery is claimed by a
compare-and-set (pending -> sending) before it is sent, so two senders never both send it.

Reading `transition_events` by id: on PostgreSQL ids are taken at insert and transactions
commit in any order, so an event with a lower id can become visible after a higher one.
The cursor therefore only moves past events older than `SETTLE_SECONDS`; younger ones are
read again on the next pass and skipped once they have an alert.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from inventory import alerts as rules
from inventory.actors import SUPERVISOR, Actor
from inventory.alert_records import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    UNANSWERED,
    UNLED,
    Alert,
    AlertCursor,
    AlertDelivery,
    PushSubscription,
)
from inventory.errors import NotFound
from inventory.records import CareTeamMember, Transition, TransitionEvent
from inventory.users import PERSON_PREFIX, User

SETTLE_SECONDS = 60
STUCK_SECONDS = 600  # a send takes seconds; one claimed this long ago will not finish
EVENTS_PER_PASS = 1000
DELIVERIES_PER_BATCH = 50


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One claimed delivery with what its sender needs."""

    delivery_id: int
    channel: str
    target: str
    alert: dict[str, Any]
    message: rules.Message


def alert_view(row: Alert, reference: str | None, base_url: str,
               escalate_after: float) -> dict[str, Any]:
    """An alert as the API, the page and the live message show it: generated text only."""
    said = _message(row, reference, base_url, escalate_after)
    return {"id": row.id, "kind": row.kind, "transition_id": row.transition_id,
            "client_ref": reference, "escalation": row.escalation is not None,
            "escalation_reason": row.escalation, "title": said.title,
            "body": said.body, "url": said.url, "created_at": row.created_at.isoformat(),
            "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at
            else None}


def _message(row: Alert, reference: str | None, base_url: str, escalate_after: float
             ) -> rules.Message:
    minutes = round(escalate_after) if row.escalation == UNANSWERED else None
    return rules.message(row.kind, reference, rules.link(base_url, row.transition_id), minutes,
                         unled=row.escalation == UNLED)


class AlertStore:
    def __init__(self, sessions: async_sessionmaker, base_url: str,
                 escalate_after_minutes: float, email_on: bool, push_hosts: list[str]) -> None:
        self.sessions = sessions
        self.push_hosts = push_hosts
        self.base_url = base_url
        self.escalate_after = escalate_after_minutes
        self.email_on = email_on

    # -- events to alerts ------------------------------------------------------------------

    async def record_new(self, now: datetime) -> int:
        """Alerts (with their pending deliveries) for timeline events not yet seen; returns
        how many alerts were made. One transaction: the cursor moves with the alerts."""
        settled = now - timedelta(seconds=SETTLE_SECONDS)
        made = 0
        async with self.sessions() as session, session.begin():
            cursor = await _locked_cursor(session)
            events = (await session.execute(
                select(TransitionEvent.id, TransitionEvent.transition_id, TransitionEvent.kind,
                       TransitionEvent.at)
                .where(TransitionEvent.id > cursor.last_event_id)
                .order_by(TransitionEvent.id).limit(EVENTS_PER_PASS))).all()
            watermark, moving = cursor.last_event_id, True
            for event_id, transition_id, kind, at in events:
                if rules.alerts_on(kind):
                    made += await self._alert_event(session, event_id, transition_id, kind, now)
                moving = moving and at <= settled
                if moving:
                    watermark = event_id
            cursor.last_event_id = watermark
        return made

    async def _alert_event(self, session: AsyncSession, event_id: int, transition_id: str,
                           kind: str, now: datetime) -> int:
        if await session.scalar(select(Alert.id).where(Alert.event_id == event_id).limit(1)):
            return 0
        recipients = await recipients_of(session, transition_id)
        escalation = None
        if not recipients and rules.escalates(kind):
            # Nobody leads or follows it (still in the queue): nobody else could answer.
            recipients, escalation = [rules.SUPERVISORS], UNLED
        for recipient in recipients:
            alert = Alert(event_id=event_id, transition_id=transition_id, kind=kind,
                          recipient=recipient, escalation=escalation, created_at=now)
            session.add(alert)
            await session.flush()
            await self._deliveries(session, alert, now)
        return len(recipients)

    async def _deliveries(self, session: AsyncSession, alert: Alert, now: datetime) -> None:
        """Pending deliveries of `alert` on every channel its recipient can be reached by."""
        targets = [("live", alert.recipient)]
        targets += [("push", s) for s in await push_targets(session, alert.recipient)]
        if self.email_on:
            targets += [("email", u) for u in await email_targets(session, alert.recipient)]
        for channel, target in targets:
            session.add(AlertDelivery(alert_id=alert.id, channel=channel, target=target,
                                      status=PENDING, created_at=now))

    # -- escalation ------------------------------------------------------------------------

    async def escalate_due(self, now: datetime) -> int:
        """Send to every supervisor the at-risk and lapsed events whose alerts nobody
        acknowledged within the configured time; returns how many escalated."""
        cutoff = rules.escalation_cutoff(now, self.escalate_after)
        answered = exists().where(and_(Alert.event_id == _Acked.event_id,
                                       _Acked.acknowledged_at.is_not(None)))
        async with self.sessions() as session, session.begin():
            due = (await session.execute(
                select(Alert.event_id, Alert.transition_id, Alert.kind)
                .where(Alert.escalation.is_(None), Alert.escalated_at.is_(None),
                       Alert.kind.in_(rules.ESCALATING), Alert.created_at <= cutoff,
                       ~answered)
                .group_by(Alert.event_id, Alert.transition_id, Alert.kind))).all()
            for event_id, transition_id, kind in due:
                await session.execute(update(Alert).where(Alert.event_id == event_id)
                                      .values(escalated_at=now))
                if await session.scalar(select(Alert.id).where(
                        Alert.event_id == event_id, Alert.recipient == rules.SUPERVISORS)):
                    continue
                alert = Alert(event_id=event_id, transition_id=transition_id, kind=kind,
                              recipient=rules.SUPERVISORS, escalation=UNANSWERED,
                              created_at=now)
                session.add(alert)
                await session.flush()
                await self._deliveries(session, alert, now)
        return len(due)

    # -- sending ---------------------------------------------------------------------------

    async def claim_pending(self, now: datetime) -> list[Outgoing]:
        """Claim up to a batch of pending deliveries (pending -> sending, compare-and-set):
        what is returned is this caller's alone to send."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(AlertDelivery, Alert, Transition.client_ref)
                .join(Alert, Alert.id == AlertDelivery.alert_id)
                .outerjoin(Transition, Transition.id == Alert.transition_id)
                .where(AlertDelivery.status == PENDING)
                .order_by(AlertDelivery.id).limit(DELIVERIES_PER_BATCH))).all()
        claimed = []
        for delivery, alert, reference in rows:
            async with self.sessions() as session, session.begin():
                won = await session.execute(
                    update(AlertDelivery).where(AlertDelivery.id == delivery.id,
                                                AlertDelivery.status == PENDING)
                    .values(status=SENDING, claimed_at=now))
            if won.rowcount != 1:  # type: ignore[attr-defined]
                continue
            view = alert_view(alert, reference, self.base_url, self.escalate_after)
            claimed.append(Outgoing(delivery.id, delivery.channel, delivery.target, view,
                                    _message(alert, reference, self.base_url,
                                             self.escalate_after)))
        return claimed

    async def finish(self, delivery_id: int, now: datetime, error: str | None = None) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(AlertDelivery).where(AlertDelivery.id == delivery_id)
                                  .values(status=FAILED if error else SENT, sent_at=now,
                                          error=error[:300] if error else None))

    async def give_up_stuck(self, now: datetime) -> int:
        """Mark failed the deliveries claimed over STUCK_SECONDS ago and never finished (their
        process stopped mid-send): not sent again (at most once), but not left `sending`."""
        cutoff = now - timedelta(seconds=STUCK_SECONDS)
        async with self.sessions() as session, session.begin():
            done = await session.execute(
                update(AlertDelivery).where(AlertDelivery.status == SENDING,
                                            AlertDelivery.claimed_at <= cutoff)
                .values(status=FAILED, sent_at=now,
                        error="the sending process stopped before it finished"))
        return int(done.rowcount)  # type: ignore[attr-defined]

    async def email_of(self, user_id: str) -> str | None:
        async with self.sessions() as session:
            row = await session.get(User, user_id)
        return row.email if row is not None and row.disabled_at is None else None

    async def subscription(self, subscription_id: str) -> PushSubscription | None:
        async with self.sessions() as session:
            return await session.get(PushSubscription, subscription_id)

    # -- people ----------------------------------------------------------------------------

    async def list_for(self, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
        """The actor's alerts, newest first; supervisors also see escalations."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(Alert, Transition.client_ref)
                .outerjoin(Transition, Transition.id == Alert.transition_id)
                .where(Alert.recipient.in_(_addressed_to(actor)))
                .order_by(Alert.id.desc()).limit(limit))).all()
        return [alert_view(a, ref, self.base_url, self.escalate_after) for a, ref in rows]

    async def acknowledge(self, alert_id: int, actor: Actor, now: datetime) -> dict[str, Any]:
        """Acknowledge the actor's alert (again is a no-op); NotFound for anyone else's."""
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(Alert).where(
                Alert.id == alert_id, Alert.recipient.in_(_addressed_to(actor))))
            if row is None:
                raise NotFound(f"alert {alert_id} does not exist")
            if row.acknowledged_at is None:
                row.acknowledged_at, row.acknowledged_by = now, actor.name
            reference = await session.scalar(select(Transition.client_ref).where(
                Transition.id == row.transition_id))
        return alert_view(row, reference, self.base_url, self.escalate_after)

    async def subscribe(self, actor: Actor, endpoint: str, p256dh: str, auth: str,
                        now: datetime) -> str:
        """Keep a browser's push subscription for the actor (re-subscribing an endpoint moves
        it to this actor); returns its id. Invalid for an endpoint outside the configured
        push services."""
        rules.check_push_endpoint(endpoint, self.push_hosts)
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(PushSubscription).where(
                PushSubscription.endpoint == endpoint))
            if row is None:
                row = PushSubscription(id=f"sub-{secrets.token_hex(8)}", endpoint=endpoint,
                                       created_at=now, actor_id=actor.token_id,
                                       role=actor.role, p256dh=p256dh, auth=auth)
                session.add(row)
            row.actor_id, row.role, row.p256dh, row.auth = (actor.token_id, actor.role,
                                                            p256dh, auth)
            await session.flush()
            return row.id

    async def unsubscribe(self, actor: Actor, endpoint: str) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(PushSubscription).where(
                PushSubscription.endpoint == endpoint,
                PushSubscription.actor_id == actor.token_id))
            if row is None:
                raise NotFound("no push subscription of yours has this endpoint")
            await session.delete(row)

    async def forget_subscription(self, subscription_id: str) -> None:
        """The push service said the subscription is gone (404/410)."""
        async with self.sessions() as session, session.begin():
            row = await session.get(PushSubscription, subscription_id)
            if row is not None:
                await session.delete(row)

    async def counts(self) -> dict[str, int]:
        """Deliveries by status (for /metrics and tests)."""
        async with self.sessions() as session:
            rows = await session.execute(select(AlertDelivery.status, func.count())
                                         .group_by(AlertDelivery.status))
        return {status: n for status, n in rows.all()}


_Acked = aliased(Alert, name="acked")


async def _locked_cursor(session: AsyncSession) -> AlertCursor:
    """The one cursor row, locked: a second process's pass queues behind this one on
    PostgreSQL (SQLite has one writer at a time anyway). The migration makes the row; it is
    made again here if a table was emptied."""
    query = select(AlertCursor).where(AlertCursor.id == 1).with_for_update()
    cursor = (await session.execute(query)).scalar_one_or_none()
    if cursor is None:
        try:
            async with session.begin_nested():
                session.add(AlertCursor(id=1, last_event_id=0))
        except IntegrityError:
            pass
        cursor = (await session.execute(query)).scalar_one()
    return cursor


def _addressed_to(actor: Actor) -> list[str]:
    return [actor.token_id, rules.SUPERVISORS] if actor.role == SUPERVISOR else [actor.token_id]


async def recipients_of(session: AsyncSession, transition_id: str) -> list[str]:
    """The lead connector and the care team's members who are a person or a token (whole
    member organizations see the timeline live, but are no one in particular to alert)."""
    lead = await session.scalar(select(Transition.navigator).where(
        Transition.id == transition_id))
    members = (await session.scalars(select(CareTeamMember.member_id).where(
        CareTeamMember.transition_id == transition_id, CareTeamMember.member_id.is_not(None),
        CareTeamMember.removed_at.is_(None)).order_by(CareTeamMember.id))).all()
    found = [lead] if lead else []
    found += [m for m in members if m and m not in found]
    return found


async def push_targets(session: AsyncSession, recipient: str) -> list[str]:
    query = select(PushSubscription.id)
    if recipient == rules.SUPERVISORS:
        query = query.where(PushSubscription.role == SUPERVISOR)
    else:
        query = query.where(PushSubscription.actor_id == recipient)
    return list((await session.scalars(query.order_by(PushSubscription.id))).all())


async def email_targets(session: AsyncSession, recipient: str) -> list[str]:
    """User ids with an e-mail address: the person, or every supervisor (assigned the role
    here) for an escalation. Tokens have no address."""
    query = select(User.id).where(User.email.is_not(None), User.disabled_at.is_(None))
    if recipient == rules.SUPERVISORS:
        query = query.where(User.role == SUPERVISOR)
    elif recipient.startswith(PERSON_PREFIX):
        query = query.where(User.id == recipient)
    else:
        return []
    return list((await session.scalars(query.order_by(User.id))).all())
