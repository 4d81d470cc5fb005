"""`PUT /api/v1/availability`: many units of one organization in one request, each applied
atomically and on its own, all recorded in one audit transaction, one answer listing each
unit's result; a bad body changes nothing."""

from __future__ import annotations

from sqlalchemy import event, select

from inventory.records import AuditEntry
from tests.conftest import Server


async def test_a_batch_sets_every_unit_and_records_each_in_one_transaction(
        server: Server) -> None:
    org = await server.org()
    program = await server.program(org)
    units = [await server.unit(program, capacity=10, available=0, label=f"Beds {n}")
             for n in range(5)]
    token = await server.token("provider", org)
    commits: list[int] = []
    listener = lambda _conn: commits.append(1)
    event.listen(server.svc.engine.sync_engine, "commit", listener)
    try:
        async with server.client(token) as client:
            reply = await client.put("/api/v1/availability", json={"updates": [
                {"unit_id": u, "available": n + 1, "waitlist": n, "note": "census"}
                for n, u in enumerate(units)]})
    finally:
        event.remove(server.svc.engine.sync_engine, "commit", listener)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["applied"], body["refused"]) == (5, 0)
    assert [r["unit_id"] for r in body["results"]] == units
    assert [r["available"] for r in body["results"]] == [1, 2, 3, 4, 5]
    seqs = [r["seq"] for r in body["results"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert len(commits) == 1, f"{len(commits)} transactions for one batch"
    async with server.svc.sessions() as session:
        rows = (await session.execute(select(AuditEntry).where(AuditEntry.seq.in_(seqs))
                                      .order_by(AuditEntry.seq))).scalars().all()
    assert [(r.unit_id, r.available, r.waitlist, r.note) for r in rows] == [
        (u, n + 1, n, "census") for n, u in enumerate(units)]
    live = await server.svc.live.units(units)
    assert [live[u].available for u in units] == [1, 2, 3, 4, 5]


async def test_a_refused_unit_changes_nothing_and_the_others_stand(server: Server) -> None:
    org, other = await server.org(), await server.org("Other Org")
    mine = await server.unit(await server.program(org), capacity=4, available=1)
    small = await server.unit(await server.program(org), capacity=2, available=0)
    theirs = await server.unit(await server.program(other), capacity=9, available=3)
    token = await server.token("provider", org)
    async with server.client(token) as client:
        reply = await client.put("/api/v1/availability", json={"updates": [
            {"unit_id": mine, "available": 3}, {"unit_id": theirs, "available": 0},
            {"unit_id": small, "available": 5}, {"unit_id": "u-nowhere", "available": 1}]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["applied"], body["refused"]) == (1, 3)
    assert [r["status"] for r in body["results"]] == [200, 403, 409, 404]
    assert "another organization" in body["results"][1]["error"]
    assert "capacity of 2" in body["results"][2]["error"]
    live = await server.svc.live.units([mine, small, theirs])
    assert (live[mine].available, live[small].available, live[theirs].available) == (3, 0, 3)


async def test_a_bad_batch_is_refused_whole_and_names_what_is_wrong(server: Server) -> None:
    org = await server.org()
    program = await server.program(org)
    a = await server.unit(program, capacity=5, available=1, label="Beds A")
    b = await server.unit(program, capacity=5, available=1, label="Beds B")
    token = await server.token("provider", org)
    before = await server.svc.live.current_seq()
    async with server.client(token) as client:
        twice = await client.put("/api/v1/availability", json={"updates": [
            {"unit_id": a, "available": 2}, {"unit_id": a, "available": 3}]})
        negative = await client.put("/api/v1/availability", json={"updates": [
            {"unit_id": a, "available": 2}, {"unit_id": b, "available": -1}]})
        identifying = await client.put("/api/v1/availability", json={"updates": [
            {"unit_id": a, "available": 2},
            {"unit_id": b, "available": 2, "note": "Maria Lopez DOB 04/12/1987 discharged"}]})
        empty = await client.put("/api/v1/availability", json={"updates": []})
    assert twice.status_code == 422 and "appears more than once" in twice.text
    assert negative.status_code == 422 and "updates" in negative.text
    assert identifying.status_code == 422, identifying.text
    assert "update 1" in identifying.json()["detail"]
    assert empty.status_code == 422
    assert await server.svc.live.current_seq() == before


async def test_a_reader_may_not_send_a_batch(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=5, available=1)
    token = await server.token("navigator")
    async with server.client(token) as client:
        reply = await client.put("/api/v1/availability",
                                 json={"updates": [{"unit_id": unit, "available": 0}]})
    assert reply.status_code == 403
    assert (await server.svc.live.units([unit]))[unit].available == 1
