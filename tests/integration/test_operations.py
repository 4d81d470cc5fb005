"""What operators see: Prometheus metrics, request ids, security headers, JSON logs that
carry no token."""

from __future__ import annotations

import json
import subprocess
import sys

from websockets.asyncio.client import connect

from tests.conftest import Server
from tests.integration.live_helpers import inventory_url, recv_json


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == (f"{name}{{{want}}}" if want else name):
            return float(value)
    return 0.0


async def test_metrics_count_updates_connections_and_delivery(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=1)
    provider = await server.token("provider", org)
    async with connect(inventory_url(server, await server.token("display"))) as ws:
        await recv_json(ws)
        async with server.client(provider) as client:
            for n in range(3):
                reply = await client.put(f"/api/v1/units/{unit}/availability",
                                         json={"available": n})
                assert reply.status_code == 200
        while (await recv_json(ws)).get("seq", 0) < reply.json()["seq"]:
            pass
        text = (await server.client().get("/metrics")).text
    assert sample(text, "bedfinder_websocket_connections") == 1
    assert sample(text, "bedfinder_stream_events_total", op="set") == 3
    assert sample(text, "bedfinder_stream_events_total", op="create") == 1
    assert sample(text, "bedfinder_delivery_seconds_count") == 4
    assert sample(text, "bedfinder_http_requests_total", method="PUT",
                  route="/api/v1/units/{unit_id}/availability", status="200") == 3
    # The unit was just updated: not stale.
    assert sample(text, "bedfinder_stale_units") == 0
    assert "bedfinder_feed_consecutive_failures" in text


async def test_every_response_has_a_request_id_and_security_headers(server: Server) -> None:
    async with server.client() as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        made = await client.get("/api/v1/programs")
        hostile = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" * 30})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    assert hostile.headers["x-request-id"] != "a b\tc" * 30
    for reply in (given, made):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["referrer-policy"] == "no-referrer"
    assert made.status_code == 401 and made.headers["cache-control"] == "no-store"


def test_json_logs_carry_the_request_id_and_never_a_token() -> None:
    script = (
        "import logging, logging.config\n"
        "from web.logs import REQUEST_ID, json_config\n"
        "logging.config.dictConfig(json_config())\n"
        "REQUEST_ID.set('req-7')\n"
        "logging.getLogger('uvicorn.error').info('GET /ws/inventory?token=bf_secret&after=3')\n"
        "logging.getLogger('web.access').info('Authorization: Bearer bf_other')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["request_id"] for line in lines] == ["req-7", "req-7"]
    assert [line["level"] for line in lines] == ["INFO", "INFO"]
    assert "bf_secret" not in out and "bf_other" not in out
    assert "token=[redacted]" in lines[0]["message"]
