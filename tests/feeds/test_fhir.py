"""FHIR R4 out: HealthcareService and Location resources validate with fhir.resources (R4B
models, identical to R4 for these two resources) and carry live bed status."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location

from feeds.fhir import EXT_COUNTS, V2_0116
from inventory.actors import SYSTEM


async def directory(server):
    org = await server.org("Bay Crisis")
    near = await server.program(org, name="Bay Crisis Residential", latitude=37.77,
                                longitude=-122.42, level_of_care="crisis_residential",
                                languages=["en", "es"], wheelchair=True, payers=["medi-cal"],
                                address="10 Bay St", phone="415-555-0101")
    far = await server.program(org, name="Sacramento Detox", latitude=38.58,
                               longitude=-121.49, level_of_care="withdrawal_management")
    open_unit = await server.unit(near, capacity=8, available=3)
    full_unit = await server.unit(far, capacity=6, available=0)
    closed = await server.unit(far, capacity=0, available=0, label="Closed wing")
    return near, far, open_unit, full_unit, closed


async def test_bundle_of_services_with_included_locations_validates(server):
    near, _far, _open_unit, _full_unit, _closed = await directory(server)
    async with server.client(await server.token("display")) as http:
        response = await http.get("/fhir/HealthcareService",
                                  params={"_include": "HealthcareService:location"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 2
    modes = [(e.resource.get_resource_type(), e.search.mode) for e in bundle.entry]
    assert modes.count(("HealthcareService", "match")) == 2
    assert modes.count(("Location", "include")) == 3
    service = next(e.resource for e in bundle.entry if e.resource.id == near)
    assert isinstance(service, HealthcareService)
    assert [c.coding[0].code for c in service.communication] == ["en", "es"]
    assert any(c.coding[0].code == "wheelchair" for c in service.characteristic)
    assert any(e.code.coding[0].code == "payer-medi-cal" for e in service.eligibility)
    assert service.type[0].coding[0].code == "crisis_residential"


async def test_location_bed_status_uses_hl7_table_0116_and_counts_extension(server):
    _near, _far, open_unit, full_unit, closed = await directory(server)
    await server.svc.availability.set_availability(open_unit, SYSTEM, "api", available=2)
    async with server.client(await server.token("display")) as http:
        body = (await http.get("/fhir/Location")).json()
        single = (await http.get(f"/fhir/Location/{open_unit}")).json()
    locations = {e["resource"]["id"]: Location.model_validate(e["resource"])
                 for e in body["entry"]}
    status = {uid: (loc.operationalStatus.system, loc.operationalStatus.code)
              for uid, loc in locations.items()}
    assert status == {open_unit: (V2_0116, "U"), full_unit: (V2_0116, "O"),
                      closed: (V2_0116, "C")}
    Location.model_validate(single)
    counts = {e["url"]: next(v for k, v in e.items() if k.startswith("value"))
              for e in single["extension"][0]["extension"]}
    assert single["extension"][0]["url"] == EXT_COUNTS
    assert (counts["available"], counts["capacity"], counts["stale"]) == (2, 8, False)


async def test_location_search_by_id_type_and_near(server):
    _near, far, open_unit, full_unit, closed = await directory(server)
    async with server.client(await server.token("display")) as http:
        async def ids(**params: str) -> set[str]:
            response = await http.get("/fhir/Location", params=params)
            assert response.status_code == 200, response.text
            return {e["resource"]["id"] for e in response.json()["entry"]}

        assert await ids(_id=full_unit) == {full_unit}
        assert await ids(type="withdrawal_management") == {full_unit, closed}
        assert await ids(type="urn:bedfinder:level-of-care|crisis_residential") == {open_unit}
        assert await ids(near="37.78|-122.41|5|km") == {open_unit}
        assert await ids(near="37.78|-122.41|200|km") == {open_unit, full_unit, closed}
        bad = await http.get("/fhir/Location", params={"near": "somewhere"})
        assert bad.status_code == 400
        services = (await http.get("/fhir/HealthcareService", params={"_id": far})).json()
    assert [e["resource"]["id"] for e in services["entry"]] == [far]
    HealthcareService.model_validate(services["entry"][0]["resource"])
