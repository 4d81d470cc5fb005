"""A Bedfinder of the simulation's own: `bedfinder simulate` without `--url` runs one in
simulation mode, on an embedded Redis and a SQLite file in a temporary folder, and removes
it afterwards. Nothing of it outlives the run."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from inventory.clock import utcnow
from inventory.config import load_settings
from inventory.database import create_engine, session_factory, upgrade_database
from inventory.tokens import create_token

START_SECONDS = 60.0
# The simulation drives thousands of requests a minute through one token, and its people
# wait for hours of simulated time: rate limits and the caseload cap would only get in the
# way of measuring the policies (a live deployment keeps its own).
OVERRIDES = {
    "BEDFINDER_SIMULATION_MODE": "true",
    "BEDFINDER_RATE_LIMIT_WRITES": "",
    "BEDFINDER_RATE_LIMIT_READS": "",
    "BEDFINDER_CASELOAD_LIMIT": "10000",  # the most the settings allow
    "BEDFINDER_HOLD_MINUTES": "240",
    # The expiry job ticks on the wall clock while the simulation moves time in jumps, so it
    # could expire a hold between the simulation's clock move and its admit; the simulation
    # ends its own holds.
    "BEDFINDER_HOLD_EXPIRY_CHECK_SECONDS": "3600",
    "BEDFINDER_REFERRAL_EXPIRY_MINUTES": "240",
}


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    admin_token: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BEDFINDER_REDIS_URL", "BEDFINDER_DATABASE_URL")}
    env.update(OVERRIDES, BEDFINDER_DATA_DIR=str(data_dir))
    return env


async def admin_token(data_dir: Path) -> str:
    """Migrate the new database and issue the simulation's admin token."""
    settings = load_settings(data_dir=data_dir, redis_url=None, database_url=None)
    await upgrade_database(settings)
    engine = create_engine(settings.sqlalchemy_url())
    try:
        token, _ = await create_token(session_factory(engine), "admin", utcnow(), None,
                                      "simulation")
        return token
    finally:
        await engine.dispose()


@contextmanager
def own_server() -> Iterator[Server]:
    """Start uvicorn in simulation mode; yield once /readyz answers; stop it after."""
    data_dir = Path(tempfile.mkdtemp(prefix="bedfinder-sim-"))
    port = free_port()
    token = asyncio.run(admin_token(data_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=environment(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}")
        yield Server(f"http://127.0.0.1:{port}", token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode()[-2000:] if process.stderr else ""
            raise RuntimeError(f"the simulation's Bedfinder exited at start: {err}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the simulation's Bedfinder was not ready in {START_SECONDS} s")
        time.sleep(0.1)
