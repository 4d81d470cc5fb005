"""Noticing that Redis lost live state and rebuilding it from SQL, then telling the stream
reader that the state it follows was replaced.

Two ways Redis can lose state:

- it came back empty (a restart, FLUSHDB, the embedded server restarted): no epoch;
- it went back in time: after a Sentinel failover to a replica that had not yet received the
  last acknowledged writes (replication is asynchronous), the seq counter is below the
  highest seq the SQL audit log holds. Every acknowledged change is in SQL before it is
  acknowledged, and every seq Redis hands out is above every seq it handed out before, so
  on a Redis that lost nothing the SQL maximum (read first) is never above the Redis seq
  (read second). When it is, the live state is marked not ready and rebuilt from SQL.

Until the watch has rebuilt, `Availability.seq_floor` (the SQL maximum seen here) makes a write
that Redis numbered at or below it fail with 503 instead of being acknowledged on top of a
state that lacks earlier acknowledged changes.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.availability import Availability
from inventory.live import LiveStore
from inventory.records import AuditEntry
from inventory.stream_reader import StreamReader

log = logging.getLogger(__name__)
WATCH_SECONDS = 0.5


async def recorded_max_seq(sessions: async_sessionmaker) -> int:
    """The highest seq in the audit log: every acknowledged change is at or below it."""
    async with sessions() as session:
        return int((await session.execute(select(func.max(AuditEntry.seq)))).scalar() or 0)


async def mark_not_ready(live: LiveStore, epoch: str) -> bool:
    """Clear the ready mark if it is still `epoch` (another process may have rebuilt
    already); writes then wait for, or run, the rebuild. True if this call cleared it."""
    async with live.redis.pipeline(transaction=True) as pipe:
        await pipe.watch(live.keys.epoch)
        if await pipe.get(live.keys.epoch) != epoch:
            return False
        pipe.multi()
        pipe.delete(live.keys.epoch)
        await pipe.execute()
        return True


async def check_once(live: LiveStore, availability: Availability) -> str:
    """One check: rebuild if Redis is empty or behind SQL; returns the current epoch."""
    recorded = await recorded_max_seq(availability.sessions)  # first: see the module docstring
    availability.seq_floor = max(availability.seq_floor, recorded)
    epoch = await live.epoch()
    if epoch is None:
        return await availability.rebuild()
    seq = await live.current_seq()
    if recorded > seq:
        log.error("Redis is behind SQL (seq %d, %d recorded): it lost acknowledged "
                  "changes (a failover to a replica that missed them?); rebuilding the live "
                  "state from SQL", seq, recorded)
        await mark_not_ready(live, epoch)
        return await availability.ensure_ready()
    return epoch


async def watch_live_state(live: LiveStore, availability: Availability, reader: StreamReader,
                           every: float = WATCH_SECONDS) -> None:
    """Check every `every` seconds until cancelled. Redis or SQL being down is logged and
    checked again (readiness reports it); it does not end the watch."""
    known = None
    while True:
        try:
            epoch = await check_once(live, availability)
            if known is not None and epoch != known:
                reader.replaced(epoch)
            known = epoch
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - Redis or SQL down: readiness says so
            log.warning("live state check failed: %s", error)
        await asyncio.sleep(every)
