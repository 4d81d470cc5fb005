"""Matching, transitions and referrals, used as a navigator and providers would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from websockets.asyncio.client import connect

from inventory.records import Token, Transition
from tests.conftest import Server
from tests.integration.live_helpers import next_message, token_id
from web.demo import load_directory

NEEDS = {"gender": "female", "age": 34, "payer": "medi-cal", "language": "es",
         "mat": "buprenorphine"}




async def test_navigator_finds_refers_and_places_a_client_leaving_detox(server: Server
                                                                         ) -> None:
    await load_directory(server.svc.system)
    nav, other_nav = await server.token("navigator"), await server.token("navigator")
    tomorrow = server.svc.clock() + timedelta(days=1)
    async with server.client(nav) as client:
        found = (await client.get("/api/v1/programs", params={
            **NEEDS, "level_of_care": "residential_sud"})).json()
        assert found["count"] >= 1
        for p in found["programs"]:
            assert "female" in p["genders"] and p["age_min"] <= 34 <= p["age_max"]
            assert "medi-cal" in p["payers"] and "es" in p["languages"]
            assert "buprenorphine" in p["mat"]
        detox = (await client.get("/api/v1/programs", params={
            "level_of_care": "withdrawal_management", "gender": "female"})).json()
        transition = await client.post("/api/v1/transitions", json={
            "client_ref": "nav7-0042", "from_program_id": detox["programs"][0]["id"],
            "discharge_at": tomorrow.isoformat(), "needs": NEEDS})
        assert transition.status_code == 201, transition.text
        matched = (await client.post("/api/v1/match", json={
            "from_level": "withdrawal_management", "needs": NEEDS,
            "ready_at": tomorrow.isoformat()})).json()
        assert matched["levels"][0] == "residential_sud"
        options = matched["options"]
        assert options and all(o["reasons"] for o in options)
        assert [o["score"] for o in options] == sorted((o["score"] for o in options),
                                                       reverse=True)
        best = [o for o in options if o["best_unit_id"]][:3]
        assert len(best) == 3, "the demo has three open options for this client"
        sent = await client.post("/api/v1/referrals", json={
            "client_ref": "nav7-0042", "program_ids": [o["program_id"] for o in best],
            "needs": NEEDS, "note": "ready after detox", "transition_id":
            transition.json()["id"]})
        assert sent.status_code == 201, sent.text
    referrals = sent.json()
    winner = best[0]
    program = await server.svc.directory.program(winner["program_id"])
    provider = await server.token("provider", program.organization_id)
    async with connect(f"{server.ws_url}/ws/inventory?token={other_nav}") as watcher, \
            server.client(provider) as prov:
        await next_message(watcher, "snapshot")
        accepted = await prov.post(f"/api/v1/referrals/{referrals[0]['id']}/accept",
                                   json={"unit_id": winner["best_unit_id"]})
        assert accepted.status_code == 200, accepted.text
        hold_event = await next_message(watcher, "unit")
    assert hold_event["op"] == "hold" and hold_event["unit"]["id"] == winner["best_unit_id"]
    async with server.client(nav) as client:
        statuses = {r["id"]: r["status"] for r in (await client.get("/api/v1/referrals")).json()}
        assert statuses[referrals[0]["id"]] == "accepted"
        assert [statuses[r["id"]] for r in referrals[1:]] == ["withdrawn", "withdrawn"]
        mine = (await client.get("/api/v1/transitions")).json()
        assert mine[0]["hold_id"] == accepted.json()["hold_id"] and not mine[0]["at_risk"]
        admitted = await client.post(f"/api/v1/holds/{accepted.json()['hold_id']}/admit")
        assert admitted.status_code == 200
        placed = (await client.get("/api/v1/transitions")).json()[0]
    assert placed["status"] == "placed" and placed["to_level"] == "residential_sud"


async def test_provider_hears_of_a_referral_at_once_and_others_are_told_of_withdrawal(
        server: Server) -> None:
    orgs = [await server.org(f"Org {i}") for i in range(2)]
    programs = [await server.program(o) for o in orgs]
    units = [await server.unit(p, capacity=3, available=1) for p in programs]
    nav = await server.token("navigator")
    providers = [await server.token("provider", o) for o in orgs]
    async with connect(f"{server.ws_url}/ws/inventory?token={providers[0]}") as first, \
            connect(f"{server.ws_url}/ws/inventory?token={providers[1]}") as second:
        await next_message(first, "snapshot")
        await next_message(second, "snapshot")
        async with server.client(nav) as client:
            sent = (await client.post("/api/v1/referrals", json={
                "client_ref": "r-9", "program_ids": programs})).json()
        incoming = [await next_message(ws, "referral") for ws in (first, second)]
        assert [m["referral"]["program_id"] for m in incoming] == programs
        async with server.client(providers[0]) as prov:
            reply = await prov.post(f"/api/v1/referrals/{sent[0]['id']}/accept",
                                    json={"unit_id": units[0]})
            assert reply.status_code == 200
        withdrawn = await next_message(second, "referral")
    assert withdrawn["referral"]["status"] == "withdrawn"
    async with server.client(providers[1]) as prov:
        late = await prov.post(f"/api/v1/referrals/{sent[1]['id']}/accept",
                               json={"unit_id": units[1]})
    assert late.status_code == 409 and "withdrawn" in late.text


async def test_decline_needs_a_known_reason_and_records_acknowledgement(server: Server) -> None:
    org = await server.org()
    program = await server.program(org)
    nav, provider = await server.token("navigator"), await server.token("provider", org)
    async with server.client(nav) as client:
        sent = (await client.post("/api/v1/referrals", json={
            "client_ref": "r-1", "program_ids": [program]})).json()
        bad_note = await client.post("/api/v1/referrals", json={
            "client_ref": "r-2", "program_ids": [program], "note": "DOB 1990-01-02"})
        assert bad_note.status_code == 422
        too_many = await client.post("/api/v1/referrals", json={
            "client_ref": "r-3", "program_ids": ["a", "b", "c", "d"]})
        assert too_many.status_code == 422
    async with server.client(provider) as prov:
        wrong = await prov.post(f"/api/v1/referrals/{sent[0]['id']}/decline",
                                json={"reason": "busy"})
        assert wrong.status_code == 422 and "no_bed" in wrong.text
        declined = await prov.post(f"/api/v1/referrals/{sent[0]['id']}/decline",
                                   json={"reason": "no_bed"})
    body = declined.json()
    assert body["status"] == "declined" and body["decline_reason"] == "no_bed"
    assert body["acknowledged_at"] is not None and body["responded_at"] is not None


async def test_caseload_beyond_the_balanced_load_is_refused_unless_an_admin_forces(
        server: Server) -> None:
    org = await server.org()
    program = await server.program(org, level_of_care="withdrawal_management")
    nav, admin = await server.token("navigator"), await server.token("admin")
    nav_id = await token_id(server, nav)
    when = (server.svc.clock() + timedelta(days=2)).isoformat()
    body = {"from_program_id": program, "discharge_at": when}
    async with server.client(nav) as client:
        for i in range(8):
            reply = await client.post("/api/v1/transitions", json={**body, "client_ref": f"c{i}"})
            assert reply.status_code == 201
        ninth = await client.post("/api/v1/transitions", json={**body, "client_ref": "c9"})
        assert ninth.status_code == 409 and "balanced caseload of 8" in ninth.text
        forced = await client.post("/api/v1/transitions", json={
            **body, "client_ref": "c9", "force": True})
        assert forced.status_code == 403
        assert (await client.get("/api/v1/caseload")).json()["open"] == 8
    async with server.client(admin) as client:
        forced = await client.post("/api/v1/transitions", json={
            **body, "client_ref": "c9", "navigator": nav_id, "force": True})
    assert forced.status_code == 201


async def test_at_risk_lists_near_discharges_without_a_hold_and_lapse_ends_them(
        server: Server) -> None:
    org = await server.org()
    program = await server.program(org, level_of_care="withdrawal_management")
    nav = await server.token("navigator")
    now = server.svc.clock()
    async with server.client(nav) as client:
        soon = (await client.post("/api/v1/transitions", json={
            "client_ref": "soon", "from_program_id": program,
            "discharge_at": (now + timedelta(hours=5)).isoformat()})).json()
        await client.post("/api/v1/transitions", json={
            "client_ref": "later", "from_program_id": program,
            "discharge_at": (now + timedelta(days=5)).isoformat()})
        at_risk = (await client.get("/api/v1/transitions?at_risk=true")).json()
        assert [t["id"] for t in at_risk] == [soon["id"]]
        async with server.svc.sessions() as session, session.begin():
            await session.execute(update(Transition).where(Transition.id == soon["id"])
                                  .values(discharge_at=now - timedelta(hours=3)))
        assert await server.svc.transitions.lapse_overdue() == 1
        lapsed = (await client.get("/api/v1/transitions?status=lapsed")).json()
    assert [t["id"] for t in lapsed] == [soon["id"]]


async def test_navigator_is_told_when_a_matching_bed_opens(server: Server) -> None:
    org = await server.org()
    detox = await server.program(org, level_of_care="withdrawal_management")
    residential = await server.program(org, level_of_care="residential_sud")
    unit = await server.unit(residential, capacity=5, available=0)
    nav, provider = await server.token("navigator"), await server.token("provider", org)
    async with server.client(nav) as client:
        transition = (await client.post("/api/v1/transitions", json={
            "client_ref": "w-1", "from_program_id": detox, "needs": {"payer": "medi-cal"},
            "discharge_at": (server.svc.clock() + timedelta(hours=8)).isoformat()})).json()
    async with connect(f"{server.ws_url}/ws/inventory?token={nav}") as ws:
        await next_message(ws, "snapshot")
        async with server.client(provider) as prov:
            await prov.put(f"/api/v1/units/{unit}/availability", json={"available": 2})
        match = await next_message(ws, "transition_match", timeout=10)
    assert match["transition_id"] == transition["id"]
    assert match["options"][0]["program_id"] == residential
    assert match["options"][0]["available_now"] == 2


async def test_a_navigator_cannot_see_anothers_transitions(server: Server) -> None:
    org = await server.org()
    program = await server.program(org)
    a, b = await server.token("navigator"), await server.token("navigator")
    async with server.client(a) as client:
        t = (await client.post("/api/v1/transitions", json={
            "client_ref": "a-1", "from_program_id": program,
            "discharge_at": server.svc.clock().isoformat()})).json()
    async with server.client(b) as client:
        assert (await client.get("/api/v1/transitions")).json() == []
        assert (await client.post(f"/api/v1/transitions/{t['id']}/cancel")).status_code == 404
    async with server.svc.sessions() as session:
        assert await session.get(Token, t["navigator"]) is not None
