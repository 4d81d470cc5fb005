"""HSDS 3.1 in and out: official examples import, re-import changes nothing, exports validate
against the official compiled schemas and carry live counts."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from feeds import service
from feeds.dataset import Dataset
from feeds.hsds_import import parse_documents
from inventory.actors import SYSTEM
from inventory.eligibility import Narrowing
from tests.feeds.hsds_schemas import EXAMPLES, errors
from web.demo import load_directory

COUNSELLING = "ac148810-d857-441c-9679-408f346de14b"
EXAMPLE_ORG = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
CAPACITY = "8896b788-7b3e-11ef-8db9-7f3d040352b3"
JSON_EXAMPLES = ["service_full.json", "organization_full.json", "service_at_location_full.json",
                 "service_list.json", "organization_list.json", "location.json"]


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


async def test_official_json_examples_import_and_show_up_in_search(server):
    report = await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    assert report.errors == []
    assert f"program {COUNSELLING}" in report.created and f"unit {CAPACITY}" in report.created
    assert any("above maximum" in w for w in report.warnings)  # the example has 12 of 10
    async with server.client(await server.token("navigator")) as http:
        found = (await http.get("/api/v1/programs", params={"q": "counselling"})).json()
    programs = found if isinstance(found, list) else found.get("programs", found)
    program = next(p for p in programs if p["id"] == COUNSELLING)
    assert program["units"][0]["available"] == 12 and program["units"][0]["capacity"] == 12
    detail = await server.svc.directory.program(COUNSELLING)
    assert (detail.age_min, detail.age_max, detail.languages) == (12, 100, ("ur",))
    assert detail.organization_id == EXAMPLE_ORG and detail.latitude is None
    assert any("latitude 100.0 is outside -90..90" in w for w in report.warnings)


async def test_every_official_example_shape_imports_without_errors(server):
    documents = [example(name) for name in JSON_EXAMPLES]
    report = await service.import_hsds(server.svc, parse_documents(documents))
    assert report.errors == [] and f"program {COUNSELLING}" in report.created
    csv_report = await service.import_hsds(server.svc, str(EXAMPLES / "csv"))
    assert csv_report.errors == []
    assert any("not in the data" in w for w in csv_report.warnings)  # orphan capacity row
    assert f"program {COUNSELLING}" not in csv_report.created


async def test_csv_datapackage_maps_like_the_json(server):
    report = await service.import_hsds(server.svc, str(EXAMPLES / "csv"))
    assert report.errors == [] and f"program {COUNSELLING}" in report.created
    program = await server.svc.directory.program(COUNSELLING)
    assert program.name == "Community Counselling" and program.address.startswith("1-30 Main")
    assert program.phone == "+44 1234 234567" and program.wheelchair is True


async def test_second_import_of_the_same_data_changes_nothing(server):
    await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    seq = await server.svc.live.current_seq()
    again = await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    assert again.created == [] and again.updated == [] and again.counts_applied == []
    assert f"program {COUNSELLING}" in again.unchanged
    assert await server.svc.live.current_seq() == seq
    assert len(await server.svc.directory.programs()) == 1


async def test_changed_record_updates_in_place_and_missing_one_is_reported(server):
    org = example("organization_full.json")
    second = copy.deepcopy(org["services"][0])
    second.update(id=str(uuid.uuid4()), name="Second Service", capacities=[])
    org["services"].append(second)
    await service.import_hsds(server.svc, parse_documents([org]))
    assert len(await server.svc.directory.programs()) == 2
    org["services"] = [dict(org["services"][0], name="Renamed Counselling")]
    report = await service.import_hsds(server.svc, parse_documents([org]))
    assert f"program {COUNSELLING}" in report.updated and report.missing == [second["id"]]
    programs = await server.svc.directory.programs()
    assert len(programs) == 2 and programs[COUNSELLING].name == "Renamed Counselling"


async def test_feed_never_overwrites_a_newer_provider_update(server):
    await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    await server.svc.availability.set_availability(CAPACITY, SYSTEM, "api", available=3)
    stale_feed = example("service_full.json")
    stale_feed["capacities"][0]["available"] = 9  # observed in 2024, before our update
    report = await service.import_hsds(server.svc, parse_documents([stale_feed]))
    assert report.counts_kept_newer == [CAPACITY]
    state = (await server.svc.live.units([CAPACITY]))[CAPACITY]
    assert state.available == 3
    fresh_feed = copy.deepcopy(stale_feed)
    fresh_feed["capacities"][0]["updated"] = "2099-01-01T00:00:00Z"
    report = await service.import_hsds(server.svc, parse_documents([fresh_feed]))
    assert report.counts_applied == [CAPACITY]
    assert (await server.svc.live.units([CAPACITY]))[CAPACITY].available == 9


async def directory_with_uuids(server) -> tuple[str, str, str]:
    org = await server.org("Mission Recovery", str(uuid.uuid4()))
    program = await server.program(
        org, id=str(uuid.uuid4()), name="Mission Detox", level_of_care="withdrawal_management",
        asam_level="3.7-WM", address="1 Mission St, San Francisco, CA", phone="415-555-0100",
        payers=["medi-cal", "uninsured"], languages=["en", "es"], mat=["buprenorphine"],
        wheelchair=True, cadence_minutes=120)
    unit = await server.unit(program, capacity=12, available=4, id=str(uuid.uuid4()))
    await server.unit(program, capacity=5, available=0, id=str(uuid.uuid4()), kind="slot",
                      label="Outpatient slots")
    return org, program, unit


async def test_every_exported_object_validates_against_the_official_schemas(server):
    org, program, _unit = await directory_with_uuids(server)
    await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    async with server.client(await server.token("display")) as http:
        async def get(path: str, **params: Any) -> Any:
            response = await http.get(path, params=params)
            assert response.status_code == 200, response.text
            return response.json()

        root = await get("/hsds/")
        assert root["version"] == "3.1" and root["openapi_url"].endswith("/openapi.json")
        listing = await get("/hsds/services")
        assert listing["total_items"] == 2 and listing["first_page"] and listing["last_page"]
        checks = [("service_list", s) for s in listing["contents"]]
        full = await get("/hsds/services", full="true")
        checks += [("service", s) for s in full["contents"]]
        checks.append(("service", await get(f"/hsds/services/{program}")))
        orgs = await get("/hsds/organizations")
        checks += [("organization_list", o) for o in orgs["contents"]]
        checks.append(("organization", await get(f"/hsds/organizations/{org}",
                                                 full_service="true")))
        sals = await get("/hsds/service_at_locations")
        checks += [("service_at_location_list", s) for s in sals["contents"]]
        checks.append(("service_at_location",
                       await get(f"/hsds/service_at_locations/{sals['contents'][0]['id']}")))
        taxonomies = await get("/hsds/taxonomies")
        checks += [("taxonomy", t) for t in taxonomies["contents"]]
        page = await get("/hsds/services", per_page=1, page=2)
        assert page["size"] == 1 and page["page_number"] == 2 and page["total_pages"] == 2
    for schema, obj in checks:
        uuid_ids = obj.get("id") != COUNSELLING or schema.startswith("organization")
        assert errors(schema, obj) == [], (schema, obj.get("id"))
        if uuid_ids and obj.get("id", "").count("-") == 4:
            assert errors(schema, obj, formats=True) == [], (schema, obj.get("id"))


async def test_export_carries_live_counts_and_round_trips(server):
    _org, program, unit = await directory_with_uuids(server)
    await server.svc.availability.set_availability(unit, SYSTEM, "api", available=7)
    async with server.client(await server.token("display")) as http:
        exported = (await http.get(f"/hsds/services/{program}")).json()
    capacity = next(c for c in exported["capacities"] if c["id"] == unit)
    assert (capacity["available"], capacity["maximum"]) == (7, 12)
    assert capacity["unit"]["identifier"] == "bed" and capacity["updated"]
    dataset: Dataset = parse_documents([exported])
    [record] = dataset.programs
    info = await server.svc.directory.program(program)
    mine = {k: v for k, v in info.record().items() if k in record.values}
    assert record.values == mine and record.values["level_of_care"] == "withdrawal_management"
    assert {(u.id, u.capacity, u.available, u.kind) for u in record.units} == {
        (unit, 12, 7, "bed"), (info.units[1].id if info.units[1].id != unit else
                               info.units[0].id, 5, 0, "slot")}
    again = await service.import_hsds(server.svc, dataset)
    assert again.updated == [] and again.created == [] and again.errors == []


async def test_official_example_round_trips_through_export(server):
    await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    async with server.client(await server.token("display")) as http:
        exported = (await http.get(f"/hsds/services/{COUNSELLING}")).json()
    original = example("service_full.json")
    assert exported["id"] == original["id"] and exported["name"] == original["name"]
    assert [c["id"] for c in exported["capacities"]] == [original["capacities"][0]["id"]]
    assert exported["capacities"][0]["available"] == original["capacities"][0]["available"]
    assert errors("service", exported) == []


async def test_hsds_reads_need_a_token_and_unknown_ids_are_404(server):
    async with server.client() as anonymous:
        assert (await anonymous.get("/hsds/services")).status_code == 401
    async with server.client(await server.token("display")) as http:
        assert (await http.get("/hsds/services/nope")).status_code == 404
        assert (await http.get("/hsds/services", params={"format": "xml"})).status_code == 422


async def test_import_from_an_hsds_api_url_follows_its_pages(server):
    await service.import_hsds(server.svc, str(EXAMPLES / "service_full.json"))
    await directory_with_uuids(server)
    server.settings.public_read = True  # the import client sends no token
    report = await service.import_hsds(server.svc, server.base_url + "/hsds/")
    assert report.errors == [] and report.created == [] and report.updated == []
    assert len([u for u in report.unchanged if u.startswith("program")]) == 2


async def test_demo_directory_exports_valid_hsds_and_fhir(server):
    await load_directory(server.svc.system)
    async with server.client(await server.token("display")) as http:
        services = (await http.get("/hsds/services", params={"full": "true",
                                                             "per_page": 500})).json()
        sals = (await http.get("/hsds/service_at_locations",
                               params={"full": "true", "per_page": 500})).json()
        bundle = (await http.get("/fhir/HealthcareService",
                                 params={"_include": "HealthcareService:location"})).json()
    assert services["total_items"] >= 30
    problems = [errors("service", s) for s in services["contents"]]
    problems += [errors("service_at_location", s) for s in sals["contents"]]
    assert [p for p in problems if p] == []
    assert sum(len(s["capacities"]) for s in services["contents"]) >= 30
    assert len(Bundle.model_validate(bundle).entry) > services["total_items"]


async def peer_center_and_split_detox(server) -> tuple[str, str, dict[str, str]]:
    """A peer center with hours and the four newer attributes; a detox whose units serve
    women 18-64 and men without a wheelchair-accessible room."""
    org = await server.org("Bayshore Community Wellness", str(uuid.uuid4()))
    peer = await server.program(
        org, id=str(uuid.uuid4()), name="Bayshore Peer Wellness Center",
        level_of_care="peer_center", harm_reduction=True, telehealth=True, reentry=True,
        homeless_priority=True, hours={"timezone": "America/Los_Angeles",
                                       "mon": "09:00-17:00", "fri": "09:00-12:00,13:00-17:00",
                                       "sat": "20:00-02:00"})
    await server.unit(peer, capacity=30, available=12, id=str(uuid.uuid4()), kind="slot",
                      label="Drop-in places")
    detox = await server.program(org, id=str(uuid.uuid4()), name="Bayshore Detox",
                                 level_of_care="withdrawal_management", wheelchair=True)
    units = {}
    for key, label, own in (
            ("women", "Women's beds", Narrowing(genders=("female",), age_max=64)),
            ("men", "Men's beds", Narrowing(genders=("male",), wheelchair=False))):
        units[key] = (await server.svc.directory.create_unit(
            detox, SYSTEM, label=label, kind="bed", capacity=8, available=1,
            unit_id=str(uuid.uuid4()), population=own)).id
    return peer, detox, units


async def test_unit_populations_hours_and_new_attributes_round_trip_through_hsds(server):
    peer, detox, units = await peer_center_and_split_detox(server)
    async with server.client(await server.token("display")) as http:
        exported = [(await http.get(f"/hsds/services/{p}")).json() for p in (peer, detox)]
    assert [errors("service", s) for s in exported] == [[], []]
    schedules = {(s["byday"], s["opens_at"], s["closes_at"]) for s in exported[0]["schedules"]}
    assert schedules == {("MO", "09:00", "17:00"), ("FR", "09:00", "12:00"),
                         ("FR", "13:00", "17:00"), ("SA", "20:00", "02:00")}
    women = next(c for c in exported[1]["capacities"] if c["id"] == units["women"])
    assert {a["taxonomy_term"]["code"] for a in women["attributes"]} == {
        "gender:female", "age_max:64"}
    assert "Women's beds: women, ages 18-64" in exported[1]["eligibility_description"]
    parsed = parse_documents(exported)
    assert parsed.warnings == []
    by_id = {p.id: p for p in parsed.programs}
    assert by_id[peer].values["hours"] == (await server.svc.directory.program(peer)).hours
    assert all(by_id[peer].values[name] for name in (
        "harm_reduction", "telehealth", "reentry", "homeless_priority"))
    populations = {u.id: u.population for u in by_id[detox].units}
    assert populations == {units["women"]: Narrowing(genders=("female",), age_max=64),
                           units["men"]: Narrowing(genders=("male",), wheelchair=False)}
    assert (await service.import_hsds(server.svc, parsed)).updated == []
    # A unit changed here is put back by the data, and only that unit is written.
    await server.svc.directory.update_unit(units["men"], SYSTEM,
                                           population={"genders": None, "wheelchair": None})
    restored = await service.import_hsds(server.svc, parse_documents(exported))
    assert restored.updated == [f"unit {units['men']}"] and restored.errors == []
    program = await server.svc.directory.program(detox)
    men = next(u for u in program.units if u.id == units["men"])
    assert (men.genders, men.wheelchair, men.own) == (
        ("male",), False, Narrowing(genders=("male",), wheelchair=False))


async def test_a_capacity_that_would_widen_its_program_is_refused_by_label(server):
    _, detox, units = await peer_center_and_split_detox(server)
    async with server.client(await server.token("display")) as http:
        exported = (await http.get(f"/hsds/services/{detox}")).json()
    women = next(c for c in exported["capacities"] if c["id"] == units["women"])
    for attribute in women["attributes"]:
        if attribute["taxonomy_term"]["code"] == "age_max:64":
            attribute["taxonomy_term"]["code"] = "age_max:140"
        if attribute["taxonomy_term"]["code"] == "gender:female":
            attribute["taxonomy_term"]["code"] = "gender:robot"
    report = await service.import_hsds(server.svc, parse_documents([exported]))
    assert report.warnings == [(f"service {detox}: capacity {units['women']} has "
                                f"'age_max:140', not a population attribute we can read; "
                                f"left out")]
    assert report.errors == [(f"unit {units['women']}: genders: unknown value 'robot'; "
                              f"known: female, male, nonbinary")]
