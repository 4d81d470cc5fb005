"""Discharge pending from the sending program, the connectors' queue, claims within the
caseload (the ninth is refused, naming the limit)."""

from __future__ import annotations

import asyncio

from tests.conftest import Server
from tests.connector.helpers import NEEDS, build_world


async def test_a_detox_provider_marks_a_client_and_a_connector_claims_it(server: Server
                                                                          ) -> None:
    world = await build_world(server)
    created = await world.discharge()
    assert created["navigator"] is None and created["claimed"] is False
    assert created["from_level"] == "withdrawal_management"
    async with world.client("nav") as nav:
        queue = (await nav.get("/api/v1/transitions/queue")).json()
        assert [t["id"] for t in queue] == [created["id"]]
        claimed = await nav.post(f"/api/v1/transitions/{created['id']}/claim")
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["navigator"] == world.ids["nav"]
        assert (await nav.get("/api/v1/transitions/queue")).json() == []
    async with world.client("other_nav") as other:
        again = await other.post(f"/api/v1/transitions/{created['id']}/claim")
    assert again.status_code == 409 and "already claimed" in again.text
    async with world.client("detox_provider") as detox:
        mine = (await detox.get("/api/v1/transitions")).json()
    assert [(t["id"], t["status"], t["claimed"]) for t in mine] == [
        (created["id"], "open", True)]


async def test_a_provider_marks_only_its_own_programs(server: Server) -> None:
    world = await build_world(server)
    async with world.client("oak_provider") as oak:
        refused = await oak.post("/api/v1/discharges", json={
            "client_ref": "x-1", "from_program_id": world.detox,
            "ready_by": world.ready_by(), "needs": NEEDS})
    assert refused.status_code == 403 and "another organization" in refused.text
    async with world.client("detox_provider") as detox:
        named = await detox.post("/api/v1/discharges", json={
            "client_ref": "Maria Lopez 1990-03-04", "from_program_id": world.detox,
            "ready_by": world.ready_by()})
        assert named.status_code == 422, named.text
        queue = await detox.get("/api/v1/transitions/queue")
    assert queue.status_code == 403
    async with server.svc.sessions() as session:
        from sqlalchemy import func, select

        from inventory.records import Transition
        assert await session.scalar(select(func.count(Transition.id))) == 0


async def test_the_ninth_claim_is_refused_naming_the_limit(server: Server) -> None:
    world = await build_world(server)
    limit = server.settings.caseload_limit
    assert limit == 8
    for n in range(limit):
        await world.claimed(client_ref=f"dtx-{n:04d}")
    ninth = await world.discharge("dtx-0999")
    async with world.client("nav") as nav:
        refused = await nav.post(f"/api/v1/transitions/{ninth['id']}/claim")
        caseload = (await nav.get("/api/v1/caseload")).json()
    assert refused.status_code == 409
    assert "8 open transitions" in refused.text and "caseload of 8" in refused.text
    assert caseload["open"] == 8 and caseload["limit"] == 8
    async with world.client("other_nav") as other:
        queue = (await other.get("/api/v1/transitions/queue")).json()
    assert [t["id"] for t in queue] == [ninth["id"]]


async def test_two_claims_at_seven_never_make_nine(server: Server) -> None:
    world = await build_world(server)
    for n in range(7):
        await world.claimed(client_ref=f"dtx-{n:04d}")
    last = [await world.discharge(f"dtx-09{n}") for n in range(2)]
    async with world.client("nav") as nav:
        replies = await asyncio.gather(*[
            nav.post(f"/api/v1/transitions/{t['id']}/claim") for t in last])
        caseload = (await nav.get("/api/v1/caseload")).json()
    assert sorted(r.status_code for r in replies) == [200, 409]
    assert caseload["open"] == 8
