"""Census CSV upload: all rows are checked first; one bad row changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from inventory.records import AuditEntry


async def audit_count(server) -> int:
    async with server.svc.sessions() as session:
        return (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


async def setup(server):
    org = await server.org("Harbor House")
    detox = await server.program(org, name="Harbor Detox")
    beds = await server.unit(detox, capacity=10, available=2, label="Beds")
    residential = await server.program(org, name="Harbor Residential")
    res_beds = await server.unit(residential, capacity=20, available=5, label="Men")
    other_org = await server.org("Elsewhere")
    theirs = await server.unit(await server.program(other_org, name="Elsewhere Shelter"),
                               capacity=30, available=3)
    return org, detox, beds, residential, res_beds, theirs


async def test_good_file_applies_every_row_with_one_audit_entry_each(server):
    org, detox, beds, _residential, res_beds, _ = await setup(server)
    csv = ("program,unit,available,capacity,waitlist,expected_discharges,note\n"
           f"{detox},,4,10,1,2099-01-02T10:00Z=2,morning count\n"
           f"Harbor Residential,Men,0,18,6,,\n")
    before = await audit_count(server)
    async with server.client(await server.token("provider", org)) as http:
        response = await http.post("/api/v1/census", files={"file": ("census.csv", csv,
                                                                    "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 2
    states = await server.svc.live.units([beds, res_beds])
    assert (states[beds].available, states[beds].waitlist) == (4, 1)
    assert states[beds].expected_discharges[0]["count"] == 2
    assert (states[res_beds].available, states[res_beds].capacity) == (0, 18)
    assert states[beds].source == "csv" and await audit_count(server) == before + 2


async def test_one_bad_row_changes_nothing_and_reports_every_bad_row(server):
    org, detox, beds, _residential, res_beds, theirs = await setup(server)
    csv = ("program_id,unit_id,available,capacity\n"
           f"{detox},{beds},3,10\n"                 # fine
           f",{res_beds},25,\n"                    # above capacity 20
           f",{theirs},1,\n"                       # another organization's unit
           f"{detox},{beds},two,\n")               # not a number (and a duplicate)
    seq = await server.svc.live.current_seq()
    before = await audit_count(server)
    async with server.client(await server.token("provider", org)) as http:
        response = await http.post("/api/v1/census", content=csv,
                                   headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    report = {row["row"]: row["errors"] for row in response.json()["rows"]}
    assert set(report) == {3, 4, 5}
    assert "more than the capacity of 20" in report[3][0]
    assert "not one of yours" in report[4][0] and "whole number" in report[5][0]
    assert await server.svc.live.current_seq() == seq and await audit_count(server) == before
    assert (await server.svc.live.units([beds]))[beds].available == 2


async def test_provider_cannot_upload_counts_for_another_organization_but_admin_can(server):
    org, *_rest, theirs = await setup(server)
    csv = f"unit,available\n{theirs},7\n"
    async with server.client(await server.token("provider", org)) as http:
        assert (await http.post("/api/v1/census", content=csv)).status_code == 422
    async with server.client(await server.token("navigator")) as http:
        assert (await http.post("/api/v1/census", content=csv)).status_code == 403
    async with server.client(await server.token("admin")) as http:
        response = await http.post("/api/v1/census", content=csv)
    assert response.status_code == 200
    assert (await server.svc.live.units([theirs]))[theirs].available == 7


async def test_held_beds_count_against_capacity_in_validation(server):
    org, _detox, beds, *_ = await setup(server)
    async with server.client(await server.token("navigator")) as http:
        hold = await http.post("/api/v1/holds", json={"unit_id": beds, "client_ref": "c-1"})
        assert hold.status_code == 201
    async with server.client(await server.token("provider", org)) as http:
        response = await http.post("/api/v1/census", content=f"unit,available\n{beds},10\n")
    assert response.status_code == 422
    assert "plus 1 held" in response.json()["rows"][0]["errors"][0]


async def test_empty_or_headerless_upload_is_refused(server):
    org, *_ = await setup(server)
    async with server.client(await server.token("provider", org)) as http:
        empty = await http.post("/api/v1/census", files={"file": ("c.csv", b"", "text/csv")})
        no_column = await http.post("/api/v1/census", content="unit,count\nx,1\n")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    assert no_column.status_code == 422 and "available" in no_column.json()["rows"][0]["errors"][0]


async def test_garbage_uploads_get_4xx_and_change_nothing(server):
    _org, *_ = await setup(server)
    seq = await server.svc.live.current_seq()
    bodies = [b"\x00\x01binary\xff", b'a,"b\n\x00c', b"unit,available\nx,1,2,3\n",
              b"unit,available\n" + b"x" * 200_000 + b",1\n",
              b"--zzz\r\nContent-Disposition: form-data; name=other\r\n\r\nx\r\n--zzz--\r\n"]
    async with server.client(await server.token("admin")) as http:
        for body in bodies:
            for path in ("/api/v1/census", "/api/v1/feeds/edxl-have", "/api/v1/feeds/hsds"):
                headers = {"Content-Type": "multipart/form-data; boundary=zzz"} \
                    if body.startswith(b"--zzz") else {}
                response = await http.post(path, content=body, headers=headers)
                assert 400 <= response.status_code < 500, (path, body[:20], response.text)
        odd = [{"id": "x" * 300, "name": "n", "status": "active"},
               {"id": "s1", "name": "n", "status": "active", "minimum_age": {"a": 1}},
               {"id": "s2", "name": "n", "status": "active", "organization_id": "o" * 99},
               {"contents": "nope"}, 7, None]
        response = await http.post("/api/v1/feeds/hsds", json=odd)
        assert response.status_code == 200 and response.json()["created"] == []
        assert len(response.json()["warnings"]) == len(odd)
    assert await server.svc.live.current_seq() == seq
