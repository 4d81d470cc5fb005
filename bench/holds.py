"""Hold contention: many navigators ask at once for the last free beds, through two app
processes sharing Redis and SQL.

    python -m bench.holds --requests 1000 --beds 10

Opens one connection per request (half to each process), sends every `POST /api/v1/holds`
at once, and checks that exactly `beds` were granted (201) and the rest refused (409), that
the live state and the SQL holds table agree, and how long the whole burst took to settle.
Exits 1 if more or fewer than `beds` were granted, or anything else went wrong.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

import httpx
import orjson
import typer
from sqlalchemy import func, select

from bench.common import bench_settings, percentiles, running_app
from bench.directory import BENCH_TOKEN, provider_tokens, small_directory
from bench.rawhttp import connect
from inventory.config import Settings
from inventory.database import create_engine
from inventory.records import Hold


async def burst(bases: list[str], unit: str, tokens: list[str], requests: int
                ) -> tuple[dict[int, int], list[float], float]:
    """Connect first, then fire every request at once; (status counts, latencies, settle s)."""
    conns = await asyncio.gather(*(connect(bases[i % len(bases)]) for i in range(requests)))
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(i: int) -> None:
        body = orjson.dumps({"unit_id": unit, "client_ref": f"bench-{i}", "minutes": 30})
        status, _ = await conns[i].request("POST", "/api/v1/holds", body,
                                           f"Authorization: Bearer {tokens[i % len(tokens)]}\r\n")
        latencies.append((time.perf_counter() - start) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i) for i in range(requests)))
    settle = time.perf_counter() - start
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return statuses, latencies, settle


async def active_holds(settings: Settings, unit: str) -> int:
    engine = create_engine(settings.sqlalchemy_url())
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(Hold).where(
            Hold.unit_id == unit, Hold.status == "active")) or 0
    await engine.dispose()
    return count


def main(requests: int = 1000, beds: int = 10, processes: int = 2,
         database: str = typer.Option("sqlite", help="sqlite, postgres, or a URL."),
         redis: str = typer.Option("embedded", help="embedded, or a redis:// URL."),
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs and grants "
                                                "exactly the free beds.")) -> None:
    if smoke:
        requests, beds = 60, 5
    with bench_settings(database, redis) as settings:
        units = small_directory(settings)
        navigators = provider_tokens(settings, max(requests // 50, 1), role="navigator")
        unit = units[0]
        with ExitStack() as stack:
            bases = [stack.enter_context(running_app(settings))[0] for _ in range(processes)]
            admin = {"Authorization": f"Bearer {BENCH_TOKEN}"}
            reply = httpx.put(f"{bases[0]}/api/v1/units/{unit}/availability", headers=admin,
                              json={"available": beds, "capacity": beds}, timeout=30)
            reply.raise_for_status()
            statuses, latencies, settle = asyncio.run(burst(bases, unit, navigators, requests))
            live = httpx.get(f"{bases[1 % processes]}/api/v1/programs/prg-0", headers=admin,
                             timeout=30).json()
        state = next(u for u in live["units"] if u["id"] == unit)
        in_sql = asyncio.run(active_holds(settings, unit))
    granted, refused = statuses.get(201, 0), statuses.get(409, 0)
    other = {code: n for code, n in statuses.items() if code not in (201, 409)}
    stats = percentiles(latencies)
    print(f"holds: {requests} concurrent requests on {beds} free beds through {processes} "
          f"processes: granted {granted}, refused {refused}, other {other}; settled in "
          f"{settle * 1000:.0f} ms (answer p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} "
          f"ms); live available {state['available']}, held {state['held']}; "
          f"active holds in SQL {in_sql}")
    ok = (granted == beds and refused == requests - beds and state["held"] == beds
          and state["available"] == 0 and in_sql == beds)
    print(f"exactly {beds} granted, live state and SQL agree: {'yes' if ok else 'NO'}")
    if not ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
