"""Shared helpers for the live-inventory tests: websocket reads with timeouts, audit-log
queries and wiping one test's Redis keys."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from sqlalchemy import select

from inventory.records import AuditEntry
from tests.conftest import Server

RECV_SECONDS = 5.0


def inventory_url(server_or_url: Server | str, token: str, after: int | None = None) -> str:
    base = server_or_url if isinstance(server_or_url, str) else server_or_url.ws_url
    query = f"token={token}" + (f"&after={after}" if after is not None else "")
    return f"{base}/ws/inventory?{query}"


def provider_url(server: Server, token: str) -> str:
    return f"{server.ws_url}/ws/provider?token={token}"


async def recv_json(ws: Any, timeout: float = RECV_SECONDS) -> dict[str, Any]:
    """The next message, parsed; fails the test if none comes within `timeout`."""
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_changes(ws: Any, count: int, timeout: float = RECV_SECONDS
                       ) -> list[dict[str, Any]]:
    """The next `count` non-heartbeat messages (each within `timeout` of the previous)."""
    out: list[dict[str, Any]] = []
    while len(out) < count:
        message = await recv_json(ws, timeout)
        if message["type"] != "heartbeat":
            out.append(message)
    return out


async def audit_rows(server: Server, after_seq: int = 0) -> list[AuditEntry]:
    async with server.svc.sessions() as session:
        return list((await session.execute(
            select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)
        )).scalars().all())


async def last_audit_by_unit(server: Server) -> dict[str, AuditEntry]:
    """Each unit's highest-seq audit row."""
    latest: dict[str, AuditEntry] = {}
    for row in await audit_rows(server):
        latest[row.unit_id] = row
    return latest


async def provider_units(server: Server, count: int, capacity: int = 10, available: int = 0
                         ) -> tuple[str, str, list[str]]:
    """An organization with one program of `count` units, and a provider token for it."""
    org = await server.org()
    program = await server.program(org)
    units = [await server.unit(program, capacity=capacity, available=available)
             for _ in range(count)]
    return org, await server.token("provider", org), units


async def wipe_prefix(server: Server) -> int:
    """Delete every Redis key of this test's prefix in one DEL, like a FLUSHDB seen by this
    deployment (CI shares one Redis, so FLUSHDB itself is not allowed)."""
    redis = server.svc.redis
    keys = [key async for key in redis.scan_iter(match=server.svc.live.keys.every_key,
                                                 count=1000)]
    if keys:
        await redis.delete(*keys)
    return len(keys)


async def wait_ready(server: Server, seconds: float = 10.0) -> dict[str, Any]:
    """Poll /readyz until it says ready; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    body: dict[str, Any] = {}
    async with server.client() as client:
        while time.monotonic() < deadline:
            reply = await client.get("/readyz")
            body = reply.json()
            if reply.status_code == 200 and body.get("ready"):
                return body
            await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz not ready within {seconds}s: {body}")


async def next_message(ws: Any, kind: str, timeout: float = 15.0) -> dict[str, Any]:
    """The next message of `kind` on `ws`; fails the test when none comes within `timeout`
    (messages of other kinds are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
        if message["type"] == kind:
            return message


async def token_id(server: Server, token: str) -> str:
    """The id of `token` (what audiences, owners and care teams name)."""
    actor = await server.svc.tokens.actor(token)
    assert actor is not None
    return actor.token_id
