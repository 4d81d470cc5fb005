"""Unit-level eligibility through the real API (real Redis, real SQL), and its migration."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from inventory.database import MIGRATIONS, create_engine, migrate
from tests.conftest import Server
from web.demo import load_directory

ADMIN_PROGRAM = {"organization_id": "org-bay", "name": "Bayshore Withdrawal Management",
                 "level_of_care": "withdrawal_management", "payers": ["medi-cal"]}


async def bayshore(server: Server) -> tuple[str, dict[str, str], str]:
    """A detox program with a women's unit 0/8 and a men's unit 1/8; the admin token."""
    admin = await server.token("admin")
    async with server.client(admin) as client:
        assert (await client.post("/api/v1/organizations", json={
            "id": "org-bay", "name": "Bayshore"})).status_code == 201
        reply = await client.post("/api/v1/programs", json=ADMIN_PROGRAM)
        assert reply.status_code == 201, reply.text
        program_id = reply.json()["id"]
        units = {}
        for label, gender, available in (("Women's beds", "female", 0),
                                         ("Men's beds", "male", 1)):
            reply = await client.post(f"/api/v1/programs/{program_id}/units", json={
                "label": label, "capacity": 8, "available": available, "genders": [gender]})
            assert reply.status_code == 201, reply.text
            assert reply.json()["genders"] == [gender]
            units[gender] = reply.json()["id"]
    return program_id, units, admin


async def search(server: Server, token: str, **params: Any) -> dict[str, Any]:
    async with server.client(token) as client:
        reply = await client.get("/api/v1/programs", params={
            "level_of_care": "withdrawal_management", **params})
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_a_free_mens_bed_is_not_available_for_a_woman_and_is_for_a_man(server: Server
                                                                             ) -> None:
    program_id, units, _ = await bayshore(server)
    nav = await server.token("navigator")
    assert (await search(server, nav, gender="female", available_only="true"))["count"] == 0
    [woman] = (await search(server, nav, gender="female"))["programs"]
    assert (woman["id"], woman["available"]) == (program_id, 0)
    by_id = {u["id"]: u for u in woman["units"]}
    assert by_id[units["female"]]["fits"] is True
    assert by_id[units["male"]] | {"fits": False, "not_fitting": "men only"} == by_id[
        units["male"]]
    [man] = (await search(server, nav, gender="male", available_only="true"))["programs"]
    assert man["available"] == 1
    async with server.client(nav) as client:
        matched = (await client.post("/api/v1/match", json={
            "needs": {"gender": "female", "age": 30}, "limit": 100})).json()
        unit = (await client.get(f"/api/v1/units/{units['male']}")).json()
    [option] = [o for o in matched["options"] if o["program_id"] == program_id]
    assert (option["available_now"], option["best_unit_id"]) == (0, None)
    assert "Men's beds not counted: men only" in option["reasons"]
    assert (unit["genders"], unit["age_min"], unit["age_max"]) == (["male"], 18, 120)


async def test_a_unit_that_would_widen_its_program_is_refused_naming_the_attribute(
        server: Server) -> None:
    program_id, units, admin = await bayshore(server)
    async with server.client(admin) as client:
        await client.patch(f"/api/v1/programs/{program_id}", json={"age_max": 64})
        wider = await client.post(f"/api/v1/programs/{program_id}/units", json={
            "label": "Elders", "capacity": 4, "age_max": 90})
        assert wider.status_code == 422
        assert wider.json()["detail"].startswith("age_max: unit 'Elders' may not admit")
        nobody = await client.patch(f"/api/v1/units/{units['male']}",
                                    json={"genders": [], "label": "Closed wing"})
        assert nobody.status_code == 422 and "would admit no one" in nobody.json()["detail"]
        women_only = await client.patch(f"/api/v1/programs/{program_id}",
                                        json={"genders": ["female"]})
        assert women_only.status_code == 422
        assert "Men's beds" in women_only.json()["detail"]
        unknown = await client.post(f"/api/v1/programs/{program_id}/units", json={
            "label": "X", "capacity": 1, "genders": ["woman"]})
        assert unknown.status_code == 422
        narrowed = await client.patch(f"/api/v1/units/{units['male']}",
                                      json={"age_min": 25})
        assert narrowed.status_code == 200, narrowed.text
        assert (narrowed.json()["age_min"], narrowed.json()["genders"]) == (25, ["male"])
        inherit = await client.patch(f"/api/v1/units/{units['male']}", json={"genders": None})
        assert inherit.json()["genders"] == ["female", "male", "nonbinary"]
        unchanged = (await client.get(f"/api/v1/programs/{program_id}")).json()
    assert unchanged["genders"] == ["female", "male", "nonbinary"]
    assert len(unchanged["units"]) == 2


async def test_contradictory_needs_and_new_attributes_in_search(server: Server) -> None:
    _, _, admin = await bayshore(server)
    async with server.client(admin) as client:
        bad = await client.post("/api/v1/programs", json={
            **ADMIN_PROGRAM, "level_of_care": "peer_center", "hours": {"mon": "9-5"}})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("hours")
        never = {"timezone": "America/Los_Angeles"}  # no day listed: closed all week
        peer = await client.post("/api/v1/programs", json={
            **ADMIN_PROGRAM, "name": "Peer Wellness Center", "level_of_care": "peer_center",
            "harm_reduction": True, "hours": never})
        assert peer.status_code == 201, peer.text
        assert (peer.json()["open_now"], peer.json()["harm_reduction"]) == (False, True)
    nav = await server.token("navigator")
    async with server.client(nav) as client:
        reply = await client.get("/api/v1/programs", params={"involuntary": "true",
                                                             "secure": "false"})
        assert reply.status_code == 422 and reply.json()["detail"].startswith("secure:")
        low_barrier = (await client.get("/api/v1/programs",
                                        params={"harm_reduction": "true"})).json()
        assert [p["name"] for p in low_barrier["programs"]] == ["Peer Wellness Center"]
        levels = (await client.get("/api/v1/levels")).json()
    by_id = {level["id"]: level for level in levels["levels"]}
    assert by_id["full_service_partnership"]["kind"] == "slot"
    assert set(by_id["peer_center"]["names"]) == {"en", "es", "zh-Hant", "vi"}
    assert "board_and_care" in by_id["mental_health_residential"]["next"]
    assert "psychiatric_inpatient" in by_id["crisis_residential"]["after"]


def migration_0005() -> Any:
    path = next((MIGRATIONS / "versions").glob("0005_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_migration_0005_keeps_existing_units_inheriting_on_sqlite(tmp_path: Path
                                                                       ) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await migrate(engine, "0004")
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO organizations (id, name, created_at) VALUES ('o', 'O', '2026-01-01')"))
        await conn.execute(text(
            "INSERT INTO programs (id, organization_id, name, description, level_of_care, "
            "genders, age_min, age_max, payers, languages, mat, wheelchair, pets, "
            "co_occurring, involuntary, secure, created_at, updated_at) VALUES ('p', 'o', "
            "'P', '', 'shelter', '[]', 18, 64, '[]', '[]', '[]', 0, 0, 0, 0, 0, "
            "'2026-01-01', '2026-01-01')"))
        await conn.execute(text("INSERT INTO units (id, program_id, label, kind, capacity, "
                                "created_at) VALUES ('u', 'p', 'Beds', 'bed', 4, '2026-01-01')"))
    await migrate(engine)
    async with engine.connect() as conn:
        unit = (await conn.execute(text(
            "SELECT genders, age_min, age_max, wheelchair, involuntary, secure FROM units"))).one()
        flags = (await conn.execute(text(
            "SELECT harm_reduction, telehealth, reentry, homeless_priority FROM programs"))).one()
    await engine.dispose()
    assert tuple(unit) == (None,) * 6
    assert tuple(flags) == (0, 0, 0, 0)


def test_migration_0005_is_valid_postgresql() -> None:
    out = io.StringIO()
    context = MigrationContext.configure(dialect_name="postgresql",
                                         opts={"as_sql": True, "output_buffer": out})
    module = migration_0005()
    with Operations.context(context):
        module.upgrade()
        module.downgrade()
    sql = out.getvalue()
    assert "ALTER TABLE units ADD COLUMN genders JSON" in sql
    assert "ALTER TABLE programs ADD COLUMN harm_reduction BOOLEAN DEFAULT '0' NOT NULL" in sql
    assert "ALTER TABLE units DROP COLUMN secure" in sql


async def test_a_census_row_that_lands_on_the_wrong_population_is_refused(server: Server
                                                                         ) -> None:
    _, units, admin = await bayshore(server)
    csv = ("unit_id,available,genders\n"
           f"{units['female']},2,female\n"
           f"{units['male']},0,female\n")
    async with server.client(admin) as http:
        refused = await http.post("/api/v1/census", content=csv,
                                  headers={"Content-Type": "text/csv"})
        assert refused.status_code == 422
        [row] = refused.json()["rows"]
        assert row["row"] == 3 and row["errors"][0].startswith(
            "genders: Men's beds serves male in the directory")
        good = await http.post("/api/v1/census", content=csv.replace("0,female", "0,male"),
                               headers={"Content-Type": "text/csv"})
        assert good.status_code == 200, good.text
    assert (await server.svc.live.units([units["female"]]))[units["female"]].available == 2


async def test_demo_directory_counts_for_a_woman_only_free_beds_of_units_admitting_women(
        server: Server) -> None:
    await load_directory(server.svc.system)
    nav = await server.token("navigator")
    async with server.client(nav) as client:
        found = (await client.get("/api/v1/programs", params={
            "gender": "female", "limit": 2000})).json()
        open_only = (await client.get("/api/v1/programs", params={
            "gender": "female", "available_only": "true", "limit": 2000})).json()
        matched = (await client.post("/api/v1/match", json={
            "needs": {"gender": "female"}, "limit": 100})).json()
    assert found["count"] > 0
    for program in found["programs"]:
        admitting = [u for u in program["units"] if "female" in u["genders"]]
        assert all(u["fits"] == ("female" in u["genders"]) for u in program["units"])
        assert program["available"] == sum(u["available"] for u in admitting)
    # Issue 13's example: Bayshore's women's unit is 0 of 8, its free bed a men's bed.
    by_id = {p["id"]: p for p in found["programs"]}
    bayshore = by_id["prg-bayshore-withdrawal-center"]
    assert bayshore["available"] == 0
    assert {u["id"]: (u["fits"], u["not_fitting"]) for u in bayshore["units"]} == {
        "unit-bayshore-detox-men": (False, "men only"),
        "unit-bayshore-detox-women": (True, None)}
    assert "prg-bayshore-withdrawal-center" not in {p["id"] for p in open_only["programs"]}
    assert {p["id"] for p in open_only["programs"]} == {
        p["id"] for p in found["programs"] if p["available"] > 0 and p["open_now"]}
    # The matcher counts the same beds as the search, program by program.
    assert matched["options"]
    for option in matched["options"]:
        assert option["available_now"] == by_id[option["program_id"]]["available"]


async def test_views_built_once_per_load_follow_every_directory_change(server: Server) -> None:
    """A program's record and its units' labels and populations are built when the
    directory loads, not per request: after each change, the very next search shows it."""
    program_id, units, admin = await bayshore(server)
    nav = await server.token("navigator")
    [before] = (await search(server, nav))["programs"]
    assert (before["name"], before["payers"]) == (ADMIN_PROGRAM["name"], ["medi-cal"])
    async with server.client(admin) as client:
        reply = await client.patch(f"/api/v1/programs/{program_id}", json={
            "name": "Bayshore Detox", "payers": ["medi-cal", "medicare"], "age_max": 64})
        assert reply.status_code == 200, reply.text
        reply = await client.patch(f"/api/v1/units/{units['male']}",
                                   json={"label": "Men's ward", "age_min": 21})
        assert reply.status_code == 200, reply.text
    [after] = (await search(server, nav))["programs"]
    assert (after["name"], after["payers"], after["age_max"]) == (
        "Bayshore Detox", ["medi-cal", "medicare"], 64)
    by_id = {u["id"]: u for u in after["units"]}
    assert (by_id[units["male"]]["label"], by_id[units["male"]]["age_min"],
            by_id[units["male"]]["age_max"]) == ("Men's ward", 21, 64)
    assert by_id[units["female"]]["age_max"] == 64  # inherited from the changed program
    async with server.client(nav) as client:
        one = (await client.get(f"/api/v1/programs/{program_id}")).json()
    assert (one["name"], one["age_max"]) == ("Bayshore Detox", 64)
