"""Consistent non-compliance as Colorado's behavioral-health bed tracking statute frames it:
a program that goes 2 or more consecutive days without an update, or misses 5 or more days
in a month. Computed from the audit log over the last 30 whole days (UTC), counting only
days since the program's first recorded unit."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.directory import ProgramInfo
from inventory.records import AuditEntry

UPDATE_OPS = ("create", "set", "attest", "capacity")
WINDOW_DAYS = 30
CONSECUTIVE_LIMIT = 2
MONTHLY_LIMIT = 5


async def updated_days(sessions: async_sessionmaker, since: datetime
                       ) -> tuple[dict[str, set[date]], dict[str, date]]:
    """Days each unit was updated since `since`, and each unit's first recorded day."""
    async with sessions() as session:
        rows = await session.execute(
            select(AuditEntry.unit_id, AuditEntry.at)
            .where(AuditEntry.at >= since, AuditEntry.op.in_(UPDATE_OPS)))
        firsts = await session.execute(
            select(AuditEntry.unit_id, func.min(AuditEntry.at)).group_by(AuditEntry.unit_id))
        days: dict[str, set[date]] = defaultdict(set)
        for unit_id, at in rows:
            days[unit_id].add(_day(at))
        return days, {unit_id: _day(at) for unit_id, at in firsts if at is not None}


def _day(value: datetime | str) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.date()


async def noncompliance(sessions: async_sessionmaker, programs: dict[str, ProgramInfo],
                        now: datetime) -> list[dict[str, Any]]:
    last = now.date() - timedelta(days=1)
    first = last - timedelta(days=WINDOW_DAYS - 1)
    days, firsts = await updated_days(sessions, datetime.combine(first, datetime.min.time(),
                                                                 now.tzinfo))
    flagged = []
    for program in programs.values():
        unit_ids = [u.id for u in program.units]
        starts = [firsts[u] for u in unit_ids if u in firsts]
        if not starts:
            continue
        updated = set().union(*(days.get(u, set()) for u in unit_ids))
        start = max(first, min(starts))
        result = evaluate(updated, start, last)
        if result["flagged"]:
            flagged.append({"program_id": program.id, "program_name": program.name,
                            "organization_id": program.organization_id, **result})
    return flagged


def evaluate(updated: set[date], start: date, last: date) -> dict[str, Any]:
    missed, run, longest = 0, 0, 0
    day = start
    while day <= last:
        if day in updated:
            run = 0
        else:
            missed, run = missed + 1, run + 1
            longest = max(longest, run)
        day += timedelta(days=1)
    reasons = []
    if longest >= CONSECUTIVE_LIMIT:
        reasons.append(f"no update for {longest} consecutive days")
    if missed >= MONTHLY_LIMIT:
        reasons.append(f"no update on {missed} of the last {WINDOW_DAYS} days")
    return {"missed_days": missed, "longest_gap_days": longest, "flagged": bool(reasons),
            "reasons": reasons}
