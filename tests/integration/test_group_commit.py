"""Audit rows of concurrent changes are committed together, and each caller returns only once
its own rows are in; a bad row fails its own caller, never the others in its batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import event, func, insert, select

from inventory.audit import AUDIT_COLUMNS
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


async def test_rows_are_stored_exactly_as_a_core_insert_stores_them(server: Server) -> None:
    """On SQLite the writer hands rows to the driver itself (inventory/audit.py); what lands
    must be byte for byte what SQLAlchemy's own insert writes, or reading it back breaks."""
    at = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
    values = {"unit_id": "u-same", "op": "set", "at": at, "actor": "provider:tok-1",
              "source": "api", "available": 3, "held": 1, "waitlist": 0, "capacity": 5,
              "hold_id": None, "note": "caf\u00e9 'quoted'",
              "detail": {"expected_discharges": [{"at": at.isoformat(), "count": 2}]}}
    await server.svc.audit.record([{**values, "seq": 40_001}])
    async with server.svc.sessions() as session, session.begin():
        await session.execute(insert(AuditEntry), [{**values, "seq": 40_002}])
    columns = [c for c in AUDIT_COLUMNS if c != "seq"]
    async with server.svc.engine.connect() as conn:
        stored = (await conn.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM audit_log WHERE seq IN (40001, 40002) "
            "ORDER BY seq")).all()
    assert len(stored) == 2 and stored[0] == stored[1], stored
    async with server.svc.sessions() as session:
        read = (await session.execute(select(AuditEntry).where(AuditEntry.seq == 40_001))
                ).scalar_one()
    assert (read.at, read.detail, read.note, read.hold_id) == (
        at, values["detail"], values["note"], None)
