"""What a fault test drives the app with: a steady provider and a resuming subscriber."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException


async def make_units(client: httpx.AsyncClient, count: int) -> list[str]:
    org = (await client.post("/api/v1/organizations", json={"name": "Fault Org"})).json()["id"]
    program = (await client.post("/api/v1/programs", json={
        "organization_id": org, "name": "Fault Program", "level_of_care": "shelter"})).json()
    units = []
    for i in range(count):
        reply = await client.post(f"/api/v1/programs/{program['id']}/units",
                                  json={"label": f"U{i}", "capacity": 100_000})
        reply.raise_for_status()
        units.append(reply.json()["id"])
    return units


@dataclass
class Provider:
    """Sends PUTs round-robin over `units`; remembers exactly what was acknowledged."""

    bases: list[str]
    token: str
    units: list[str]
    acked: dict[str, tuple[int, int]] = field(default_factory=dict)  # unit -> (value, seq)
    acked_seqs: list[int] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    pause: float = 0.003  # between updates

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        clients = [httpx.AsyncClient(base_url=b, headers=headers, timeout=5) for b in self.bases]
        value = 0
        try:
            while not self.stop.is_set():
                value += 1
                unit = self.units[value % len(self.units)]
                client = clients[value % len(clients)]
                try:
                    reply = await client.put(f"/api/v1/units/{unit}/availability",
                                             json={"available": value})
                except httpx.HTTPError:
                    self.outcomes["connection error"] += 1
                    await asyncio.sleep(0.02)
                    continue
                if reply.status_code == 200:
                    body = reply.json()
                    assert body["available"] == value
                    self.acked[unit] = (value, body["seq"])
                    self.acked_seqs.append(body["seq"])
                    self.outcomes["acknowledged"] += 1
                else:
                    assert reply.status_code == 503, reply.text
                    self.outcomes["refused 503"] += 1
                    await asyncio.sleep(0.02)
                await asyncio.sleep(self.pause)
        finally:
            for client in clients:
                await client.aclose()

    async def until_acked(self, count: int, timeout: float = 30) -> None:
        target = len(self.acked_seqs) + count
        async with asyncio.timeout(timeout):
            while len(self.acked_seqs) < target:
                await asyncio.sleep(0.02)


@dataclass
class Subscriber:
    """Follows /ws/inventory, reconnecting with ?after= to whichever base answers."""

    bases: list[str]
    token: str
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)
    snapshots: int = 0
    reconnects: int = 0
    last: int | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        attempt = 0
        while not self.stop.is_set():
            base = self.bases[attempt % len(self.bases)].replace("http", "ws", 1)
            after = f"&after={self.last}" if self.last is not None else ""
            try:
                async with connect(f"{base}/ws/inventory?token={self.token}{after}",
                                   open_timeout=3) as ws:
                    attempt = 0
                    while not self.stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            self.take(orjson.loads(await asyncio.wait_for(ws.recv(), 0.5)))
            except (OSError, WebSocketException, TimeoutError):
                attempt += 1
                self.reconnects += 1
                await asyncio.sleep(min(0.1 * attempt, 1.0))

    def take(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot":
            self.snapshots += 1
            self.units = {u["id"]: u for u in message["units"]}
            self.last = message["seq"]
        elif message["type"] == "unit":
            assert self.last is None or message["seq"] > self.last, "seq went backwards"
            self.units[message["unit"]["id"]] = message["unit"]
            self.seqs.append(message["seq"])
            self.last = message["seq"]
