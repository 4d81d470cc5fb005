"""The reports API on a running app: who may read it, bad questions, CSV equal to the JSON
the page draws, and unmet demand recorded from real searches and match requests."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from inventory.config import Settings
from inventory.history import floor_hour
from inventory.history_records import DemandEntry
from inventory.measures import MEASURES
from tests.analytics.conftest import demo_with_history
from tests.conftest import Server


async def test_only_admins_and_analysts_read_reports(server: Server) -> None:
    analyst = await server.token("analyst")
    navigator = await server.token("navigator")
    async with server.client(analyst) as client:
        assert (await client.get("/api/v1/reports/holds")).status_code == 200
        listed = (await client.get("/api/v1/reports")).json()
        assert {m["measure"] for m in listed} == set(MEASURES)
    async with server.client(navigator) as client:
        refused = await client.get("/api/v1/reports/holds.csv")
        assert refused.status_code == 403 and "analyst" in refused.json()["detail"]
    async with server.client() as client:
        assert (await client.get("/api/v1/reports/holds")).status_code == 401


async def test_bad_questions_get_a_clear_422(server: Server) -> None:
    async with server.client(await server.token("admin")) as client:
        cases = {"level=detox": "unknown level", "from=2026-13-01": "from must be a date",
                 "from=2026-02-01&to=2026-01-01": "must be after",
                 "tz=Mars/Olympus": "time zone", "bucket=month": "bucket"}
        for query, words in cases.items():
            reply = await client.get(f"/api/v1/reports/zero_hours?{query}")
            assert reply.status_code == 422, query
            assert words in str(reply.json()["detail"]), (query, reply.json())
        assert (await client.get("/api/v1/reports/nothing.csv")).status_code == 404


async def test_csv_has_the_same_rows_as_the_json(settings: Settings) -> None:
    async with demo_with_history(settings, 3) as (server, counts):
        assert counts and counts["changes"] > 500 and counts["holds"] > 0
        # A range that ended before this hour: the page and the export see the same past.
        end = floor_hour(server.svc.clock()) - timedelta(hours=1)
        query = (f"from={(end - timedelta(days=3)).date()}&to={end:%Y-%m-%dT%H:%M:%SZ}"
                 "&tz=America/Los_Angeles&bucket=day")
        async with server.client(await server.token("analyst")) as client:
            for name in MEASURES:
                data = (await client.get(f"/api/v1/reports/{name}?{query}")).json()
                reply = await client.get(f"/api/v1/reports/{name}.csv?{query}")
                assert reply.headers["content-type"].startswith("text/csv")
                table = list(csv.reader(io.StringIO(reply.text)))
                assert table[0] == data["columns"], name
                as_text = [["" if row[c] is None else str(row[c]) for c in data["columns"]]
                           for row in data["rows"]]
                assert table[1:] == as_text, name
                if name in ("zero_hours", "occupancy", "holds", "freshness"):
                    assert data["rows"], name


async def test_searches_and_matches_that_found_nothing_are_counted(server: Server) -> None:
    org = await server.org()
    detox = await server.program(org, level_of_care="withdrawal_management", area="Mission")
    await server.unit(detox, capacity=4, available=2)
    residential = await server.program(org, level_of_care="residential_sud", area="Bayview",
                                       latitude=37.73, longitude=-122.39)
    await server.unit(residential, capacity=6, available=0)
    async with server.client(await server.token("navigator")) as client:
        found = await client.get("/api/v1/programs", params={
            "level_of_care": "withdrawal_management", "age": 34})
        assert found.status_code == 200 and found.json()["count"] == 1
        named = await client.get("/api/v1/programs", params={
            "level_of_care": "withdrawal_management", "q": "Jane Roe"})
        assert named.json()["count"] == 0
        empty = await client.get("/api/v1/programs", params={
            "level_of_care": "residential_sud", "near": "37.7301,-122.3899"})
        assert empty.json()["programs"][0]["available"] == 0
        match = await client.post("/api/v1/match", json={"from_level": "withdrawal_management",
                                                         "needs": {"age": 34}})
        assert match.status_code == 200
    await server.svc.demand.settle()
    async with server.client(await server.token("analyst")) as client:
        rows = (await client.get("/api/v1/reports/unmet_demand",
                                 params={"level": "residential_sud", "by_area": "true"})).json()
    got = {(r["kind"], r["area"]): (r["requests"], r["found_nothing"]) for r in rows["rows"]}
    # The search near Bayview's programs is placed in Bayview; the match named no place.
    assert got == {("search", "Bayview"): (1, 1), ("match", "all"): (1, 1)}
    async with server.svc.sessions() as session:
        kept = (await session.execute(select(DemandEntry))).scalars().all()
    detox_rows = [e for e in kept if e.level == "withdrawal_management"]
    assert sorted((e.kind, e.found) for e in detox_rows) == [("search", False),
                                                              ("search", True)]
    assert {e.filters.get("age_band") for e in detox_rows} == {"30-39", None}
    assert "Jane" not in repr([e.filters for e in kept])
    assert all("age" not in e.filters and "near" not in e.filters for e in kept)


async def test_unmet_demand_by_need_withholds_small_counts_in_the_api(server: Server) -> None:
    org = await server.org()
    detox = await server.program(org, level_of_care="withdrawal_management")
    await server.unit(detox, capacity=4, available=0)
    async with server.client(await server.token("navigator")) as client:
        for language in ("es", "es", "en"):
            found = await client.get("/api/v1/programs", params={
                "level_of_care": "withdrawal_management", "language": language})
            assert found.status_code == 200
    await server.svc.demand.settle()
    async with server.client(await server.token("analyst")) as client:
        data = (await client.get("/api/v1/reports/unmet_by_need")).json()
        csv_text = (await client.get("/api/v1/reports/unmet_by_need.csv")).text
    everyone = data["rows"][0]
    assert (everyone["dimension"], everyone["group"]) == ("all", "all")
    assert everyone["requests"] == "suppressed" and everyone["share_found_nothing"] == (
        "suppressed")
    assert data["suppressed"] > 0 and "all,all,all,suppressed,suppressed" in csv_text
