"""Web Push: the cluster's VAPID key pair and sending one alert to one browser subscription.

The key pair lives in SQL (`vapid_keys`, one row), made by whichever process first needs it:
every process and host of a deployment shares the database, not necessarily a data folder,
and a browser's subscription is bound to the public key it subscribed with, so all of them
must sign with the same key, across restarts. Two processes making it at once: the second
insert fails the primary key and that process reads the first one's key.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.alert_records import PushSubscription, VapidKey
from inventory.alerts import Message
from inventory.clock import Clock

if TYPE_CHECKING:
    import aiohttp

# pywebpush (with aiohttp, requests and py_vapid) is imported when first needed, not when the
# app starts: most processes start far more often than they push.
log = logging.getLogger(__name__)
SEND_SECONDS = 10.0
GONE = (404, 410)  # the push service forgot the subscription: stop sending to it


class SubscriptionGone(Exception):
    """The push service answered that this subscription no longer exists."""


@dataclass(frozen=True, slots=True)
class VapidKeys:
    private_pem: str
    public_key: str  # base64url, uncompressed P-256 point: the browser's applicationServerKey


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_keys() -> VapidKeys:
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02

    vapid = Vapid02()
    vapid.generate_keys()
    public = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(vapid.private_pem().decode(), _b64url(public))


async def vapid_keys(sessions: async_sessionmaker, now: datetime) -> VapidKeys:
    """The deployment's VAPID keys, made and stored on first use."""
    async with sessions() as session:
        row = await session.get(VapidKey, 1)
    if row is not None:
        return VapidKeys(row.private_pem, row.public_key)
    made = make_keys()
    try:
        async with sessions() as session, session.begin():
            session.add(VapidKey(id=1, private_pem=made.private_pem, public_key=made.public_key,
                                 created_at=now))
        return made
    except IntegrityError:  # another process made them first: use theirs
        async with sessions() as session:
            row = await session.get(VapidKey, 1)
        assert row is not None
        return VapidKeys(row.private_pem, row.public_key)


def payload(message: Message, alert_id: int) -> str:
    """What the service worker receives: the generated title, sentence and link only."""
    return orjson.dumps({"title": message.title, "body": message.body, "url": message.url,
                         "alert_id": alert_id, "tag": f"alert-{alert_id}"}).decode()


class Pusher:
    """Sends pushes signed with the deployment's VAPID key (read or made on first use), over
    one HTTP session per process, closed by `close` in the lifespan."""

    def __init__(self, sessions: async_sessionmaker, clock: Clock, subject: str,
                 ttl_seconds: int) -> None:
        self.sessions = sessions
        self.clock = clock
        self.subject = subject
        self.ttl = ttl_seconds
        self.keys: VapidKeys | None = None
        self.signer: Any = None  # py_vapid.Vapid02
        self.http: aiohttp.ClientSession | None = None

    async def public_key(self) -> str:
        return (await self._keys()).public_key

    async def _keys(self) -> VapidKeys:
        if self.keys is None:
            from py_vapid import Vapid02

            self.keys = await vapid_keys(self.sessions, self.clock())
            self.signer = Vapid02.from_pem(self.keys.private_pem.encode())
        return self.keys

    async def send(self, subscription: PushSubscription, data: str) -> None:
        """Deliver `data`, encrypted for the subscription (aes128gcm); SubscriptionGone when
        the push service no longer knows it, WebPushException for other refusals."""
        import aiohttp
        from pywebpush import WebPushException, webpush_async

        await self._keys()
        if self.http is None:
            self.http = aiohttp.ClientSession()
        info = {"endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
        try:
            await webpush_async(info, data, vapid_private_key=self.signer,
                                vapid_claims={"sub": self.subject}, ttl=self.ttl,
                                timeout=SEND_SECONDS, aiohttp_session=self.http)
        except WebPushException as error:
            status = error.response.status if error.response is not None else None  # type: ignore[union-attr]
            if status in GONE:
                raise SubscriptionGone(subscription.id) from error
            raise

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None
