"""Providers set counts over REST; bad input and wrong-organization writes change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inventory.actors import SYSTEM
from inventory.errors import Invalid
from inventory.records import AuditEntry
from tests.conftest import Server


async def audit_count(server: Server) -> int:
    async with server.svc.sessions() as session:
        return (await session.execute(select(func.count(AuditEntry.id)))).scalar_one()


async def test_provider_sets_available_and_gets_new_state(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=10, available=2)
    token = await server.token("provider", org)
    async with server.client(token) as client:
        reply = await client.put(f"/api/v1/units/{unit}/availability",
                                 json={"available": 5, "waitlist": 1, "note": "two discharged"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["available"], body["waitlist"], body["capacity"]) == (5, 1, 10)
    assert body["id"] == unit and body["program_id"] and body["label"] == "Beds"
    assert body["status"] == "open" and body["stale"] is False
    async with server.svc.sessions() as session:
        row = (await session.execute(select(AuditEntry).where(AuditEntry.seq == body["seq"]))
               ).scalar_one()
    assert (row.unit_id, row.op, row.available, row.source) == (unit, "set", 5, "api")
    assert row.actor.startswith("provider:")


async def test_attest_restarts_freshness_and_keeps_counts(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=4, available=3)
    token = await server.token("provider", org)
    async with server.client(token) as client:
        before = (await client.get(f"/api/v1/units/{unit}")).json()
        reply = await client.post(f"/api/v1/units/{unit}/attest")
    assert reply.status_code == 200
    after = reply.json()
    assert after["available"] == 3 and after["seq"] > before["seq"]
    assert after["updated_at"] > before["updated_at"]


BAD_BODIES = [
    ({"available": -1}, 422, "available"),
    ({"available": 11}, 409, "capacity"),
    ({"available": "3"}, 422, "available"),
    ({"available": 3.5}, 422, "available"),
    ({"available": True}, 422, "available"),
    ({}, 422, "available"),
    ({"available": 1, "avaliable": 2}, 422, "avaliable"),
    ({"available": 1, "waitlist": -2}, 422, "waitlist"),
    ({"available": 5, "capacity": 4}, 409, "capacity"),
    ({"available": 1, "expected_discharges": [{"at": "tomorrow", "count": 1}]}, 422, "at"),
]


async def test_bad_input_gets_a_4xx_that_says_why_and_changes_nothing(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=10, available=2)
    token = await server.token("provider", org)
    seq_before = await server.svc.live.current_seq()
    audit_before = await audit_count(server)
    async with server.client(token) as client:
        for body, status, word in BAD_BODIES:
            reply = await client.put(f"/api/v1/units/{unit}/availability", json=body)
            assert reply.status_code == status, (body, reply.text)
            assert word in reply.text, (body, reply.text)
        malformed = await client.put(f"/api/v1/units/{unit}/availability",
                                     content=b'{"available": 3', headers={
                                         "content-type": "application/json"})
        assert malformed.status_code == 422 and "JSON" in malformed.text
        unknown = await client.put("/api/v1/units/nope/availability", json={"available": 1})
        assert unknown.status_code == 404 and "nope" in unknown.text
        huge = await client.put(f"/api/v1/units/{unit}/availability",
                                content=b'{"note": "' + b"x" * 300_000 + b'"}',
                                headers={"content-type": "application/json"})
        assert huge.status_code == 413 and "limit" in huge.text
        state = (await client.get(f"/api/v1/units/{unit}")).json()
    assert state["available"] == 2
    assert await server.svc.live.current_seq() == seq_before
    assert await audit_count(server) == audit_before
    assert await server.svc.live.events_after(seq_before) == []


async def test_expected_discharges_are_kept_with_the_counts(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=10, available=2)
    async with server.client(await server.token("provider", org)) as client:
        reply = await client.put(f"/api/v1/units/{unit}/availability", json={
            "available": 2, "expected_discharges": [{"at": "2026-11-25T10:00:00Z", "count": 1}]})
        assert reply.status_code == 200, reply.text
        attested = await client.post(f"/api/v1/units/{unit}/attest")
    expected = [{"at": "2026-11-25T10:00:00+00:00", "count": 1}]
    assert reply.json()["expected_discharges"] == expected
    assert attested.json()["expected_discharges"] == expected


async def test_provider_cannot_write_another_organizations_unit(server: Server) -> None:
    mine, theirs = await server.org("Mine"), await server.org("Theirs")
    their_unit = await server.unit(await server.program(theirs), capacity=5, available=1)
    seq_before = await server.svc.live.current_seq()
    provider = await server.token("provider", mine)
    navigator = await server.token("navigator")
    display = await server.token("display")
    async with server.client(provider) as client:
        put = await client.put(f"/api/v1/units/{their_unit}/availability", json={"available": 4})
        attest = await client.post(f"/api/v1/units/{their_unit}/attest")
    assert put.status_code == 403 and "another organization" in put.text
    assert attest.status_code == 403
    for token in (navigator, display, None, "bf_not-a-token"):
        async with server.client(token) as client:
            reply = await client.put(f"/api/v1/units/{their_unit}/availability",
                                     json={"available": 4})
        assert reply.status_code in (401, 403), reply.text
    assert await server.svc.live.current_seq() == seq_before
    assert (await server.svc.live.units([their_unit]))[their_unit].available == 1


async def test_reads_need_a_token_unless_public(server: Server) -> None:
    async with server.client() as client:
        assert (await client.get("/api/v1/programs")).status_code == 401
    display = await server.token("display")
    async with server.client(display) as client:
        assert (await client.get("/api/v1/programs")).status_code == 200


async def test_health_and_readiness(server: Server) -> None:
    async with server.client() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = (await client.get("/readyz")).json()
    assert {k: ready[k] for k in ("ready", "redis", "live_state", "sql", "tasks")} == {
        "ready": True, "redis": True, "live_state": True, "sql": True, "tasks": True}


async def test_control_characters_are_refused_before_anything_is_applied(server: Server) -> None:
    """PostgreSQL cannot store NUL: such a note must be a 422, never a change in Redis that
    then fails to be recorded (found by schemathesis)."""
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=1)
    token = await server.token("provider", org)
    async with server.client(token) as client:
        put = await client.put(f"/api/v1/units/{unit}/availability",
                               json={"available": 2, "note": "bad\u0000note"})
        bell = await client.post(f"/api/v1/units/{unit}/attest", json={"note": "ring\u0007"})
    assert (put.status_code, bell.status_code) == (422, 422)
    assert "control characters" in put.text
    state = (await server.svc.live.units([unit]))[unit]
    assert (state.available, state.seq) == (1, 1)
    with pytest.raises(Invalid):  # the domain refuses it too (feeds, websocket)
        await server.svc.availability.attest(unit, SYSTEM, "test", note="x\u0000")
