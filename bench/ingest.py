"""Provider updates acknowledged per second through the HTTP API, one app process.

    python -m bench.ingest --seconds 10 --connections 32 [--database sqlite|postgres]

Many providers (one token each, so each stays within its rate limit) send `PUT
/api/v1/units/{id}/availability` as fast as the app answers, over keep-alive connections.
Afterwards every acknowledged seq is looked up in the SQL audit log: an acknowledgement
without its row counts as lost. Exits 1 if any was.
"""

from __future__ import annotations

import asyncio
import time

import orjson
import typer
from sqlalchemy import func, select

from bench.common import bench_settings, percentiles, profiler, running_app
from bench.directory import provider_tokens, small_directory
from bench.drive import CpuMeter
from bench.rawhttp import connect
from inventory.config import Settings
from inventory.database import create_engine
from inventory.records import AuditEntry

TARGET = 2000


async def drive(base: str, units: list[str], tokens: list[str], connections: int,
                seconds: float) -> tuple[list[int], list[float], dict[int, int]]:
    """Closed loop: each connection sends its next update when the last is answered."""
    acked: list[int] = []
    latencies: list[float] = []
    refused: dict[int, int] = {}
    stop = time.monotonic() + seconds

    async def worker(k: int) -> None:
        conn = await connect(base)
        i = k
        while time.monotonic() < stop:
            unit, token = units[i % len(units)], tokens[i % len(tokens)]
            body = orjson.dumps({"available": i % 4, "note": f"ingest {i}"})
            start = time.perf_counter()
            status, reply = await conn.request(
                "PUT", f"/api/v1/units/{unit}/availability", body,
                f"Authorization: Bearer {token}\r\n")
            latencies.append((time.perf_counter() - start) * 1000)
            if status == 200:
                acked.append(orjson.loads(reply)["seq"])
            else:
                refused[status] = refused.get(status, 0) + 1
            i += connections

    await asyncio.gather(*(worker(k) for k in range(connections)))
    return acked, latencies, refused


async def recorded(settings: Settings, seqs: list[int]) -> int:
    """How many of `seqs` have their row in the audit log."""
    engine = create_engine(settings.sqlalchemy_url())
    found = 0
    async with engine.connect() as conn:
        for start in range(0, len(seqs), 5000):
            chunk = seqs[start:start + 5000]
            found += await conn.scalar(select(func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.seq.in_(chunk))) or 0
    await engine.dispose()
    return found


def main(seconds: float = 10, connections: int = 32, providers: int = 400,
         database: str = typer.Option("sqlite", help="sqlite, postgres, or a URL."),
         redis: str = typer.Option("embedded", help="embedded, or a redis:// URL."),
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs, loses nothing."),
         profile: str = typer.Option("", help="Write py-spy collapsed stacks of the app here."),
         ) -> None:
    if smoke:
        seconds, connections, providers = 1, 4, 20
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    with bench_settings(database, redis) as settings:
        units = small_directory(settings)
        tokens = provider_tokens(settings, providers)
        with running_app(settings) as (base, pid):
            asyncio.run(drive(base, units, tokens, connections, 1))  # warm up (token cache)
            spy = profiler(pid, profile, seconds) if profile else None
            cpu = CpuMeter(pid)
            started = time.monotonic()
            acked, latencies, refused = asyncio.run(
                drive(base, units, tokens, connections, seconds))
            elapsed = time.monotonic() - started
            cpu_ms = cpu.percent() * elapsed * 10 / max(len(acked), 1)
            if spy is not None:
                spy.wait(60)
        in_log = asyncio.run(recorded(settings, acked))
        backend = settings.sqlalchemy_url().split(":")[0]
    rate = len(acked) / elapsed
    stats = percentiles(latencies or [float("nan")])
    print(f"ingest on {backend}: {len(acked)} updates acknowledged in {elapsed:.1f} s = "
          f"{rate:.0f}/s over {connections} connections, {providers} provider tokens; "
          f"latency p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms; refused {refused}; "
          f"in the audit log {in_log}/{len(acked)}; app CPU {cpu_ms:.2f} ms per update "
          f"(at most {1000 / cpu_ms:.0f}/s on one free core)")
    print(f"target >= {TARGET}/s acknowledged, each in the audit log: "
          f"{'met' if rate >= TARGET and in_log == len(acked) else 'NOT met'}")
    if in_log != len(acked) or not acked:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
