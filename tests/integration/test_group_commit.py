"""Audit rows of concurrent changes are committed together, and each caller returns only once
its own rows are in; a bad row fails its own caller, never the others in its batch."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, func, select

from inventory.clock import utcnow
from inventory.errors import RecordsUnavailable
from inventory.records import AuditEntry
from tests.conftest import Server


def row(seq: int, unit: str) -> AuditEntry:
    return AuditEntry(seq=seq, unit_id=unit, op="set", at=utcnow(), actor="test",
                      source="test", available=1, held=0, waitlist=0, capacity=5,
                      note=None, detail={})


async def test_a_bad_row_fails_only_its_caller(server: Server) -> None:
    sessions, writer = server.svc.sessions, server.svc.audit
    base = 10_000
    await writer.record([row(base, "u-x")])
    callers = [writer.record([row(base + k, f"u-{k}")]) for k in range(1, 40)]
    callers.insert(20, writer.record([row(base, "u-dup")]))  # seq taken: refused
    results = await asyncio.gather(*callers, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], RecordsUnavailable)
    assert isinstance(results[20], RecordsUnavailable)
    async with sessions() as session:
        count = (await session.execute(select(func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.seq >= base))).scalar()
    assert count == 40


async def test_concurrent_callers_share_transactions(server: Server) -> None:
    sessions, writer = server.svc.sessions, server.svc.audit
    commits = []
    listener = lambda _conn: commits.append(1)
    event.listen(server.svc.engine.sync_engine, "commit", listener)
    try:
        await asyncio.gather(*(writer.record([row(20_000 + k, "u")])
                               for k in range(50)))
    finally:
        event.remove(server.svc.engine.sync_engine, "commit", listener)
    assert len(commits) < 10, f"{len(commits)} transactions for 50 concurrent callers"
    async with sessions() as session:
        seqs = (await session.execute(select(AuditEntry.seq).where(
            AuditEntry.seq >= 20_000))).scalars().all()
    assert sorted(seqs) == list(range(20_000, 20_050))


async def test_a_caller_that_goes_away_does_not_break_the_writer(server: Server) -> None:
    sessions, writer = server.svc.sessions, server.svc.audit
    doomed = asyncio.create_task(writer.record([row(30_000, "u")]))
    others = [asyncio.create_task(writer.record([row(30_001 + k, "u")]))
              for k in range(5)]
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.gather(*others)
    await writer.record([row(30_100, "u")])
    async with sessions() as session:
        seqs = set((await session.execute(select(AuditEntry.seq).where(
            AuditEntry.seq >= 30_001))).scalars())
    assert {30_001, 30_002, 30_003, 30_004, 30_005, 30_100} <= seqs
