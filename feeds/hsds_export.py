"""The live directory as HSDS 3.1 objects, shaped as the official `schema/compiled/*.json`.

Programs are services (same id); each program's address and point are one location and one
service_at_location (UUIDv5 ids from the program id); each unit is a `service_capacity`
(same id) whose `available`, `maximum` and `updated` are the live counts (and a
`waitlist:N` attribute when people wait). Values we do not
have are left out rather than sent empty, since HSDS types them as strings or numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feeds import hsds_vocabulary as vocab
from inventory.directory import ProgramInfo
from inventory.model import UnitState

VERSION = "3.1"
PROFILE = "https://specs.openreferral.org/en/latest/"


def _drop_empty(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v not in (None, "")}


def organization_list_item(org_id: str, name: str) -> dict[str, Any]:
    return {"id": org_id, "name": name, "description": name}


def organization_full(org_id: str, name: str, programs: list[ProgramInfo],
                      states: dict[str, UnitState], full_service: bool) -> dict[str, Any]:
    services = [service_full(p, states) if full_service else service_list_item(p)
                for p in programs]
    return {**organization_list_item(org_id, name), "services": services,
            "locations": [location(p) for p in programs if has_location(p)]}


def service_list_item(program: ProgramInfo) -> dict[str, Any]:
    return _drop_empty({
        "id": program.id, "organization_id": program.organization_id, "name": program.name,
        "description": program.description, "status": "active",
        "minimum_age": program.age_min, "maximum_age": program.age_max,
        "eligibility_description": eligibility_text(program),
    })


def service_full(program: ProgramInfo, states: dict[str, UnitState]) -> dict[str, Any]:
    service = service_list_item(program)
    service["organization"] = organization_list_item(program.organization_id,
                                                     program.organization_name)
    service["phones"] = phones(program)
    service["languages"] = languages(program)
    service["service_at_locations"] = ([service_at_location(program, nested=True)]
                                       if has_location(program) else [])
    service["capacities"] = [capacity(u.id, u.label, u.kind, states.get(u.id))
                             for u in program.units]
    service["attributes"] = attributes(program)
    return service


def eligibility_text(program: ProgramInfo) -> str:
    parts = [f"ages {program.age_min}-{program.age_max}"]
    if program.genders:
        parts.append("genders: " + ", ".join(program.genders))
    if program.payers:
        parts.append("payers: " + ", ".join(program.payers))
    return "; ".join(parts)


def phones(program: ProgramInfo) -> list[dict[str, Any]]:
    if not program.phone:
        return []
    return [{"id": vocab.stable_id("phone", program.id), "number": program.phone,
             "type": "voice"}]


def languages(program: ProgramInfo) -> list[dict[str, Any]]:
    return [{"id": vocab.stable_id("language", program.id, code), "code": code}
            for code in program.languages]


def attributes(program: ProgramInfo) -> list[dict[str, Any]]:
    return [attribute(program.id, "service", kind, value)
            for kind, value in vocab.program_tags(program.record())]


def attribute(link_id: str, entity: str, kind: str, value: str) -> dict[str, Any]:
    """One value HSDS has no field for, as an attribute in the bedfinder taxonomy."""
    term = vocab.term(kind, value)
    return {"id": vocab.stable_id("attribute", link_id, term["code"]), "link_id": link_id,
            "link_type": kind, "link_entity": entity, "taxonomy_term_id": term["id"],
            "taxonomy_term": term, "value": value, "label": term["description"]}


def capacity(unit_id: str, label: str, kind: str, state: UnitState | None) -> dict[str, Any]:
    unit = vocab.unit_of(kind)
    updated = (state.updated_at if state and state.updated_at
               else datetime.fromtimestamp(0, UTC))
    result = {"id": unit_id, "unit": unit, "unit_id": unit["id"],
              "available": state.available if state else 0,
              "maximum": state.capacity if state else 0,
              "description": label, "updated": updated.isoformat()}
    if state and state.waitlist:
        result["attributes"] = [attribute(unit_id, "service_capacity", vocab.WAITLIST,
                                          str(state.waitlist))]
    return result


def has_location(program: ProgramInfo) -> bool:
    return bool(program.address or program.latitude is not None)


def location(program: ProgramInfo) -> dict[str, Any]:
    loc = _drop_empty({"id": vocab.stable_id("location", program.id),
                       "location_type": "physical", "organization_id": program.organization_id,
                       "name": program.name, "latitude": program.latitude,
                       "longitude": program.longitude})
    if program.address:
        loc["addresses"] = [{
            "id": vocab.stable_id("address", program.id), "address_1": program.address,
            "city": "", "state_province": "", "postal_code": "",
            "country": "US", "address_type": "physical"}]
    if program.wheelchair:
        loc["accessibility"] = [{"id": vocab.stable_id("accessibility", program.id),
                                 "description": "wheelchair accessible"}]
    return loc


def service_at_location_id(program: ProgramInfo) -> str:
    return vocab.stable_id("service_at_location", program.id)


def service_at_location(program: ProgramInfo, nested: bool = False,
                        service: dict[str, Any] | None = None) -> dict[str, Any]:
    sal: dict[str, Any] = {"id": service_at_location_id(program), "service_id": program.id,
                           "location_id": vocab.stable_id("location", program.id)}
    if nested or service is not None:
        sal["location"] = location(program)
        sal["phones"] = phones(program)
    if service is not None:
        sal["service"] = service
    return sal


def page(items: list[dict[str, Any]], total: int, page_number: int, per_page: int
         ) -> dict[str, Any]:
    pages = max(1, -(-total // per_page))
    return {"total_items": total, "total_pages": pages, "page_number": page_number,
            "size": len(items), "first_page": page_number == 1,
            "last_page": page_number >= pages, "empty": total == 0, "contents": items}


def root(openapi_url: str) -> dict[str, Any]:
    return {"version": VERSION, "profile": PROFILE, "openapi_url": openapi_url}
