"""A small system of care for the connector's tests: a detox program whose provider marks
clients discharge-pending, three residential programs of other organizations, and tokens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import Server
from tests.integration.live_helpers import next_message

WATCH = {"at_risk", "bed_match"}
NEEDS = {"gender": "female", "age": 34, "payer": "medi-cal"}


@dataclass
class World:
    server: Server
    detox_org: str
    detox: str
    residential: list[str]
    residential_orgs: list[str]
    units: list[str]
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def client(self, who: str) -> httpx.AsyncClient:
        return self.server.client(self.tokens[who])

    def ready_by(self, hours: float = 24) -> str:
        return (self.server.svc.clock() + timedelta(hours=hours)).isoformat()

    async def token(self, name: str, role: str, org: str | None = None) -> str:
        token = await self.server.token(role, org)
        actor = await self.server.svc.tokens.actor(token)
        assert actor is not None
        self.tokens[name], self.ids[name] = token, actor.token_id
        return token

    async def discharge(self, client_ref: str = "dtx-0042", who: str = "detox_provider"
                        ) -> dict[str, Any]:
        async with self.client(who) as client:
            reply = await client.post("/api/v1/discharges", json={
                "client_ref": client_ref, "from_program_id": self.detox,
                "ready_by": self.ready_by(), "needs": NEEDS})
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def refer(self, transition_id: str, programs: list[str], who: str = "nav",
                    client_ref: str = "dtx-0042") -> list[dict[str, Any]]:
        """Referrals of the transition's client to `programs`, sent by `who`."""
        async with self.client(who) as client:
            sent = await client.post("/api/v1/referrals", json={
                "client_ref": client_ref, "program_ids": programs,
                "transition_id": transition_id})
        assert sent.status_code == 201, sent.text
        return sent.json()

    async def claimed(self, who: str = "nav", client_ref: str = "dtx-0042") -> dict[str, Any]:
        created = await self.discharge(client_ref)
        async with self.client(who) as client:
            reply = await client.post(f"/api/v1/transitions/{created['id']}/claim")
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def timeline(self, transition_id: str, who: str = "nav") -> list[dict[str, Any]]:
        async with self.client(who) as client:
            reply = await client.get(f"/api/v1/transitions/{transition_id}/timeline")
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def changes(self, transition_id: str, who: str = "nav") -> list[dict[str, Any]]:
        """The timeline without the watch's findings (`at_risk`, `bed_match`), which the
        scheduled watch adds whenever it runs."""
        return [e for e in await self.timeline(transition_id, who) if e["kind"] not in WATCH]


async def build_world(server: Server) -> World:
    detox_org = await server.org("Harbor Detox")
    detox = await server.program(detox_org, name="Harbor Detox",
                                 level_of_care="withdrawal_management")
    orgs, programs, units = [], [], []
    for name in ("Oak House", "Pine House", "Elm House"):
        org = await server.org(name)
        program = await server.program(org, name=name, level_of_care="residential_sud")
        orgs.append(org)
        programs.append(program)
        units.append(await server.unit(program, capacity=6, available=2))
    world = World(server, detox_org, detox, programs, orgs, units)
    await world.token("detox_provider", "provider", detox_org)
    await world.token("nav", "navigator")
    await world.token("other_nav", "navigator")
    await world.token("supervisor", "supervisor")
    await world.token("oak_provider", "provider", orgs[0])
    await world.token("pine_provider", "provider", orgs[1])
    await world.token("elm_provider", "provider", orgs[2])
    return world



async def next_event(ws: Any, kind: str, timeout: float = 8.0) -> dict[str, Any]:
    """The next `transition_event` message whose event is of `kind` (earlier events, still
    being published when the socket opened, may come first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await next_message(ws, "transition_event", deadline - loop.time())
        if message["event"]["kind"] == kind:
            return message
