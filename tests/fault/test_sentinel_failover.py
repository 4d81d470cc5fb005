"""High availability on Redis Sentinel: the primary is killed (SIGKILL) during a stream of
provider updates, after its replica fell behind (its replication link held, so it missed
the last acknowledged writes). The sentinels promote the replica; the app follows it,
notices that SQL holds seqs the new primary never saw, rebuilds the live state from SQL,
and loses no acknowledged update; the subscriber resumes from a fresh snapshot."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest

from inventory.config import Settings, load_settings
from tests.conftest import free_port
from tests.fault.client import Provider, Subscriber, make_units
from tests.fault.conftest import admin_token
from tests.fault.sentinel import REDIS_SERVER, SentinelCluster
from tests.fault.test_redis_killed import recorded_seqs, wait_ready
from tests.processes import app_process

pytestmark = [
    pytest.mark.slow, pytest.mark.timeout(120),
    # CI (.ci/run) runs Debian's redis-server anyway, so there a missing one is a failure.
    pytest.mark.skipif(not REDIS_SERVER.exists() and not os.environ.get("CI"),
                       reason="needs Debian's redis-server (apt-get install redis-server)"),
]
PREFIX = "bf{sentinel}:"
FAILOVER_SECONDS = 30.0
REBUILT = 500_000  # a rebuild starts seqs seq_rebuild_gap (1,000,000) above the recorded


async def test_failover_to_a_replica_that_missed_writes_loses_nothing_acknowledged(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = SentinelCluster(tmp_path / "redis")
    await cluster.start()
    try:
        settings: Settings = load_settings(
            data_dir=tmp_path, redis_url=None, database_url=database_url,
            redis_prefix=PREFIX, token_cache_seconds=0.0, heartbeat_seconds=1.0,
            rate_limit_writes="", rate_limit_reads="")
        token = await admin_token(settings)
        monkeypatch.setenv("BEDFINDER_REDIS_SENTINELS", cluster.sentinel_hosts)
        monkeypatch.setenv("BEDFINDER_REDIS_SENTINEL_SERVICE", "bedfinder")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with app_process(settings, tmp_path / "app", port):
            async with httpx.AsyncClient(
                    base_url=base, timeout=5,
                    headers={"Authorization": f"Bearer {token}"}) as client:
                units = await make_units(client, 4)
                provider = Provider([base], token, units)
                subscriber = Subscriber([base], token)
                tasks = [asyncio.create_task(provider.run()),
                         asyncio.create_task(subscriber.run())]
                try:
                    await provider.until_acked(60)

                    cluster.link.hold()  # the replica falls behind from here
                    await provider.until_acked(30)
                    # From now on one unit is left alone: only the rebuild from SQL can give it
                    # back its last acknowledged count, which the replica never received.
                    quiet = units[-1]
                    provider.units = units[:-1]
                    await provider.until_acked(3)
                    primary_seq = int(cluster.primary.client().get(PREFIX + "seq") or 0)
                    replica_seq = int(cluster.replica.client().get(PREFIX + "seq") or 0)
                    acked_before_kill = max(provider.acked_seqs)
                    assert replica_seq < provider.acked[quiet][1] <= primary_seq, \
                        "the replica should have missed acknowledged writes"

                    cluster.primary.kill()
                    killed_at = time.monotonic()
                    # Acknowledged by the promoted replica after the rebuild (seqs jump there).
                    async with asyncio.timeout(FAILOVER_SECONDS):
                        while max(provider.acked_seqs) < acked_before_kill + REBUILT:
                            await asyncio.sleep(0.05)
                    first_ack_after = time.monotonic() - killed_at
                    await wait_ready(client, True, timeout=FAILOVER_SECONDS)
                    await provider.until_acked(60)

                    provider.stop.set()
                    await asyncio.sleep(1.5)  # let the subscriber catch up
                finally:
                    provider.stop.set()
                    subscriber.stop.set()
                    await asyncio.wait_for(asyncio.gather(*tasks), 10)
                live = {u: (await client.get(f"/api/v1/units/{u}")).json() for u in units}
            promoted = cluster.primary_port_now()
    finally:
        await cluster.stop()

    assert promoted == cluster.replica.port, "the sentinels should have promoted the replica"
    assert set(provider.acked_seqs) <= await recorded_seqs(settings), "acknowledged lost"
    assert len(provider.acked_seqs) == len(set(provider.acked_seqs)), "a seq was reused"
    assert live[quiet]["available"] == provider.acked[quiet][0], "the missed write is back"
    for unit, (value, seq) in provider.acked.items():
        assert live[unit]["available"] == value, (unit, live[unit], value)
        assert live[unit]["seq"] >= seq
        assert subscriber.units[unit]["available"] == value
    assert subscriber.snapshots >= 2, "the subscriber should have resynced after the rebuild"
    print(f"\nsentinel failover: replica missed {acked_before_kill - replica_seq} seqs; "
          f"{dict(provider.outcomes)}; first acknowledgement on the promoted replica "
          f"{first_ack_after:.2f} s after the kill; subscriber snapshots "
          f"{subscriber.snapshots}, reconnects {subscriber.reconnects}")
