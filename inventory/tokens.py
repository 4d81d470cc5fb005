"""API tokens: random secrets shown once, stored only as SHA-256, each bound to a role."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.actors import PROVIDER, ROLES, Actor
from inventory.errors import Invalid, NotFound
from inventory.records import Organization, Token, new_id


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(sessions: async_sessionmaker, role: str, now: datetime,
                       organization_id: str | None = None, label: str = "",
                       expires_at: datetime | None = None, owner: str | None = None
                       ) -> tuple[str, Token]:
    """A new token and its record; the plaintext exists only in the return value. `owner`
    names who answers for it (the person who issued it, or an organization); a provider
    token without one is owned by its organization."""
    if expires_at is not None and expires_at <= now:
        raise Invalid("expires_at must be in the future")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if (role == PROVIDER) != (organization_id is not None):
        raise Invalid("a provider token needs --org, and only a provider token takes one")
    plaintext = "bf_" + secrets.token_urlsafe(32)
    row = Token(id=new_id("tok"), token_hash=digest(plaintext), role=role,
                organization_id=organization_id, label=label or role, created_at=now,
                expires_at=expires_at, owner=(owner or organization_id or None))
    async with sessions() as session, session.begin():
        if organization_id and await session.get(Organization, organization_id) is None:
            raise NotFound(f"organization {organization_id!r} does not exist")
        session.add(row)
    return plaintext, row


async def list_tokens(sessions: async_sessionmaker) -> list[Token]:
    """Every token ever issued, newest first (revoked and expired ones too: they are the
    record of who could read what, and when that ended). Never the hashes' inputs."""
    async with sessions() as session:
        return list((await session.execute(
            select(Token).order_by(Token.created_at.desc(), Token.id))).scalars())


def state_of(token: Token, now: datetime) -> str:
    """`revoked`, `expired` or `active`."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and _aware(token.expires_at) <= now:
        return "expired"
    return "active"


async def revoke_token(sessions: async_sessionmaker, token_id: str, now: datetime) -> None:
    async with sessions() as session, session.begin():
        row = await session.get(Token, token_id)
        if row is None:
            raise NotFound(f"token {token_id!r} does not exist")
        row.revoked_at = now


async def no_longer_valid(sessions: async_sessionmaker, token_ids: set[str], now: datetime
                          ) -> set[str]:
    """Those of `token_ids` that are revoked, expired or gone: what a process that may have
    missed a revocation message checks its open websockets against."""
    if not token_ids:
        return set()
    async with sessions() as session:
        rows = (await session.execute(select(Token.id, Token.revoked_at, Token.expires_at)
                                      .where(Token.id.in_(token_ids)))).all()
    valid = {row.id for row in rows if row.revoked_at is None
             and (row.expires_at is None or _aware(row.expires_at) > now)}
    return token_ids - valid


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TokenVerifier:
    """Looks tokens up by hash, caching answers for `cache_seconds` so a busy provider costs
    no SQL. `recheck` (a task under the supervisor) confirms every token used lately in one
    query, twice per cache period, so an active token is never looked up on its own request
    and a revocation still takes effect within `cache_seconds` when its message is lost."""

    def __init__(self, sessions: async_sessionmaker, cache_seconds: float) -> None:
        self.sessions = sessions
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Actor | None]] = {}
        self._used: set[str] = set()  # hashes answered from the cache since the last recheck

    def known(self, token: str) -> Actor | None:
        """The token's actor if a lookup within the cache time found it valid, else None
        (unknown, refused, or not looked up lately): a hot path's answer without I/O."""
        key = digest(token)
        hit = self._cache.get(key)
        if hit and hit[1] is not None and hit[0] > time.monotonic():
            self._used.add(key)
            return hit[1]
        return None

    async def actor(self, token: str) -> Actor | None:
        key = digest(token)
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        async with self.sessions() as session:
            row = (await session.execute(
                select(Token).where(Token.token_hash == key))).scalar_one_or_none()
        actor = None
        until = time.monotonic() + self.cache_seconds
        if (row is not None and row.revoked_at is None
                and hmac.compare_digest(row.token_hash, key)
                and (row.expires_at is None or _aware(row.expires_at) > datetime.now(UTC))):
            actor = Actor(token_id=row.id, role=row.role, organization_id=row.organization_id,
                          label=row.label, expires_at=row.expires_at)
            until = self._until(time.monotonic(), actor)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (until, actor)
        return actor

    async def recheck(self) -> None:
        """Confirm the cached valid tokens used since the last recheck in one SQL query and
        extend each by `cache_seconds` from the query's start; drop the rest. Unused answers
        lapse on their own."""
        used, self._used = self._used, set()
        started = time.monotonic()
        cached = {key: (hit[0], hit[1]) for key in used
                  if (hit := self._cache.get(key)) is not None and hit[1] is not None
                  and hit[0] > started}
        if not cached:
            return
        ids = {actor.token_id for _, actor in cached.values()}
        gone = await no_longer_valid(self.sessions, ids, datetime.now(UTC))
        for key, (until, actor) in cached.items():
            if actor.token_id in gone:
                self._cache.pop(key, None)
            elif self._cache.get(key) == (until, actor):  # not forgotten meanwhile
                self._cache[key] = (max(until, self._until(started, actor)), actor)

    def _until(self, start: float, actor: Actor) -> float:
        """How long (monotonic) an answer confirmed at `start` may be cached: the cache time,
        never past the token's expiry."""
        until = start + self.cache_seconds
        if actor.expires_at is not None:
            left = (_aware(actor.expires_at) - datetime.now(UTC)).total_seconds()
            until = min(until, time.monotonic() + left)
        return until

    async def keep_confirmed(self) -> None:
        """Until cancelled: `recheck` twice per cache period. A failing recheck (SQL down)
        raises; the supervisor restarts it, and meanwhile answers simply lapse. Not run when
        `cache_seconds` is 0 (nothing is cached)."""
        while True:
            await asyncio.sleep(self.cache_seconds / 2)
            await self.recheck()

    def forget(self, _token_id: str | None = None) -> None:
        """Drop cached answers (all of them: revocations are rare, lookups are cheap)."""
        self._cache.clear()
        self._used.clear()
