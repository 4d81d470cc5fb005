"""The token cache's bulk recheck: a token in use is confirmed for all processes' requests in
one query per half cache period (never looked up on its own request again), and a token
revoked without its broadcast (written straight to the database) is still dropped within
the cache time."""

from __future__ import annotations

import asyncio

import pytest

from inventory.clock import utcnow
from inventory.config import Settings
from inventory.tokens import TokenVerifier, revoke_token
from tests.conftest import Server

CACHE_SECONDS = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"token_cache_seconds": CACHE_SECONDS})


async def verifier_and_token(server: Server) -> tuple[TokenVerifier, str, str]:
    token = await server.token("provider", await server.org())
    verifier = TokenVerifier(server.svc.sessions, CACHE_SECONDS)
    actor = await verifier.actor(token)
    assert actor is not None
    return verifier, token, actor.token_id


async def test_a_token_in_use_stays_known_past_the_cache_time(server: Server) -> None:
    verifier, token, _ = await verifier_and_token(server)
    for _ in range(8):  # 3 s: three cache periods, a recheck every half period
        assert verifier.known(token) is not None
        await asyncio.sleep(CACHE_SECONDS / 4)
        if _ % 2:
            await verifier.recheck()
    assert verifier.known(token) is not None


async def test_an_unused_answer_lapses_after_the_cache_time(server: Server) -> None:
    verifier, token, _ = await verifier_and_token(server)
    await verifier.recheck()  # not used since it was looked up: not extended
    await asyncio.sleep(CACHE_SECONDS + 0.1)
    await verifier.recheck()
    assert verifier.known(token) is None


async def test_a_token_revoked_without_its_broadcast_is_dropped_at_the_next_recheck(
        server: Server) -> None:
    verifier, token, token_id = await verifier_and_token(server)
    assert verifier.known(token) is not None
    await revoke_token(server.svc.sessions, token_id, utcnow())  # no pub/sub message
    await verifier.recheck()
    assert verifier.known(token) is None
    assert await verifier.actor(token) is None


async def test_a_recheck_does_not_bring_back_what_a_revocation_dropped(server: Server) -> None:
    verifier, token, _ = await verifier_and_token(server)
    assert verifier.known(token) is not None
    recheck = asyncio.create_task(verifier.recheck())
    await asyncio.sleep(0)  # the recheck has sent its query
    verifier.forget()  # the revocation broadcast arrives meanwhile
    await recheck
    assert verifier.known(token) is None


async def test_the_app_keeps_a_used_token_confirmed(server: Server) -> None:
    token = await server.token("navigator")
    async with server.client(token) as client:
        for _ in range(6):
            assert (await client.get("/api/v1/me")).status_code == 200
            await asyncio.sleep(CACHE_SECONDS / 3)
    assert server.svc.tokens.known(token) is not None
    assert server.svc.supervisor.status()["token_recheck"].running
