"""SQL tables of alerts: one alert per (timeline event, recipient), one delivery per (alert,
channel, target) as an outbox, people's Web Push subscriptions, the cluster's VAPID key pair
and the cursor over `transition_events`.

The unique constraints are the fence that makes each alert go out once per recipient and
channel: a second process that tries to create the same alert or claim the same delivery
fails the constraint or the compare-and-set, whatever the locks did.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.records import Base

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
UNANSWERED, UNLED = "unanswered", "unled"


class Alert(Base):
    """A timeline event that someone is told about. `recipient` is an actor id (a person's
    `usr-...` or a token id) or `role:supervisor` for an escalation. No text is stored: it
    is generated from the kind and the transition's reference when shown or sent."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("event_id", "recipient", name="uq_alerts_event_recipient"),
                      Index("ix_alerts_recipient_created", "recipient", "created_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    transition_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(64))
    # Why it went to the supervisors: UNANSWERED (nobody acknowledged it in time) or UNLED
    # (nobody leads or follows the transition); None for an alert to its team.
    escalation: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    # Set on the original alerts once their event went to the supervisors.
    escalated_at: Mapped[datetime | None]


class AlertDelivery(Base):
    """One alert to one target over one channel: `live` and `email` target the recipient's
    actor id, `push` one subscription. Claimed pending -> sending by compare-and-set before
    anything is sent, so it is sent at most once; sent or failed after."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "channel", "target",
                                       name="uq_alert_deliveries_target"),
                      Index("ix_alert_deliveries_status", "status", "id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, index=True)
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default=PENDING)
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))


class PushSubscription(Base):
    """A browser's Web Push subscription for one actor; `role` is the actor's role when it
    subscribed (escalations reach subscriptions made as supervisor)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class VapidKey(Base):
    """The cluster's one VAPID key pair (row id 1), made on first run: every process signs
    with the same key the browsers subscribed with."""

    __tablename__ = "vapid_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class AlertCursor(Base):
    """The last `transition_events.id` turned into alerts (row id 1)."""

    __tablename__ = "alert_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
