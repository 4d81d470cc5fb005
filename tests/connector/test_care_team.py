"""The care team: a member of another organization sees nothing before being invited, a
release on file is confirmed across organizations, notes pass the identifier check, and the
sending and accepting programs see the same timeline."""

from __future__ import annotations

from tests.conftest import Server
from tests.connector.helpers import build_world


async def test_another_organization_sees_nothing_before_being_invited(server: Server
                                                                      ) -> None:
    world = await build_world(server)
    t = await world.claimed()
    social_org = await server.org("County Hospital")
    await world.token("social_worker", "provider", social_org)
    async with world.client("social_worker") as sw:
        for path in ("", "/timeline"):
            hidden = await sw.get(f"/api/v1/transitions/{t['id']}{path}")
            assert hidden.status_code == 404, (path, hidden.text)
        assert (await sw.get("/api/v1/transitions")).json() == []
        note = await sw.post(f"/api/v1/transitions/{t['id']}/notes", json={"text": "hello"})
        assert note.status_code == 404
    async with world.client("elm_provider") as elm:
        assert (await elm.get(f"/api/v1/transitions/{t['id']}")).status_code == 404
    async with world.client("nav") as nav:
        refused = await nav.post(f"/api/v1/transitions/{t['id']}/team",
                                 json={"member": world.ids["social_worker"]})
        assert refused.status_code == 422 and "release of information" in refused.text
        assert (await nav.get(f"/api/v1/transitions/{t['id']}")).json()["team"][
            "members"][0]["organization_id"] == world.detox_org  # unchanged: only the sender
        invited = await nav.post(f"/api/v1/transitions/{t['id']}/team", json={
            "member": world.ids["social_worker"], "release_on_file": True})
        assert invited.status_code == 201, invited.text
    member = next(m for m in invited.json()["members"]
                  if m["member_id"] == world.ids["social_worker"])
    assert member["release_on_file"] is True and member["release_confirmed_at"]
    assert member["release_confirmed_by"].startswith("navigator:")
    async with world.client("social_worker") as sw:
        seen = await sw.get(f"/api/v1/transitions/{t['id']}")
        assert seen.status_code == 200 and seen.json()["member"] is True
        assert (await sw.get(f"/api/v1/transitions/{t['id']}/timeline")).status_code == 200
    async with world.client("nav") as nav:
        removed = await nav.delete(
            f"/api/v1/transitions/{t['id']}/team/{world.ids['social_worker']}")
        assert removed.status_code == 200, removed.text
    async with world.client("social_worker") as sw:
        assert (await sw.get(f"/api/v1/transitions/{t['id']}")).status_code == 404


async def test_notes_pass_the_identifier_check(server: Server) -> None:
    world = await build_world(server)
    t = await world.claimed()
    async with world.client("detox_provider") as detox:
        refused = await detox.post(f"/api/v1/transitions/{t['id']}/notes",
                                   json={"text": "DOB 03/04/1990, call her mother"})
        assert refused.status_code == 422, refused.text
        ok = await detox.post(f"/api/v1/transitions/{t['id']}/notes",
                              json={"text": "medically cleared, ready after lunch"})
        assert ok.status_code == 201, ok.text
    events = await world.changes(t["id"])
    assert [e["kind"] for e in events] == ["discharge_pending", "claimed", "note"]
    assert events[-1]["details"]["text"] == "medically cleared, ready after lunch"


async def test_sending_and_accepting_programs_see_the_same_timeline(server: Server) -> None:
    world = await build_world(server)
    t = await world.claimed()
    async with world.client("nav") as nav:
        sent = await nav.post("/api/v1/referrals", json={
            "client_ref": "dtx-0042", "program_ids": world.residential[:2],
            "transition_id": t["id"]})
        assert sent.status_code == 201, sent.text
    async with world.client("oak_provider") as oak:
        accepted = await oak.post(f"/api/v1/referrals/{sent.json()[0]['id']}/accept",
                                  json={"unit_id": world.units[0]})
        assert accepted.status_code == 200, accepted.text
        note = await oak.post(f"/api/v1/transitions/{t['id']}/notes", json={"text": "hi"})
        assert note.status_code == 403  # receiving programs read; invited members write
    async with world.client("detox_provider") as detox:
        statuses = (await detox.get(f"/api/v1/transitions/{t['id']}")).json()["referrals"]
    assert sorted(r["status"] for r in statuses) == ["accepted", "withdrawn"]
    sending = await world.changes(t["id"], "detox_provider")
    accepting = await world.changes(t["id"], "oak_provider")
    assert sending == accepting and sending[-1]["kind"] == "hold_placed"
    async with world.client("elm_provider") as elm:
        assert (await elm.get(f"/api/v1/transitions/{t['id']}/timeline")).status_code == 404
