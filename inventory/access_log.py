"""Who viewed what: an append-only record of every read of a hold, referral or transition.

A privacy officer asks "who looked at this client's referral?"; each row answers one read of
one record: who (the actor's name, so a person by display name and user id, a token by id),
when, which record and client reference, and from where (a signed-in page or the API, and
the path). Rows are never changed; rows older than `access_log_days` are deleted, at most
once an hour, by the process that records a read. Nothing here names a client: only the
opaque `client_ref` the navigator chose.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Integer, String, delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from inventory.actors import Actor
from inventory.records import Base

PURGE_EVERY_SECONDS = 3600.0
KINDS = ("hold", "referral", "transition")


class AccessRecord(Base):
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(300))
    actor_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    record_kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(64))
    client_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    via: Mapped[str] = mapped_column(String(8))  # "page" (signed-in session) or "api"
    path: Mapped[str] = mapped_column(String(300))


@dataclass(frozen=True, slots=True)
class Read:
    """One record that was shown to someone."""

    kind: str
    record_id: str
    client_ref: str | None


class AccessLog:
    """Appends reads and answers queries by client reference; it has no update at all."""

    def __init__(self, sessions: async_sessionmaker, keep_days: int) -> None:
        self.sessions = sessions
        self.keep = timedelta(days=keep_days)
        self._next_purge = 0.0

    async def record(self, actor: Actor, reads: list[Read], now: datetime, via: str,
                     path: str) -> None:
        """Append one row per record read, in one transaction with the answer's reads."""
        if not reads:
            return
        rows = [AccessRecord(at=now, actor=actor.name[:300], actor_id=actor.token_id,
                             role=actor.role, record_kind=r.kind, record_id=r.record_id,
                             client_ref=r.client_ref, via=via, path=path[:300]) for r in reads]
        async with self.sessions() as session, session.begin():
            session.add_all(rows)
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
            await self.purge(now)

    async def purge(self, now: datetime) -> int:
        """Delete rows older than the retention; returns how many went."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                delete(AccessRecord).where(AccessRecord.at < now - self.keep))
        return int(getattr(result, "rowcount", 0) or 0)

    async def find(self, client_ref: str | None = None, record_id: str | None = None,
                   since: datetime | None = None, limit: int = 10_000) -> list[AccessRecord]:
        """Reads of one client's records (or one record), oldest first."""
        query = select(AccessRecord).order_by(AccessRecord.at, AccessRecord.id).limit(limit)
        if client_ref is not None:
            query = query.where(AccessRecord.client_ref == client_ref)
        if record_id is not None:
            query = query.where(AccessRecord.record_id == record_id)
        if since is not None:
            query = query.where(AccessRecord.at >= since)
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())
