"""Freshness over a long range: in SQL (now) against loading every audit row (before).

    python -m bench.freshness [--days 400] [--programs 40] [--every 30]

Writes `--days` of audit rows straight into a fresh SQLite database (two units per program,
each confirming its counts every `--every` minutes, jittered), then answers `freshness`
over the whole range both ways and prints time, peak Python memory (tracemalloc) and
whether the two tables agree. `freshness_in_python` is the measure as it was before it
moved into SQL, kept here as the reference the tests compare with.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.audit import FRESHENING
from inventory.database import create_engine, migrate, session_factory
from inventory.history import NO_AREA
from inventory.measures import Question, Table, answer, median, r2
from inventory.records import AuditEntry, Organization, Program, Unit

START = datetime(2025, 10, 1, tzinfo=UTC)


async def freshness_in_python(sessions: async_sessionmaker, q: Question) -> Table:
    """The measure before: every audit row of the range into Python."""
    async with sessions() as session:
        programs = (await session.execute(select(Program))).scalars().all()
        units = dict((await session.execute(select(Unit.id, Unit.program_id))).all())
        times = (await session.execute(
            select(AuditEntry.unit_id, AuditEntry.at).where(
                AuditEntry.at >= q.start, AuditEntry.at < q.end,
                AuditEntry.op.in_(FRESHENING)).order_by(AuditEntry.at))).all()
    spoke: dict[str, list[datetime]] = defaultdict(list)
    for unit_id, at in times:
        program = units.get(unit_id)
        minute = at.replace(second=0, microsecond=0)
        if program and (not spoke[program] or spoke[program][-1] != minute):
            spoke[program].append(minute)
    until = min(q.end, q.now)
    out = []
    for p in programs:
        if not q.level_ok(p.level_of_care) or (q.area and p.area != q.area):
            continue
        cadence = timedelta(minutes=p.cadence_minutes or q.default_cadence)
        marks = [q.start, *spoke[p.id], until]
        gaps = [b - a for a, b in itertools.pairwise(marks) if b > a]
        between = [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(spoke[p.id])]
        stale = sum(max(timedelta(0), g - cadence).total_seconds() for g in gaps) / 3600
        out.append({"program_id": p.id, "program": p.name, "level": p.level_of_care,
                    "area": p.area or NO_AREA, "updates": len(spoke[p.id]),
                    "median_minutes_between_updates": median(between),
                    "cadence_minutes": int(cadence.total_seconds() // 60),
                    "hours_stale": r2(stale)})
    out.sort(key=lambda r: (-(r["hours_stale"] or 0), r["program_id"]))
    return Table("freshness", [], out)


def program_row(pid: str, cadence: int | None) -> dict[str, Any]:
    return {"id": pid, "organization_id": "org", "name": pid, "description": "",
            "level_of_care": "residential_sud", "area": "Mission", "latitude": 37.7,
            "longitude": -122.4, "genders": [], "payers": [], "languages": [], "mat": [],
            "cadence_minutes": cadence, "created_at": START, "updated_at": START}


async def seed(sessions: async_sessionmaker, days: int, programs: int, every: int,
               rng: random.Random) -> int:
    """Programs p0.. with two units each; unit updates every `every` minutes (+- jitter,
    now and then a long silence); returns the number of audit rows written."""
    async with sessions() as session, session.begin():
        await session.execute(insert(Organization), [{"id": "org", "name": "Org",
                                                      "created_at": START}])
        await session.execute(insert(Program), [program_row(f"p{i}", 30 + 30 * (i % 4))
                                                for i in range(programs)])
        await session.execute(insert(Unit), [
            {"id": f"p{i}u{k}", "program_id": f"p{i}", "label": f"u{k}", "capacity": 10,
             "created_at": START} for i in range(programs) for k in range(2)])
    seq, batch = 0, []
    end = START + timedelta(days=days)
    for i in range(programs):
        for k in range(2):
            t = START + timedelta(seconds=rng.randrange(3600))
            while t < end:
                seq += 1
                batch.append({"seq": seq, "unit_id": f"p{i}u{k}",
                              "op": rng.choice(("set", "set", "attest", "hold")), "at": t,
                              "actor": "bench", "source": "api", "available": 1, "held": 0,
                              "waitlist": 0, "capacity": 10, "detail": {}})
                silent = rng.random() < 0.002
                t += timedelta(minutes=every * (rng.uniform(0.5, 1.5) + (40 if silent else 0)),
                               seconds=rng.randrange(60))
                if len(batch) >= 20_000:
                    await _write(sessions, batch)
    await _write(sessions, batch)
    return seq


async def _write(sessions: async_sessionmaker, batch: list[dict[str, Any]]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(insert(AuditEntry), batch)
    batch.clear()


async def timed(fn: Any) -> tuple[Any, float, float]:
    """The result, seconds (timed alone), and peak Python MiB (a second run under
    tracemalloc, which slows Python down too much to time with)."""
    started = time.perf_counter()
    result = await fn()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    await fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


async def run(days: int, programs: int, every: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bf-bench-") as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await migrate(engine)
        sessions = session_factory(engine)
        started = time.perf_counter()
        rows = await seed(sessions, days, programs, every, random.Random(7))
        print(f"seeded {rows:,} audit rows ({days} days, {programs} programs) in "
              f"{time.perf_counter() - started:.1f} s")
        end = START + timedelta(days=days)
        q = Question(start=START, end=end, now=end)
        before = [await timed(lambda: freshness_in_python(sessions, q)) for _ in range(repeat)]
        after = [await timed(lambda: answer("freshness", sessions, q)) for _ in range(repeat)]
        for name, runs in (("in Python (before)", before), ("in SQL (after)", after)):
            secs = statistics.median(r[1] for r in runs)
            print(f"{name:<20} median {secs * 1000:8.0f} ms   peak Python memory "
                  f"{max(r[2] for r in runs):7.1f} MiB")
        print("tables agree:", before[0][0].rows == after[0][0].rows)
        await engine.dispose()


def main(days: int = 400, programs: int = 40, every: int = 30, repeat: int = 3) -> None:
    asyncio.run(run(days, programs, every, repeat))


if __name__ == "__main__":
    typer.run(main)
