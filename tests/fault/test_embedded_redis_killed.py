"""`bedfinder serve` with the embedded Redis: kill -9 the redis-server under a stream of
provider updates. It is reaped and started again within seconds, the live state is rebuilt
from SQL, writes are refused with 503 only while it is down, the subscriber resumes, and no
acknowledged update is lost, all without restarting the app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from inventory.config import Settings, load_settings
from tests.conftest import free_port
from tests.fault.client import Provider, Subscriber, make_units
from tests.fault.conftest import admin_token
from tests.fault.test_redis_killed import recorded_seqs, wait_ready
from tests.processes import app_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
RECOVERY_SECONDS = 10.0


@contextlib.contextmanager
def bedfinder_serve(settings: Settings, data_dir: Path, port: int) -> Iterator[None]:
    """`bedfinder serve` as a user runs it, with no BEDFINDER_REDIS_URL (embedded Redis)."""
    env = {**app_env(settings, data_dir), "BEDFINDER_REDIS_URL": ""}
    command = [str(Path(sys.executable).parent / "bedfinder"), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "bedfinder serve exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "bedfinder serve not ready in 30 s"
            time.sleep(0.1)
        yield
    finally:
        process.terminate()  # stops the embedded Redis it started
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def redis_pid(sock: Path) -> int:
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=2)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def answering_pid(sock: Path) -> int | None:
    try:
        return redis_pid(sock)
    except (redis.RedisError, OSError):
        return None


def defunct(pid: int) -> bool:
    """Whether `pid` is still a process table entry (a zombie nobody reaped)."""
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


async def test_killed_embedded_redis_is_restarted_and_nothing_acknowledged_is_lost(
        tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    settings: Settings = load_settings(
        data_dir=data_dir, redis_url=None, database_url=database_url,
        token_cache_seconds=0.0, heartbeat_seconds=1.0, rate_limit_writes="",
        rate_limit_reads="")
    token = await admin_token(settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with bedfinder_serve(settings, data_dir, port):
        sock = data_dir.resolve() / "redis.sock"
        first = redis_pid(sock)
        async with httpx.AsyncClient(base_url=base, timeout=5,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            units = await make_units(client, 3)
            provider = Provider([base], token, units)
            subscriber = Subscriber([base], token)
            tasks = [asyncio.create_task(provider.run()), asyncio.create_task(subscriber.run())]
            await provider.until_acked(60)

            os.kill(first, signal.SIGKILL)
            killed_at = time.monotonic()
            refused_before = provider.outcomes["refused 503"]
            async with asyncio.timeout(RECOVERY_SECONDS):
                while (await asyncio.to_thread(answering_pid, sock)) in (None, first):
                    await asyncio.sleep(0.05)
            restarted = time.monotonic() - killed_at
            await wait_ready(client, True, timeout=RECOVERY_SECONDS)
            recovered = time.monotonic() - killed_at
            await provider.until_acked(60)  # accepted again, same app process

            provider.stop.set()
            await asyncio.sleep(1.5)  # let the subscriber catch up
            subscriber.stop.set()
            await asyncio.gather(*tasks)
            live = {u: (await client.get(f"/api/v1/units/{u}")).json() for u in units}
        second = redis_pid(sock)

    assert second != first, "a new redis-server should answer on the socket"
    assert not defunct(first), "the killed redis-server was left defunct"
    assert recovered < RECOVERY_SECONDS
    assert set(provider.acked_seqs) <= await recorded_seqs(settings), "acknowledged lost"
    for unit, (value, seq) in provider.acked.items():
        assert live[unit]["available"] == value, (unit, live[unit], value)
        assert live[unit]["seq"] >= seq
        assert subscriber.units[unit]["available"] == value
    assert subscriber.snapshots >= 2, "the subscriber should have resynced after the rebuild"
    print(f"\nembedded redis killed: {dict(provider.outcomes)} (503s during the outage: "
          f"{provider.outcomes['refused 503'] - refused_before}); a new redis-server after "
          f"{restarted:.2f} s, ready after {recovered:.2f} s; subscriber snapshots {subscriber.snapshots}, reconnects "
          f"{subscriber.reconnects}")
