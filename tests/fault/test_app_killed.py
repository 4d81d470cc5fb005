"""An app process killed (SIGKILL) during a stream of updates: nothing acknowledged is lost
and its websocket clients resume on another process without a gap."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from inventory.config import Settings
from tests.conftest import free_port
from tests.fault.client import Provider, Subscriber, make_units
from tests.fault.conftest import admin_token
from tests.fault.test_redis_killed import recorded_seqs
from tests.processes import app_process

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_killing_an_app_process_loses_nothing_and_clients_resume_elsewhere(
        fault_settings: Settings, tmp_path: Path) -> None:
    token = await admin_token(fault_settings)
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    with app_process(fault_settings, tmp_path / "a", ports[0]) as doomed, \
            app_process(fault_settings, tmp_path / "b", ports[1]):
        async with httpx.AsyncClient(base_url=bases[1], timeout=5,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            units = await make_units(client, 3)
            provider = Provider(bases, token, units)
            subscriber = Subscriber(bases, token)  # starts on the process about to die
            tasks = [asyncio.create_task(subscriber.run())]
            await asyncio.sleep(0.5)
            tasks.append(asyncio.create_task(provider.run()))
            await provider.until_acked(80)

            doomed.send_signal(signal.SIGKILL)
            await provider.until_acked(80)
            provider.stop.set()
            await asyncio.sleep(1.5)
            subscriber.stop.set()
            await asyncio.gather(*tasks)
            live = {u: (await client.get(f"/api/v1/units/{u}")).json() for u in units}

    assert subscriber.reconnects >= 1, "the subscriber never lost its process"
    assert subscriber.snapshots == 1, "resume should send the missed events, not a snapshot"
    seen = subscriber.seqs
    assert seen == list(range(seen[0], seen[0] + len(seen))), "a gap in the resumed stream"
    assert set(provider.acked_seqs) <= set(seen)
    assert set(provider.acked_seqs) <= await recorded_seqs(fault_settings)
    for unit, (value, _seq) in provider.acked.items():
        assert live[unit]["available"] == value
    print(f"\napp killed: {dict(provider.outcomes)}; subscriber saw {len(seen)} events, "
          f"reconnects {subscriber.reconnects}")
