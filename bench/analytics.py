"""Analytics on a month of demo history: how long each measure takes to answer.

    python -m bench.analytics [--days 30] [--database sqlite|postgres] [--repeat 3]

Seeds the demo directory, fills `--days` of simulated history (`bedfinder demo --history`),
then times each measure over the whole range, in process (SQL and Python, no HTTP), cold (the
first call, which may roll up the last hours) and warm (the best of `--repeat`). Prints
milliseconds; the goal is under 1000 ms per month-long question.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import typer

from bench.common import bench_settings
from inventory.database import upgrade_database
from inventory.measures import MEASURES, Question, answer
from inventory.system import build_system
from web.demo import seed
from web.demo_history import fill_history


async def measure_all(settings, days: int, repeat: int) -> None:  # type: ignore[no-untyped-def]
    await upgrade_database(settings)
    await seed(settings)
    svc = await build_system(settings, settings.redis_url)
    try:
        started = time.perf_counter()
        counts = await fill_history(settings, days)
        print(f"history: {days} days in {time.perf_counter() - started:.1f} s: {counts}")
        now = svc.clock()
        for bucket in ("day", "week"):
            q = Question(start=now - timedelta(days=days), end=now, now=now, bucket=bucket,
                         tz=ZoneInfo("America/Los_Angeles"), pathways=settings.pathways,
                         caseload_limit=settings.caseload_limit)
            print(f"\nbucket={bucket}  {'measure':<14} {'rows':>6} {'cold ms':>9} "
                  f"{'warm ms':>9}")
            for name in MEASURES:
                times, rows = [], 0
                for _ in range(repeat + 1):
                    t0 = time.perf_counter()
                    rows = len((await answer(name, svc.sessions, q)).rows)
                    times.append((time.perf_counter() - t0) * 1000)
                print(f"{'':<12}{name:<14} {rows:>6} {times[0]:>9.1f} {min(times[1:]):>9.1f}")
    finally:
        await svc.close()


def main(days: int = 30, database: str = "sqlite", repeat: int = 3) -> None:
    with bench_settings(database) as settings:
        asyncio.run(measure_all(settings, days, repeat))


if __name__ == "__main__":
    typer.run(main)
