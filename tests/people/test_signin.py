"""Sign-in with a real OpenID Connect provider, over HTTP: who a person is, what they may do,
and every refusal the flow owes (forged state, replayed code, wrong issuer, expired token)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import select

from inventory.records import AuditEntry
from tests.conftest import Server, free_port, serve
from tests.people.conftest import Idp, authorize, callback_params, sign_in

NORA = {"name": "Nora Navigator", "email": "nora@county.example",
        "bedfinder_role": "navigator"}


async def open_unit(server: Server, available: int = 3) -> tuple[str, str]:
    org = await server.org("Harbor Health")
    program = await server.program(org, name="Harbor Residential")
    return org, await server.unit(program, capacity=10, available=available, label="Beds")


async def test_navigator_signs_in_and_holds_a_bed_in_their_own_name(server: Server, idp: Idp
                                                                     ) -> None:
    org, unit = await open_unit(server)
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        me = (await nora.get("/api/v1/me")).json()
        assert (me["role"], me["label"]) == ("navigator", "Nora Navigator")
        assert me["token_id"].startswith("usr-")
        hold = await nora.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "case-9"})
        assert hold.status_code == 201, hold.text
        assert hold.json()["held_by"] == "Nora Navigator"
    async with server.client(await server.token("provider", org)) as provider:
        holds = (await provider.get("/api/v1/holds")).json()
    assert [h["held_by"] for h in holds] == ["Nora Navigator"]
    await asyncio.sleep(0.5)  # the audit writer commits in groups
    async with server.svc.sessions() as session:
        actors = (await session.execute(select(AuditEntry.actor).where(
            AuditEntry.unit_id == unit, AuditEntry.op == "hold"))).scalars().all()
    assert actors == [f"Nora Navigator ({me['token_id']})"]
    async with server.client() as anonymous:
        page = await anonymous.get("/")
    assert 'href="/login?next=/"' in page.text  # the pages offer the county sign-in


async def test_provider_person_updates_counts_and_staff_see_their_name(server: Server,
                                                                       idp: Idp) -> None:
    org, unit = await open_unit(server)
    await idp.user("pat", name="Pat Provider", bedfinder_role="provider", bedfinder_org=org)
    async with sign_in(server, "pat") as pat:
        me = (await pat.get("/api/v1/me")).json()
        assert (me["role"], me["organization_id"]) == ("provider", org)
        put = await pat.put(f"/api/v1/units/{unit}/availability", json={"available": 4})
        assert put.status_code == 200, put.text
    assert put.json()["updated_by"] == f"Pat Provider ({me['token_id']})"
    async with server.client(await server.token("navigator")) as staff:
        seen = (await staff.get(f"/api/v1/units/{unit}")).json()
    assert seen["updated_by"].startswith("Pat Provider")


async def test_session_cookie_is_httponly_lax_and_rotated_at_sign_in(server: Server,
                                                                     idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        client.cookies.set("bf_session", "planted-by-someone-else")
        answer = await authorize(client, "nora")
        done = await client.get("/auth/callback", params=callback_params(answer))
        cookies = done.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("bf_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    assert "Secure" not in session  # plain http here; behind https it is set
    assert "planted-by-someone-else" not in session
    csrf = next(c for c in cookies if c.startswith("bf_csrf="))
    assert "HttpOnly" not in csrf  # the page reads it to send it back


async def test_cookie_writes_need_the_csrf_header_and_bearer_writes_do_not(
        server: Server, idp: Idp) -> None:
    _, unit = await open_unit(server)
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        del nora.headers["X-CSRF-Token"]
        refused = await nora.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "c-1"})
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["detail"]
        nora.headers["X-CSRF-Token"] = "guessed"
        assert (await nora.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "c-1"})
                ).status_code == 403
        assert (await nora.get("/api/v1/holds")).status_code == 200  # reads need none
    async with server.client(await server.token("navigator")) as machine:
        placed = await machine.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "c-2"})
    assert placed.status_code == 201, placed.text
    assert (await server.svc.live.units([unit]))[unit].held == 1


async def test_person_without_a_role_is_told_whom_to_ask_then_an_admin_assigns_one(
        server: Server, idp: Idp) -> None:
    await idp.user("sam", name="Sam Newhire", email="sam@county.example")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await authorize(client, "sam")
        page = await client.get("/auth/callback", params=callback_params(answer))
        assert page.status_code == 200
        assert "Ask your admin for access" in page.text
        assert "the county BH IT desk (x4357)" in page.text and "Sam Newhire" in page.text
        assert "bf_session" not in client.cookies
    async with server.client(await server.token("admin")) as admin:
        people = (await admin.get("/api/v1/users")).json()
        sam = next(p for p in people if p["display_name"] == "Sam Newhire")
        assert sam["role"] is None
        given = await admin.patch(f"/api/v1/users/{sam['id']}", json={"role": "navigator"})
        assert given.status_code == 200 and given.json()["role"] == "navigator"
    async with sign_in(server, "sam") as signed:
        assert (await signed.get("/api/v1/me")).json()["role"] == "navigator"


async def test_person_disabled_at_the_provider_loses_access_at_the_next_recheck(
        settings: Any, idp: Idp) -> None:
    """Rechecks every five minutes, on a clock the test moves (a one-second recheck raced a
    loaded machine): allowed until the recheck is due, refused from then on."""
    port = free_port()
    five = settings.model_copy(update={"session_recheck_minutes": 5.0,
                                       "public_base_url": f"http://127.0.0.1:{port}"})
    await idp.user("nora", **NORA)
    ahead = [timedelta(0)]
    async for server in serve(five, port):
        server.svc.clock = partial(lambda real: real() + ahead[0], server.svc.clock)
        async with sign_in(server, "nora") as nora:
            assert (await nora.get("/api/v1/me")).status_code == 200
            ahead[0] = timedelta(minutes=6)
            assert (await nora.get("/api/v1/me")).status_code == 200  # rechecked: still fine
            await idp.disable("nora")
            assert (await nora.get("/api/v1/me")).status_code == 200  # within the bound
            ahead[0] = timedelta(minutes=12)
            gone = await nora.get("/api/v1/me")
            assert gone.status_code == 401
            assert (await nora.get("/api/v1/holds")).status_code == 401


async def test_role_removed_at_the_provider_takes_effect_at_the_recheck(
        server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        await idp.user("nora", **{**NORA, "bedfinder_role": "display"})
        await asyncio.sleep(1.2)
        assert (await nora.get("/api/v1/me")).json()["role"] == "display"
        assert (await nora.get("/api/v1/holds")).status_code == 403


async def test_person_disabled_in_bedfinder_is_refused_at_once(server: Server, idp: Idp
                                                               ) -> None:
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        me = (await nora.get("/api/v1/me")).json()
        async with server.client(await server.token("admin")) as admin:
            off = await admin.patch(f"/api/v1/users/{me['token_id']}", json={"disabled": True})
            assert off.json()["disabled"] is True
        assert (await nora.get("/api/v1/me")).status_code == 401
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await authorize(client, "nora")
        page = await client.get("/auth/callback", params=callback_params(answer))
    assert page.status_code == 403 and "turned off" in page.text


async def test_sign_out_ends_the_session_here_and_goes_on_to_the_provider(
        server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        kept = dict(nora.cookies)
        confirm = await nora.get("/logout")
        assert 'action="/logout"' in confirm.text  # a button; a GET signs nobody out
        assert (await nora.get("/api/v1/me")).status_code == 200
        forged = await nora.post("/logout", data={"csrf": "wrong"},
                                 headers={"X-CSRF-Token": ""})
        assert forged.status_code == 403
        out = await nora.post("/logout", data={"csrf": kept["bf_csrf"]})
        assert out.status_code == 303
        assert out.headers["location"].startswith(f"{idp.url}/oauth2/end_session?")
        assert "id_token_hint=" in out.headers["location"]
    async with httpx.AsyncClient(base_url=server.base_url, cookies=kept) as replay:
        assert (await replay.get("/api/v1/me")).status_code == 401


async def test_forged_state_is_refused(server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await authorize(client, "nora")
        params = {**callback_params(answer), "state": "made-up-by-an-attacker"}
        page = await client.get("/auth/callback", params=params)
        assert page.status_code == 400 and "Sign-in link not valid" in page.text
        assert "bf_session" not in client.cookies


async def test_replayed_callback_and_replayed_code_are_refused(server: Server, idp: Idp
                                                              ) -> None:
    await idp.user("nora", **NORA)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await authorize(client, "nora")
        params = callback_params(answer)
        assert (await client.get("/auth/callback", params=params)).status_code == 303
    async with httpx.AsyncClient(base_url=server.base_url) as attacker:
        again = await attacker.get("/auth/callback", params=params)
        assert again.status_code == 400 and "Sign-in link not valid" in again.text
        # A fresh state of the attacker's own with the stolen code: the provider refuses it.
        fresh = callback_params(await authorize(attacker, "mallory"))
        stolen = await attacker.get("/auth/callback",
                                    params={"state": fresh["state"], "code": params["code"]})
        assert stolen.status_code == 400 and "refused the sign-in code" in stolen.text
        assert "bf_session" not in attacker.cookies


async def test_id_token_naming_another_issuer_is_refused(server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await authorize(client, "nora")
        # Another name for the same machine (the provider insists on loopback over http).
        idp.switch.token_host = idp.url.replace("http://127.0.0.1", "localhost")
        page = await client.get("/auth/callback", params=callback_params(answer))
        assert page.status_code == 400 and "ID token was refused" in page.text
        assert "iss" in page.text
        assert "bf_session" not in client.cookies


async def test_expired_id_token_is_refused(settings: Any, idp_factory: Any) -> None:
    stale = idp_factory(token_max_age=timedelta(minutes=-10))  # tokens born expired
    await stale.user("nora", **NORA)
    port = free_port()
    expired_settings = settings.model_copy(update={
        "oidc_issuer": stale.url, "public_base_url": f"http://127.0.0.1:{port}"})
    async for server in serve(expired_settings, port):
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            answer = await authorize(client, "nora")
            page = await client.get("/auth/callback", params=callback_params(answer))
            assert page.status_code == 400 and "ID token was refused" in page.text
            assert "expired" in page.text
            assert "bf_session" not in client.cookies


async def test_provider_calling_itself_by_another_name_is_refused(server: Server, idp: Idp
                                                                  ) -> None:
    idp.switch.metadata_host = idp.url.replace("http://127.0.0.1", "localhost")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        page = await client.get("/login")
    assert page.status_code == 503 and "calls itself" in page.text


async def test_sessions_end_at_their_absolute_timeout(settings: Any, idp: Idp) -> None:
    port = free_port()
    short = settings.model_copy(update={"session_absolute_hours": 1.5 / 3600,
                                        "public_base_url": f"http://127.0.0.1:{port}"})
    await idp.user("nora", **NORA)
    async for server in serve(short, port):
        async with sign_in(server, "nora") as nora:
            assert (await nora.get("/api/v1/me")).status_code == 200
            await asyncio.sleep(1.7)
            assert (await nora.get("/api/v1/me")).status_code == 401


async def test_sessions_end_after_the_idle_timeout_and_use_keeps_them_alive(
        settings: Any, idp: Idp) -> None:
    port = free_port()
    idle = settings.model_copy(update={"session_idle_minutes": 2 / 60,
                                       "session_recheck_minutes": 60.0,
                                       "public_base_url": f"http://127.0.0.1:{port}"})
    await idp.user("nora", **NORA)
    async for server in serve(idle, port):
        async with sign_in(server, "nora") as nora:
            for _ in range(3):  # in use: each request restarts the idle clock
                await asyncio.sleep(1.2)
                assert (await nora.get("/api/v1/me")).status_code == 200
            await asyncio.sleep(2.5)
            assert (await nora.get("/api/v1/me")).status_code == 401
