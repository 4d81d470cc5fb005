"""Polling feeds: two app processes run each poll once per interval; failures back off and
show on GET /api/v1/feeds."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime

import pytest

from feeds import polling
from feeds.status import FeedStatus
from tests.conftest import free_port
from tests.feeds.local_http import local_http_server
from tests.processes import app_process

SERVICE = "5d4c1c1e-0b9a-4a53-9d4e-6a0f0f4b9c01"
CAPACITY = "5d4c1c1e-0b9a-4a53-9d4e-6a0f0f4b9c02"


def hsds_service(hit: int) -> tuple[int, str, bytes]:
    service = {"id": SERVICE, "name": "County Shelter", "status": "active",
               "organization": {"id": "county-org", "name": "County", "description": "x"},
               "capacities": [{"id": CAPACITY, "available": hit % 10, "maximum": 10,
                               "unit": {"id": "u", "name": "Bed", "identifier": "bed"},
                               "updated": datetime.now(UTC).isoformat()}]}
    return 200, "application/json", json.dumps(service).encode()


@pytest.fixture
def feed_source():
    with local_http_server() as source:
        source.reply = hsds_service
        yield source


@pytest.fixture
def settings(settings, feed_source):
    settings.feeds = [{"name": "county", "kind": "hsds", "url": feed_source.url + "/feed",
                       "interval_seconds": 1, "mapping": {"level_of_care": "shelter"}}]
    return settings


@pytest.mark.slow  # starts extra processes
async def test_two_processes_polling_one_feed_run_it_once_per_interval(
        server, feed_source, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("BEDFINDER_FEEDS", json.dumps(settings.feeds))
    with app_process(settings, tmp_path / "second", free_port()):
        start = len(feed_source.received)
        await asyncio.sleep(4.0)
        hits = feed_source.received[start:]
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    # Two schedulers fire every second each; unguarded they fetch about 8 times in 4 s with
    # gaps of 0.3-0.6 s. Guarded, a run is claimed at most once per 0.9 s (arrival times at
    # this server jitter a little under load).
    assert 3 <= len(hits) <= 5, gaps
    assert min(gaps) >= 0.5, gaps
    state = (await server.svc.live.units([CAPACITY]))[CAPACITY]
    assert state.source == "feed:county" and state.capacity == 10
    async with server.client(await server.token("admin")) as http:
        status = (await http.get("/api/v1/feeds")).json()["feeds"][0]
    assert status["name"] == "county" and status["failures"] == 0
    assert status["last_success"] and status["next_run"] and status["runs"] >= len(hits) - 1


async def test_failing_feed_backs_off_counts_failures_and_recovers(server):
    status = FeedStatus(server.svc.redis, server.settings.redis_prefix)
    with local_http_server() as broken:
        broken.reply = lambda n: (503, "text/plain", b"maintenance")
        feed = {"name": "flaky", "kind": "edxl_have", "url": broken.url,
                "interval_seconds": 0.3}
        await polling.poll(server.svc, feed, status)
        first = await status.get("flaky")
        assert first["failures"] == 1 and "503" in first["last_error"]
        await polling.poll(server.svc, feed, status)  # not due yet: no request
        assert len(broken.received) == 1
        await asyncio.sleep(0.35)
        await polling.poll(server.svc, feed, status)
        second = await status.get("flaky")
        assert second["failures"] == 2 and len(broken.received) == 2
        wait = (datetime.fromisoformat(second["next_run"]) -
                datetime.fromisoformat(second["last_error_at"])).total_seconds()
        assert wait == pytest.approx(0.6, abs=0.01)  # doubled
        broken.reply = lambda n: (200, "application/xml",
                                  (b"<HospitalStatus><Hospital><Organization><OrganizationID>"
                                  b"H1</OrganizationID></Organization></Hospital>"
                                  b"</HospitalStatus>"))
        deadline = time.monotonic() + 2
        while (await status.get("flaky"))["failures"] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            await polling.poll(server.svc, feed, status)
        recovered = await status.get("flaky")
    assert recovered["failures"] == 0 and recovered["last_success"]
    assert recovered["last_error"]  # the last error stays visible after recovery
