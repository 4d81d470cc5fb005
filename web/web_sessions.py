"""Sign-in sessions of people, kept server-side in Redis; the browser holds only a random id.

The cookie `bf_session` (HttpOnly, SameSite=Lax, Secure behind https) carries a 32-byte
random id; Redis keeps, under the id's SHA-256, who the person is, their role and
organization, the provider's refresh token and ID token (for sign-out at the provider), a
CSRF token, and three times: sign-in, last request and next recheck. A new id is made at
every sign-in (so an id planted before sign-in is worthless) and the old one deleted. A
session ends when it is signed out, `session_idle_minutes` after its last request (the key's
TTL, renewed on use) or `session_absolute_hours` after sign-in (checked on every read), and
when a recheck at the provider fails.

The CSRF token is also given to the page in the readable cookie `bf_csrf`; a write
authenticated by the session cookie must send it back in the `X-CSRF-Token` header (double
submit: another site can make the browser send the cookie, but cannot read it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from inventory.keys import Keys
from inventory.users import Person

SESSION_COOKIE = "bf_session"
CSRF_COOKIE = "bf_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGNIN_SECONDS = 600  # an unfinished sign-in (state, nonce, PKCE verifier) is kept this long
RECHECK_CLAIM_SECONDS = 30
SOCKET_PREFIX = "ses-"  # see socket_key


@dataclass
class WebSession:
    """One signed-in person's session; times are ISO strings so the record is plain JSON."""

    user_id: str
    display_name: str
    email: str | None
    role: str | None
    organization_id: str | None
    csrf: str
    signed_in_at: str
    recheck_at: str
    refresh_token: str | None = None
    id_token: str | None = None

    def person(self) -> Person:
        return Person(id=self.user_id, display_name=self.display_name, email=self.email,
                      role=self.role, organization_id=self.organization_id, disabled=False)

    def csrf_matches(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf, sent or "")


def digest_of(session_id: str) -> str:
    """What Redis, logs and other processes know a session by: the SHA-256 of its cookie's
    id, so neither a Redis dump nor a pub/sub message can be replayed as the cookie."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def socket_key(digest: str) -> str:
    """The name a session's open websockets are registered under (web/sessions.py), so the
    sweep can recheck the session and close them once it no longer grants access."""
    return SOCKET_PREFIX + digest


class WebSessions:
    """Sessions and unfinished sign-ins in Redis (key names in inventory/keys.py). A session
    is addressed by its digest (`digest_of` the cookie's id) everywhere but at creation."""

    def __init__(self, redis: Redis, keys: Keys, idle_minutes: float, absolute_hours: float,
                 recheck_minutes: float) -> None:
        self.redis = redis
        self.keys = keys
        self.idle = timedelta(minutes=idle_minutes)
        self.idle_seconds = max(1, round(self.idle.total_seconds()))  # Redis TTLs are whole
        self.absolute = timedelta(hours=absolute_hours)
        self.recheck = timedelta(minutes=recheck_minutes)

    async def begin_signin(self, state: str, data: dict[str, str]) -> None:
        await self.redis.set(self.keys.signin(state), json.dumps(data), ex=SIGNIN_SECONDS)

    async def take_signin(self, state: str) -> dict[str, str] | None:
        """The sign-in begun with `state`, at most once: a replayed callback finds nothing."""
        raw = await self.redis.getdel(self.keys.signin(state))
        return json.loads(raw) if raw else None

    async def create(self, person: Person, now: datetime, refresh_token: str | None,
                     id_token: str | None, replaces: str | None = None) -> tuple[str, WebSession]:
        """A new session id for `person` (the session of digest `replaces`, if any, ends)."""
        if replaces:
            await self.redis.delete(self.keys.session(replaces))
        session_id = secrets.token_urlsafe(32)
        record = WebSession(
            user_id=person.id, display_name=person.display_name, email=person.email,
            role=person.role, organization_id=person.organization_id,
            csrf=secrets.token_urlsafe(24), signed_in_at=now.isoformat(),
            recheck_at=(now + self.recheck).isoformat(), refresh_token=refresh_token,
            id_token=id_token)
        await self.save(digest_of(session_id), record)
        return session_id, record

    async def save(self, digest: str, record: WebSession, existing: bool = False) -> None:
        """Store the record; with `existing`, only if the session still exists (a recheck
        must not bring back a session signed out meanwhile)."""
        await self.redis.set(self.keys.session(digest), json.dumps(asdict(record)),
                             ex=self.idle_seconds, xx=existing)

    async def get(self, digest: str, now: datetime, touch: bool = True) -> WebSession | None:
        """The live session, its idle clock restarted when `touch` (a request, not the
        websocket sweep); None when it is unknown, idle too long (gone from Redis) or past
        its absolute end (then deleted)."""
        key = self.keys.session(digest)
        raw = await (self.redis.getex(key, ex=self.idle_seconds) if touch
                     else self.redis.get(key))
        if not raw:
            return None
        record = WebSession(**json.loads(raw))
        if now - datetime.fromisoformat(record.signed_in_at) >= self.absolute:
            await self.redis.delete(key)
            return None
        return record

    def due_for_recheck(self, record: WebSession, now: datetime) -> bool:
        return now >= datetime.fromisoformat(record.recheck_at)

    async def claim_recheck(self, digest: str) -> bool:
        """One recheck per session at a time, across processes: a page's burst of requests
        must not present the same refresh token twice (providers that rotate refresh tokens
        treat a second use as theft and end the session). The others go on with the
        session as it is, for at most RECHECK_CLAIM_SECONDS."""
        return bool(await self.redis.set(self.keys.session_recheck(digest), "1",
                                         nx=True, ex=RECHECK_CLAIM_SECONDS))

    async def release_recheck(self, digest: str) -> None:
        await self.redis.delete(self.keys.session_recheck(digest))

    def rechecked(self, record: WebSession, person: Person, now: datetime,
                  refresh_token: str | None) -> WebSession:
        record.role, record.organization_id = person.role, person.organization_id
        record.display_name = person.display_name
        record.refresh_token = refresh_token or record.refresh_token
        record.recheck_at = (now + self.recheck).isoformat()
        return record

    async def end(self, digest: str) -> WebSession | None:
        raw = await self.redis.getdel(self.keys.session(digest))
        return WebSession(**json.loads(raw)) if raw else None
