"""The supervisor sees every transition and the queue, reassigns, and may exceed a caseload
only by saying so."""

from __future__ import annotations

from tests.conftest import Server
from tests.connector.helpers import build_world


async def test_a_supervisor_reassigns_and_forces_past_the_caseload(server: Server) -> None:
    world = await build_world(server)
    for n in range(8):
        await world.claimed("other_nav", client_ref=f"dtx-{n:04d}")
    t = await world.claimed("nav", client_ref="dtx-0100")
    async with world.client("supervisor") as sup:
        listed = (await sup.get("/api/v1/transitions")).json()
        assert len(listed) == 9
        full = await sup.post(f"/api/v1/transitions/{t['id']}/assign",
                              json={"navigator": world.ids["other_nav"]})
        assert full.status_code == 409 and "caseload of 8" in full.text
        forced = await sup.post(f"/api/v1/transitions/{t['id']}/assign",
                                json={"navigator": world.ids["other_nav"], "force": True})
        assert forced.status_code == 200, forced.text
        assert forced.json()["navigator"] == world.ids["other_nav"]
        back = await sup.post(f"/api/v1/transitions/{t['id']}/assign",
                              json={"navigator": world.ids["nav"]})
        assert back.status_code == 200, back.text
        queued = await world.discharge("dtx-0200")
        queue = (await sup.get("/api/v1/transitions/queue")).json()
        assert [q["id"] for q in queue] == [queued["id"]]
    kinds = [e["kind"] for e in await world.changes(t["id"], "supervisor")]
    assert kinds[-2:] == ["reassigned", "reassigned"]


async def test_the_new_lead_takes_over_the_referrals(server: Server) -> None:
    world = await build_world(server)
    t = await world.claimed()
    sent = await world.refer(t["id"], world.residential[:1])
    async with world.client("supervisor") as sup:
        moved = await sup.post(f"/api/v1/transitions/{t['id']}/assign",
                               json={"navigator": world.ids["other_nav"]})
        assert moved.status_code == 200, moved.text
    async with world.client("nav") as nav:  # no longer the lead, no longer on the team
        assert (await nav.get(f"/api/v1/transitions/{t['id']}")).status_code == 404
    async with world.client("other_nav") as other:
        withdrawn = await other.post(f"/api/v1/referrals/{sent[0]['id']}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        seen = (await other.get(f"/api/v1/transitions/{t['id']}")).json()
    assert seen["navigator"] == world.ids["other_nav"]
    assert [r["status"] for r in seen["referrals"]] == ["withdrawn"]


async def test_only_a_supervisor_reassigns(server: Server) -> None:
    world = await build_world(server)
    t = await world.claimed()
    async with world.client("nav") as nav:
        refused = await nav.post(f"/api/v1/transitions/{t['id']}/assign",
                                 json={"navigator": world.ids["other_nav"]})
    assert refused.status_code == 403
    async with world.client("supervisor") as sup:
        claim = await sup.post(f"/api/v1/transitions/{t['id']}/claim")
        not_navigator = await sup.post(f"/api/v1/transitions/{t['id']}/assign",
                                       json={"navigator": world.ids["supervisor"]})
    assert claim.status_code == 403
    assert not_navigator.status_code == 422 and "not a navigator" in not_navigator.text


async def test_a_supervisor_token_and_person_role_exist(server: Server) -> None:
    from web.oidc import role_from
    assert role_from(["staff", "supervisor"]) == "supervisor"
    token = await server.token("supervisor")
    actor = await server.svc.tokens.actor(token)
    assert actor is not None and actor.role == "supervisor"
