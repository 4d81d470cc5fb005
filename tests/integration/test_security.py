"""Who may write where: organizations are walls, display tokens only read, revoked tokens are
refused at once (open websockets too), browsers' websockets come only from allowed origins,
tokens are stored hashed, and the audit log has no write route."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from inventory.clock import utcnow
from inventory.config import Settings
from inventory.records import Token
from inventory.tokens import create_token
from tests.conftest import Server
from tests.integration.live_helpers import inventory_url, provider_url, recv_json

CACHE_SECONDS = 60.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A long token cache, so only the revocation broadcast can make a refusal immediate."""
    return settings.model_copy(update={"token_cache_seconds": CACHE_SECONDS,
                                       "allowed_origins": ["https://partner.example"],
                                       "public_read": True})


async def issue(server: Server, admin: str, role: str, org: str | None = None) -> dict:
    async with server.client(admin) as client:
        reply = await client.post("/api/v1/tokens", json={"role": role, "organization_id": org})
    assert reply.status_code == 201, reply.text
    return reply.json()


async def test_a_provider_cannot_touch_another_organizations_units_over_the_websocket(
        server: Server) -> None:
    ours = await server.org("Ours")
    theirs = await server.org("Theirs")
    unit = await server.unit(await server.program(theirs), capacity=5, available=2)
    token = await server.token("provider", ours)
    async with connect(provider_url(server, token)) as ws:
        for op in ({"op": "set", "unit_id": unit, "available": 0, "ref": 1},
                   {"op": "attest", "unit_id": unit, "ref": 2}):
            await ws.send(orjson.dumps(op).decode())
            reply = await recv_json(ws)
            assert reply["type"] == "error" and reply["ref"] == op["ref"], reply
            assert "another organization" in reply["error"]
    assert (await server.svc.live.units([unit]))[unit].available == 2
    assert (await server.svc.live.units([unit]))[unit].seq == 1


async def test_a_display_token_cannot_write_anywhere(server: Server) -> None:
    unit = await server.unit(await server.program(await server.org()), available=3)
    display = await server.token("display")
    async with server.client(display) as client:
        put = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 1})
        hold = await client.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "c-1"})
        org = await client.post("/api/v1/organizations", json={"name": "X"})
    assert [put.status_code, hold.status_code, org.status_code] == [403, 403, 403]
    with pytest.raises(InvalidStatus) as refused:  # refused before the handshake completes
        async with connect(provider_url(server, display)):
            pass
    assert refused.value.response.status_code == 403
    assert (await server.svc.live.units([unit]))[unit].available == 3


async def test_a_revoked_token_is_refused_at_once_also_on_open_websockets(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), available=3)
    admin = await server.token("admin")
    provider = await issue(server, admin, "provider", org)
    navigator = await issue(server, admin, "navigator")
    async with server.client(provider["token"]) as client:  # cached as valid for 60 s
        assert (await client.get("/api/v1/me")).status_code == 200
    async with connect(inventory_url(server, navigator["token"])) as reader, \
            connect(provider_url(server, provider["token"])) as writer:
        assert (await recv_json(reader))["type"] == "snapshot"
        async with server.client(admin) as client:
            for token in (provider, navigator):
                assert (await client.delete(f"/api/v1/tokens/{token['id']}")).status_code == 204
        for ws in (reader, writer):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert closed.value.rcvd.reason == "token revoked or expired"
    async with server.client(provider["token"]) as client:
        me = await client.get("/api/v1/me")
        put = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 0})
    assert (me.status_code, put.status_code) == (401, 401)
    assert (await server.svc.live.units([unit]))[unit].available == 3


async def test_an_expired_token_is_refused_at_once_also_on_open_websockets(
        server: Server) -> None:
    expires = utcnow() + timedelta(seconds=2)
    token, _ = await create_token(server.svc.sessions, "navigator", utcnow(), None, "",
                                  expires)
    async with server.client(token) as client:  # cached, but never past its expiry
        assert (await client.get("/api/v1/me")).status_code == 200
    async with connect(inventory_url(server, token)) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert utcnow() >= expires
    async with server.client(token) as client:
        assert (await client.get("/api/v1/me")).status_code == 401
    async with server.client(await server.token("admin")) as client:
        past = await client.post("/api/v1/tokens", json={"role": "display",
                                                         "expires_in_minutes": 0})
        later = await client.post("/api/v1/tokens", json={"role": "display",
                                                          "expires_in_minutes": 60})
    assert past.status_code == 422
    assert later.status_code == 201 and later.json()["expires_at"] is not None


async def test_browser_websockets_only_from_this_host_or_allowed_origins(
        server: Server) -> None:
    token = await server.token("display")
    url = inventory_url(server, token)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    host = server.base_url.removeprefix("http://")
    for origin in (f"http://{host}", "https://partner.example"):
        async with connect(url, origin=origin) as ws:
            assert (await recv_json(ws))["type"] == "snapshot"


async def test_anonymous_readers_see_counts_never_who_changed_them_or_notes(
        server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=1)
    provider = await server.token("provider", org)
    private = {"updated_by", "note", "source", "expected_discharges", "hold_id"}
    async with connect(f"{server.ws_url}/ws/inventory") as anonymous, \
            connect(inventory_url(server, await server.token("navigator"))) as staff:
        snapshot = await recv_json(anonymous)
        assert snapshot["units"] and not private & set(snapshot["units"][0])
        await recv_json(staff)
        async with server.client(provider) as client:
            put = await client.put(f"/api/v1/units/{unit}/availability",
                                   json={"available": 2, "note": "two discharges"})
        assert put.status_code == 200
        seen = {}
        for name, ws in (("anonymous", anonymous), ("staff", staff)):
            message = await recv_json(ws)
            while message["type"] != "unit":
                message = await recv_json(ws)
            seen[name] = message
    assert seen["staff"]["unit"]["note"] == "two discharges"
    assert seen["anonymous"]["unit"]["available"] == 2
    assert not private & (set(seen["anonymous"]) | set(seen["anonymous"]["unit"]))
    async with server.client() as client:
        events = (await client.get("/api/v1/events?after=0")).json()["events"]
    assert events and all(not private & set(e["unit"]) for e in events)


async def test_tokens_are_stored_only_as_their_sha256(server: Server) -> None:
    admin = await server.token("admin")
    issued = await issue(server, admin, "navigator")
    async with server.svc.sessions() as session:
        row = (await session.execute(
            select(Token).where(Token.id == issued["id"]))).scalar_one()
    assert row.token_hash == hashlib.sha256(issued["token"].encode()).hexdigest()
    assert issued["token"] not in {str(v) for v in vars(row).values()}


async def test_the_audit_log_has_no_write_route(server: Server) -> None:
    """Changes reach the audit log only as a side effect of accepted changes."""
    schema = (await server.client().get("/openapi.json")).json()
    writable = {path for path, ops in schema["paths"].items()
                if ("audit" in path or "events" in path)
                and set(ops) & {"put", "patch", "delete", "post"}}
    assert writable == set()
    assert "/api/v1/events" in schema["paths"]
