"""Provider updates acknowledged per second through the HTTP API, against a bare FastAPI
app measured in the same run.

    python -m bench.ingest --seconds 10 --connections 32 [--workers N] [--batch 100]
                           [--database sqlite|postgres] [--redis embedded|redis://...]

Many providers (one token each, so each stays within its rate limit) send `PUT
/api/v1/units/{id}/availability` as fast as the app answers, over keep-alive connections;
with `--batch N`, also `PUT /api/v1/availability` with N units each. The same client first
drives `bench.bare_api` (FastAPI, the same pydantic body, answered from memory) on the same
uvicorn, so the ratio app / bare is a fair reading on a loaded machine. Afterwards every
acknowledged seq is looked up in the SQL audit log: an acknowledgement without its row
counts as lost. Exits 1 if any was. CPU per update is the app's (every worker) and, with
the embedded Redis, redis-server's, over the measured window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psutil
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
BATCH_TARGET = 20_000
BARE = "bench.bare_api:app_factory"
IDLE_SECONDS = 3.0
# (path, body, token) for the i-th request
Request = Callable[[int], tuple[str, bytes, str]]


@dataclass
class Run:
    name: str
    requests: int = 0
    seqs: list[int] = field(default_factory=list)  # acknowledged updates
    latencies: list[float] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    app_cpu: float = 0.0  # share of one core
    redis_cpu: float = 0.0
    idle_cpu: float = 0.0  # the app's share of a core with nothing sent (its own jobs)
    steal: float = 0.0  # the machine's CPU time taken by its hypervisor during the run

    @property
    def rate(self) -> float:
        return len(self.seqs) / self.seconds if self.seconds else 0.0

    def cpu_ms(self, share: float) -> float:
        return share * self.seconds * 1000 / max(len(self.seqs), 1)

    def line(self) -> str:
        stats = percentiles(self.latencies or [float("nan")])
        return (f"{self.name}: {len(self.seqs)} updates acknowledged in {self.seconds:.1f} s "
                f"= {self.rate:,.0f}/s ({self.requests} requests); latency p50 "
                f"{stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms; refused {self.refused}; "
                f"CPU per update: app {self.cpu_ms(self.app_cpu):.3f} ms "
                f"({self.cpu_ms(max(self.app_cpu - self.idle_cpu, 0)):.3f} ms net of its "
                f"{100 * self.idle_cpu:.0f}% idle load)"
                + (f", redis {self.cpu_ms(self.redis_cpu):.3f} ms" if self.redis_cpu else "")
                + f"; steal {100 * self.steal:.0f}% of the machine's CPU")


def singles(units: list[str], tokens: list[str]) -> Request:
    def request(i: int) -> tuple[str, bytes, str]:
        body = orjson.dumps({"available": i % 4, "note": f"ingest {i}"})
        return f"/api/v1/units/{units[i % len(units)]}/availability", body, tokens[i % len(tokens)]
    return request


def batches(units: list[str], tokens: list[str], size: int) -> Request:
    def request(i: int) -> tuple[str, bytes, str]:
        start = (i * size) % len(units)
        chosen = (units + units)[start:start + size]
        body = orjson.dumps({"updates": [{"unit_id": u, "available": (i + k) % 4}
                                         for k, u in enumerate(chosen)]})
        return "/api/v1/availability", body, tokens[i % len(tokens)]
    return request


def acknowledged(reply: bytes) -> list[int]:
    answer = orjson.loads(reply)
    if "results" in answer:
        return [r["seq"] for r in answer["results"] if r["status"] == 200]
    return [answer["seq"]]


async def drive(base: str, request: Request, connections: int, seconds: float, run: Run
                ) -> None:
    """Closed loop: each connection sends its next request when the last is answered."""
    stop = time.monotonic() + seconds

    async def worker(k: int) -> None:
        conn = await connect(base)
        i = k
        while time.monotonic() < stop:
            path, body, token = request(i)
            start = time.perf_counter()
            status, reply = await conn.request("PUT", path, body,
                                               f"Authorization: Bearer {token}\r\n")
            run.latencies.append((time.perf_counter() - start) * 1000)
            run.requests += 1
            if status == 200:
                run.seqs.extend(acknowledged(reply))
            else:
                run.refused[status] = run.refused.get(status, 0) + 1
            i += connections

    await asyncio.gather(*(worker(k) for k in range(connections)))


def measure(name: str, base: str, pid: int, request: Request, connections: int,
            seconds: float, redis_pid: int | None, profile: str = "") -> Run:
    asyncio.run(drive(base, request, connections, 1, Run("warm-up")))  # token cache, pools
    idle = CpuMeter(pid)
    time.sleep(IDLE_SECONDS)
    idle_cpu = idle.percent() / 100
    spy = profiler(pid, profile, seconds) if profile else None
    run = Run(name, idle_cpu=idle_cpu)
    app, redis = CpuMeter(pid), CpuMeter(redis_pid) if redis_pid else None
    started, machine = time.monotonic(), psutil.cpu_times()
    asyncio.run(drive(base, request, connections, seconds, run))
    run.seconds = time.monotonic() - started
    run.steal = steal_share(machine, psutil.cpu_times())
    run.app_cpu = app.percent() / 100
    run.redis_cpu = redis.percent() / 100 if redis else 0.0
    if spy is not None:
        spy.wait(60)
    return run


def steal_share(before: Any, after: Any) -> float:
    """The share of the machine's CPU time its hypervisor gave to others between two
    `psutil.cpu_times()` (0 where the kernel does not report steal). A run with much of it
    is slower for reasons of the host's, not of the code's: compare ratios within a run."""
    total = sum(after) - sum(before)
    stolen = getattr(after, "steal", 0.0) - getattr(before, "steal", 0.0)
    return stolen / total if total > 0 else 0.0


def embedded_redis_pid() -> int | None:
    """bench_settings starts the embedded redis-server as a child of this process."""
    for child in psutil.Process().children(recursive=True):
        if "redis" in child.name():
            return child.pid
    return None


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


def main(seconds: float = 10, connections: int = 32, providers: int = 500,
         workers: int = typer.Option(1, help="App processes (uvicorn --workers)."),
         batch: int = typer.Option(0, help="Also measure batches of this many units."),
         baseline: bool = typer.Option(True, help="Measure the bare FastAPI app first."),
         database: str = typer.Option("sqlite", help="sqlite, postgres, or a URL."),
         redis: str = typer.Option("embedded", help="embedded, or a redis:// URL."),
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs, loses nothing."),
         profile: str = typer.Option("", help="Write py-spy collapsed stacks of the app here."),
         ) -> None:
    if smoke:
        seconds, connections, providers, batch = 1, 4, 20, batch or 10
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    runs: list[Run] = []
    with bench_settings(database, redis) as settings:
        units = small_directory(settings, programs=max(20, batch // 5 + 1))
        tokens = provider_tokens(settings, providers)
        one, many = singles(units, tokens), batches(units, tokens, batch)
        if baseline:
            with running_app(settings, workers, factory=BARE) as (base, pid):
                runs.append(measure("bare FastAPI, one unit per PUT", base, pid, one,
                                    connections, seconds, None))
                if batch:
                    runs.append(measure(f"bare FastAPI, batches of {batch}", base, pid, many,
                                        connections, seconds, None))
        redis_pid = embedded_redis_pid()
        with running_app(settings, workers) as (base, pid):
            app_one = measure(f"Bedfinder x{workers}, one unit per PUT", base, pid, one,
                              connections, seconds, redis_pid, profile)
            runs.append(app_one)
            if batch:
                runs.append(measure(f"Bedfinder x{workers}, batches of {batch}", base, pid,
                                    many, connections, seconds, redis_pid,
                                    profile.replace(".txt", "") + "-batch.txt" if profile
                                    else ""))
        app_runs = [r for r in runs if r.name.startswith("Bedfinder")]
        every = [s for r in app_runs for s in r.seqs]
        in_log = asyncio.run(recorded(settings, every))
        backend = settings.sqlalchemy_url().split(":")[0]
    print(f"ingest on {backend}, {connections} connections, {providers} provider tokens, "
          f"{workers} app process(es):")
    for run in runs:
        print("  " + run.line())
    by_name = {r.name.split(",")[1].strip(): r for r in runs if not r.name.startswith("Bed")}
    for run in app_runs:
        bare = by_name.get(run.name.split(",")[1].strip())
        if bare is not None and bare.rate:
            print(f"  ratio {run.name}: {run.rate / bare.rate:.2f}x the bare app")
    print(f"  in the audit log: {in_log}/{len(every)}")
    met = app_one.rate >= TARGET * workers and in_log == len(every)
    print(f"target >= {TARGET}/s per process acknowledged, each in the audit log: "
          f"{'met' if met else 'NOT met'}")
    if batch:
        rate = app_runs[-1].rate
        print(f"batch target >= {BATCH_TARGET}/s per process: "
              f"{'met' if rate >= BATCH_TARGET * workers else 'NOT met'} ({rate:,.0f}/s)")
    if in_log != len(every) or not every:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
