"""A signed-in person's websocket is registered under their user id and their session: the
sweep that closes revoked tokens' sockets keeps it open while the person may read, and
closes it (1008) once they are disabled here, disabled at the identity provider (found by
the sweep's recheck, with no request from the person), signed out, or idle too long."""

from __future__ import annotations

import asyncio
import json

import pytest_asyncio
from websockets.asyncio.client import connect

from inventory.config import Settings
from tests.conftest import Server, serve
from tests.integration.test_revocation_everywhere import POLICY, closed_code
from tests.people.conftest import Idp, sign_in
from tests.people.test_signin import NORA


async def next_unit_message(ws: object) -> dict[str, object]:
    """The next `unit` message, past heartbeats (within 5 seconds)."""
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())  # type: ignore[attr-defined]
            if message["type"] == "unit":
                return message


@pytest_asyncio.fixture(loop_scope="session")
async def server(settings: Settings, port: int) -> object:
    async for running in serve(settings.model_copy(update={"token_sweep_seconds": 0.5}), port):
        yield running


async def test_a_signed_in_persons_websocket_outlives_the_sweep_until_they_are_disabled(
        server: Server, idp: object) -> None:
    await idp.user("nora", **NORA)  # type: ignore[attr-defined]
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=1)
    async with sign_in(server, "nora") as nora:
        me = (await nora.get("/api/v1/me")).json()
        cookie = "; ".join(f"{k}={v}" for k, v in nora.cookies.items())
        url = server.base_url.replace("http://", "ws://") + "/ws/inventory"
        async with connect(url, additional_headers={"Cookie": cookie}) as ws:
            await ws.recv()  # the snapshot
            await asyncio.sleep(2.0)  # four sweeps: a person is not a revoked token
            async with server.client(await server.token("admin")) as admin:
                changed = await admin.put(f"/api/v1/units/{unit}/availability",
                                          json={"available": 2})
                assert changed.status_code == 200, changed.text
                assert await next_unit_message(ws), "the change never arrived"
                off = await admin.patch(f"/api/v1/users/{me['token_id']}",
                                        json={"disabled": True})
                assert off.status_code == 200, off.text
            code, took = await closed_code(ws, within=5)
    assert code == POLICY, (code, took)


def socket_url(server: Server) -> str:
    return server.base_url.replace("http://", "ws://") + "/ws/inventory"


def cookie_header(client: object) -> dict[str, str]:
    cookies = client.cookies  # type: ignore[attr-defined]
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def test_person_disabled_at_the_provider_loses_an_open_websocket_without_a_request(
        server: Server, idp: Idp) -> None:
    """Recheck after one second, sweep every half second: the socket closes within about
    1.5 s of the provider disabling the person, though the page sends nothing."""
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        async with connect(socket_url(server), additional_headers=cookie_header(nora)) as ws:
            await ws.recv()  # the snapshot: the session may read
            await idp.disable("nora")
            code, took = await closed_code(ws, within=10)
        assert code == POLICY, (code, took)
        assert took < 5, took
        assert (await nora.get("/api/v1/me")).status_code == 401  # the session ended too


async def test_sign_out_closes_that_sessions_websocket_only(server: Server, idp: Idp) -> None:
    """Signing out on one device closes that session's socket; the same person's other
    session (another device) keeps its socket."""
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as phone, sign_in(server, "nora") as desk, \
            connect(socket_url(server), additional_headers=cookie_header(phone)) as a, \
            connect(socket_url(server), additional_headers=cookie_header(desk)) as b:
        await a.recv()
        await b.recv()
        out = await phone.post("/logout", data={"csrf": phone.cookies["bf_csrf"]})
        assert out.status_code == 303, out.text
        code, took = await closed_code(a, within=5)
        assert code == POLICY, (code, took)
        org = await server.org()
        unit = await server.unit(await server.program(org), capacity=5, available=1)
        async with server.client(await server.token("admin")) as admin:
            changed = await admin.put(f"/api/v1/units/{unit}/availability",
                                      json={"available": 2})
            assert changed.status_code == 200, changed.text
        assert (await next_unit_message(b))["unit"], "the other session's socket closed"


async def test_an_idle_sessions_websocket_closes_at_the_idle_timeout(
        settings: Settings, port: int, idp: Idp) -> None:
    """The sweep looks at the session without restarting its idle clock: an open page is
    not a person using it, so the socket closes once the session has been idle too long."""
    await idp.user("nora", **NORA)
    idle = settings.model_copy(update={"token_sweep_seconds": 0.5,
                                       "session_idle_minutes": 2 / 60,
                                       "session_recheck_minutes": 60})
    async for server in serve(idle, port):
        async with sign_in(server, "nora") as nora:
            async with connect(socket_url(server),
                               additional_headers=cookie_header(nora)) as ws:
                await ws.recv()
                code, took = await closed_code(ws, within=10)
            assert code == POLICY, (code, took)
            assert 1 < took < 5, took
            assert (await nora.get("/api/v1/me")).status_code == 401
