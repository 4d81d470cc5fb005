"""Who viewed what: reads of holds, referrals and transitions are recorded, and only admins
can ask who read a client's records."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from inventory.access_log import AccessLog
from tests.conftest import Server
from tests.people.conftest import Idp, sign_in

NORA = {"name": "Nora Navigator", "email": "nora@county.example",
        "bedfinder_role": "navigator"}


async def test_reads_are_recorded_with_who_when_which_record_and_from_where(
        server: Server, idp: Idp) -> None:
    org = await server.org("Harbor Health")
    program = await server.program(org, name="Harbor Residential")
    unit = await server.unit(program, capacity=10, available=3)
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        me = (await nora.get("/api/v1/me")).json()
        hold = (await nora.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "case-9"}
                                )).json()
        assert (await nora.get("/api/v1/holds")).status_code == 200
    provider_token = await server.token("provider", org)
    async with server.client(provider_token) as provider:
        assert (await provider.get(f"/api/v1/holds/{hold['id']}")).status_code == 200
        referral = await provider.get("/api/v1/referrals")
        assert referral.status_code == 200
    async with server.client(await server.token("navigator")) as other:
        sent = await other.post("/api/v1/referrals", json={
            "client_ref": "case-9", "program_ids": [program]})
        assert sent.status_code == 201, sent.text
        assert (await other.get("/api/v1/referrals")).status_code == 200

    async with server.client(await server.token("admin")) as admin:
        answer = await admin.get("/api/v1/audit/access", params={"client_ref": "case-9"})
        assert answer.status_code == 200, answer.text
        reads = answer.json()["reads"]
        report = await admin.get("/api/v1/audit/access.csv", params={"client_ref": "case-9"})
    who = [(r["actor"], r["record_kind"], r["via"], r["path"]) for r in reads]
    assert who[0] == (f"Nora Navigator ({me['token_id']})", "hold", "page", "/api/v1/holds")
    assert who[1][1:] == ("hold", "api", f"/api/v1/holds/{hold['id']}")
    assert who[1][0].startswith("provider:tok-")
    assert who[2][1:3] == ("referral", "api")
    assert [r["record_id"] for r in reads[:2]] == [hold["id"], hold["id"]]
    assert all(r["client_ref"] == "case-9" for r in reads)
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [r["record_id"] for r in rows] == [r["record_id"] for r in reads]
    assert report.headers["content-type"].startswith("text/csv")


async def test_only_admins_may_ask_who_read_what(server: Server, idp: Idp) -> None:
    await idp.user("nora", **NORA)
    async with sign_in(server, "nora") as nora:
        assert (await nora.get("/api/v1/audit/access", params={"client_ref": "x"})
                ).status_code == 403
    for role in ("navigator", "analyst", "display"):
        async with server.client(await server.token(role)) as client:
            assert (await client.get("/api/v1/audit/access.csv")).status_code == 403
    async with server.client() as anonymous:
        assert (await anonymous.get("/api/v1/audit/access")).status_code == 401


async def test_csv_export_neutralizes_formulas_in_names_and_client_references(
        server: Server, idp: Idp) -> None:
    org = await server.org("Harbor Health")
    unit = await server.unit(await server.program(org), capacity=5, available=2)
    await idp.user("mallory", name='=HYPERLINK("http://evil.example")',
                   bedfinder_role="navigator")
    async with sign_in(server, "mallory") as mallory:
        placed = await mallory.post("/api/v1/holds", json={"unit_id": unit,
                                                           "client_ref": "-C1042"})
        assert placed.status_code == 201, placed.text
        await mallory.get("/api/v1/holds")
    async with server.client(await server.token("admin")) as admin:
        report = await admin.get("/api/v1/audit/access.csv", params={"client_ref": "-C1042"})
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [r["client_ref"] for r in rows] == ["'-C1042"]
    assert rows[0]["actor"].startswith("'=HYPERLINK(")


async def test_access_log_keeps_rows_for_the_configured_time_only(server: Server) -> None:
    org = await server.org("Harbor Health")
    unit = await server.unit(await server.program(org), capacity=5, available=2)
    async with server.client(await server.token("navigator")) as navigator:
        await navigator.post("/api/v1/holds", json={"unit_id": unit, "client_ref": "c-old"})
        await navigator.get("/api/v1/holds")
    access = AccessLog(server.svc.sessions, server.settings.access_log_days)
    assert len(await access.find("c-old")) == 1
    keep_days = server.settings.access_log_days
    later = server.svc.clock() + timedelta(days=keep_days - 1)
    assert await access.purge(later) == 0
    assert await access.purge(server.svc.clock() + timedelta(days=keep_days, hours=1)) == 1
    assert await access.find("c-old") == []


async def test_tokens_are_listed_with_their_owner_and_never_the_secret(server: Server,
                                                                      idp: Idp) -> None:
    org = await server.org("Harbor Health", "org-harbor")
    async with server.client(await server.token("admin")) as admin:
        made = await admin.post("/api/v1/tokens", json={
            "role": "display", "label": "Lobby screen", "expires_in_minutes": 60})
        assert made.status_code == 201 and made.json()["owner"].startswith("admin:tok-")
        owned = await admin.post("/api/v1/tokens", json={
            "role": "provider", "organization_id": org, "label": "EHR feed"})
        assert owned.json()["owner"] == org
        assert (await admin.delete(f"/api/v1/tokens/{made.json()['id']}")).status_code == 204
        listed = (await admin.get("/api/v1/tokens")).json()
    by_id = {t["id"]: t for t in listed}
    assert by_id[made.json()["id"]]["revoked_at"] is not None
    assert by_id[owned.json()["id"]]["owner"] == org
    assert all("token" not in t and "token_hash" not in t for t in listed)
    async with server.client(await server.token("navigator")) as navigator:
        assert (await navigator.get("/api/v1/tokens")).status_code == 403
