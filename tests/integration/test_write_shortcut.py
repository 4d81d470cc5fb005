"""The count update's shortcut past FastAPI's routing (web/write_shortcut.py) answers exactly
as the route does: two app processes on one store, one with the shortcut and one without,
get the same requests and give the same answers, refusals included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from inventory.actors import SYSTEM
from inventory.config import Settings
from tests.conftest import Server, serve

# Headers that differ between any two answers, whichever path gave them.
VARYING_HEADERS = {"date", "x-request-id", "content-length", "server"}
# Fields of a unit's answer that differ between two updates to the same counts.
VARYING_FIELDS = {"seq", "updated_at"}


@pytest.fixture
def write_budget() -> str:
    return ""


@pytest.fixture
def settings(settings: Settings, write_budget: str) -> Settings:
    # The shortcut takes only tokens the cache knows valid; the suite's default turns it off.
    return settings.model_copy(update={"token_cache_seconds": 60.0,
                                       "rate_limit_writes": write_budget})


@pytest.fixture
async def servers(settings: Settings) -> AsyncIterator[tuple[Server, Server]]:
    """(with the shortcut, without it), on one Redis and one database."""
    async with AsyncExitStack() as stack:
        running = []
        for shortcut in (True, False):
            apps = serve(settings.model_copy(update={"write_shortcut": shortcut}))
            running.append(await anext(apps))
            stack.push_async_callback(apps.aclose)
        yield running[0], running[1]


def shortcut_answers(server: Server) -> float:
    registry = server.svc.metrics.registry
    return registry.get_sample_value("bedfinder_write_shortcut_requests_total") or 0.0


def counted_by_route(server: Server) -> dict[str, float]:
    """The route's request counts by status, as /metrics labels them."""
    return {sample.labels["status"]: sample.value
            for metric in server.svc.metrics.registry.collect()
            for sample in metric.samples
            if sample.name == "bedfinder_http_requests_total"
            and sample.labels["route"] == "/api/v1/units/{unit_id}/availability"}


def comparable(reply: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    body = reply.json()
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VARYING_FIELDS}
    headers = {k: v for k, v in reply.headers.items() if k not in VARYING_HEADERS}
    return reply.status_code, body, headers


async def test_both_paths_give_the_same_answers(servers: tuple[Server, Server]) -> None:
    fast, _ = servers
    org, other_org = await fast.org(), await fast.org("Other")
    unit = await fast.unit(await fast.program(org), capacity=10, available=2)
    theirs = await fast.unit(await fast.program(other_org), capacity=4)
    provider, navigator = await fast.token("provider", org), await fast.token("navigator")
    path = f"/api/v1/units/{unit}/availability"
    json_type = {"content-type": "application/json"}
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (provider, path, {"json": {"available": 5, "waitlist": 1, "note": "two discharged"}}),
        (provider, path, {"json": {"available": 4, "expected_discharges": [
            {"at": "2026-12-04T10:00:00+00:00", "count": 2}]}}),
        (provider, path, {"json": {"available": 11}}),  # over capacity: 409
        (provider, path, {"json": {"available": 3, "note": "for John Smith, DOB 4/5/1960"}}),
        (provider, "/api/v1/units/nope/availability", {"json": {"available": 1}}),
        (provider, f"/api/v1/units/{theirs}/availability", {"json": {"available": 1}}),
        (provider, path, {"json": {"available": -1}}),
        (provider, path, {"json": {"available": "3"}}),
        (provider, path, {"json": {"available": 1, "avaliable": 2}}),
        (provider, path, {"json": {"available": 2**70}}),
        (provider, path, {"content": b'{"available": 3', "headers": json_type}),
        (provider, path, {"content": b'{"available": 3}', "headers": {
            "content-type": "text/plain"}}),
        (provider, path, {"content": b"", "headers": json_type}),
        (navigator, path, {"json": {"available": 1}}),
        ("bf_not_a_token", path, {"json": {"available": 1}}),
        ("", path, {"json": {"available": 1}, "headers": [  # the first one counts
            ("authorization", f"Bearer {navigator}"), ("authorization", f"Bearer {provider}")]}),
    ]
    answers: list[list[tuple[int, Any, dict[str, str]]]] = [[], []]
    for n, server in enumerate(servers):
        await server.svc.availability.set_availability(  # both start from the same counts
            unit, SYSTEM, "test", available=2, waitlist=0, expected_discharges=[])
        for token in (provider, navigator):  # known to the token cache from here on
            async with server.client(token) as client:
                assert (await client.get(f"/api/v1/units/{unit}")).status_code == 200
        before = shortcut_answers(server)
        for token, url, request in cases:
            async with server.client(token or None) as client:
                reply = await client.put(url, **request)
            answers[n].append(comparable(reply))
        answered = shortcut_answers(server) - before
        # The first six reach the domain; the route itself refuses the rest.
        assert answered == (6 if server is fast else 0), answered
    for case, with_shortcut, without in zip(cases, *answers):
        assert with_shortcut == without, case
    # The requests the shortcut answered are counted under the route, as the others are.
    assert counted_by_route(fast) == counted_by_route(servers[1]), counted_by_route(fast)
    statuses = [status for status, _, _ in answers[0]]
    assert statuses[:3] == [200, 200, 409], answers[0][:3]
    assert all(400 <= s < 500 for s in statuses[3:]), statuses


@pytest.mark.parametrize("write_budget", ["3/minute"])
async def test_an_update_over_budget_gets_the_same_429_either_way(
        servers: tuple[Server, Server]) -> None:
    fast, _ = servers
    org = await fast.org()
    unit = await fast.unit(await fast.program(org), capacity=10)
    budgets = []
    for server in servers:
        token = await fast.token("provider", org)  # a budget of its own
        async with server.client(token) as client:
            replies = [await client.put(f"/api/v1/units/{unit}/availability",
                                        json={"available": n}) for n in range(4)]
        budgets.append([(r.status_code, r.json().get("detail")) for r in replies[2:]])
    assert budgets[0] == budgets[1]
    assert budgets[0][0][0] == 200 and budgets[0][1][0] == 429, budgets
    assert "too many requests" in budgets[0][1][1]
