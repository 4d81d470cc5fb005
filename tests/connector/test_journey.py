"""The journey continues: after admission the pathway's next step is offered and watched as
a follow-on transition with the same reference, team and connector."""

from __future__ import annotations

from tests.conftest import Server
from tests.connector.helpers import build_world


async def test_admission_offers_the_next_step_and_it_is_watched(server: Server) -> None:
    world = await build_world(server)
    t = await world.claimed()
    async with world.client("nav") as nav:
        early = await nav.post(f"/api/v1/transitions/{t['id']}/next",
                               json={"ready_by": world.ready_by(24 * 30)})
        assert early.status_code == 409 and "not placed" in early.text
        hold = await nav.post("/api/v1/holds", json={
            "unit_id": world.units[1], "client_ref": "dtx-0042", "transition_id": t["id"]})
        assert hold.status_code == 201, hold.text
        admitted = await nav.post(f"/api/v1/holds/{hold.json()['id']}/admit")
        assert admitted.status_code == 200, admitted.text
        placed = (await nav.get(f"/api/v1/transitions/{t['id']}")).json()
        assert placed["status"] == "placed" and placed["next_id"] is None
        assert placed["next_levels"][0] == "recovery_residence"
        follow = await nav.post(f"/api/v1/transitions/{t['id']}/next",
                                json={"ready_by": world.ready_by(24 * 30)})
        assert follow.status_code == 201, follow.text
        twice = await nav.post(f"/api/v1/transitions/{t['id']}/next",
                               json={"ready_by": world.ready_by(24 * 30)})
        assert twice.status_code == 409
        after = (await nav.get(f"/api/v1/transitions/{t['id']}")).json()
    nxt = follow.json()
    assert nxt["previous_id"] == t["id"] and after["next_id"] == nxt["id"]
    assert nxt["client_ref"] == "dtx-0042" and nxt["navigator"] == world.ids["nav"]
    assert nxt["from_program_id"] == world.residential[1]
    assert nxt["from_level"] == "residential_sud"
    assert [e["kind"] for e in await world.changes(t["id"])][-2:] == ["admitted", "next_step"]
    async with world.client("detox_provider") as detox:  # the team came along
        assert (await detox.get(f"/api/v1/transitions/{nxt['id']}")).status_code == 200
