"""A Sentinel-managed Redis for fault tests, from Debian's `redis-server` package: a primary,
a replica and three sentinels on free local ports, all started and killed by the test.

The replica replicates through `ReplicationLink`, a small TCP relay the test can hold: while
held, what the primary sends is dropped, so the replica misses writes the primary
acknowledged, which is what asynchronous replication does when the primary dies with writes
not yet shipped; holding the link makes it happen every run rather than by chance.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

import redis

from tests.conftest import free_port

REDIS_SERVER = Path("/usr/bin/redis-server")
SERVICE = "bedfinder"


class RedisProcess:
    def __init__(self, folder: Path, port: int, *args: str) -> None:
        self.folder = folder
        self.port = port
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), *self.args], cwd=self.folder,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.answers():
            assert self.process.poll() is None, f"redis-server on {self.port} exited"
            assert time.monotonic() < deadline, f"redis-server on {self.port} did not start"
            time.sleep(0.05)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class ReplicationLink:
    """A TCP relay from the replica to the primary; `hold()` drops what the primary sends
    from then on (the replica falls behind), and the relay closes when either side does."""

    def __init__(self, primary_port: int) -> None:
        self.primary_port = primary_port
        self.port = free_port()
        self.held = False
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    def hold(self) -> None:
        self.held = True

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.primary_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer, downstream=False),
                             self._pump(up_reader, writer, downstream=True))

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                    downstream: bool) -> None:
        try:
            while data := await source.read(65536):
                if downstream and self.held:
                    continue  # dropped: the replica never sees these writes
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sink.close()


class SentinelCluster:
    """Primary, replica (through a holdable link) and three sentinels on free ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.primary = RedisProcess(folder / "primary", free_port())
        self.primary.args = self._server_args(self.primary.port)
        self.link = ReplicationLink(self.primary.port)
        self.replica = RedisProcess(folder / "replica", free_port())
        self.replica.args = (*self._server_args(self.replica.port), "--replicaof",
                             "127.0.0.1", str(self.link.port))
        self.sentinels: list[RedisProcess] = []

    @staticmethod
    def _server_args(port: int) -> tuple[str, ...]:
        return ("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                "no", "--protected-mode", "no", "--repl-diskless-sync-delay", "0")

    @property
    def sentinel_hosts(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    async def start(self) -> None:
        self.primary.start()
        await self.link.start()
        await asyncio.to_thread(self.replica.start)
        for i in range(3):
            port = free_port()
            folder = self.folder / f"sentinel{i}"
            folder.mkdir(parents=True)
            conf = folder / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {folder}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                # Long, or the sentinels would "fix" the replica to replicate from the
                # primary directly (bypassing the link) failover-timeout after it starts.
                f"sentinel failover-timeout {SERVICE} 180000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n")
            sentinel = RedisProcess(folder, port, str(conf), "--sentinel")
            await asyncio.to_thread(sentinel.start)
            self.sentinels.append(sentinel)
        await self._until_replica_known()

    async def _until_replica_known(self, timeout: float = 30) -> None:
        """Until the replica is in sync and every sentinel lists it and its peers."""
        async with asyncio.timeout(timeout):
            while True:
                ok = await asyncio.to_thread(self._replica_known)
                if ok:
                    return
                await asyncio.sleep(0.2)

    def _replica_known(self) -> bool:
        try:
            if self.replica.client().info("replication").get("master_link_status") != "up":
                return False
            for sentinel in self.sentinels:
                client = sentinel.client()
                replicas: list[dict[str, Any]] = client.sentinel_slaves(SERVICE)  # type: ignore[assignment]
                peers: list[dict[str, Any]] = client.sentinel_sentinels(SERVICE)  # type: ignore[assignment]
                if len(replicas) != 1 or len(peers) != 2:
                    return False
                if replicas[0]["is_sdown"] or replicas[0]["is_disconnected"]:
                    return False
            return True
        except redis.RedisError:
            return False

    def primary_port_now(self) -> int:
        address: tuple[str, int] = self.sentinels[0].client(
        ).sentinel_get_master_addr_by_name(SERVICE)  # type: ignore[assignment]
        return int(address[1])

    async def stop(self) -> None:
        for process in (*self.sentinels, self.replica, self.primary):
            process.kill()
        await self.link.close()
