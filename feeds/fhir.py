"""The live directory as HL7 FHIR R4 resources: programs as HealthcareService, units as
Location.

A unit's bed status is `Location.operationalStatus`, coded from HL7 v2 table 0116 (bed
status): `U` unoccupied (a bed is free), `O` occupied (none free), `C` closed (capacity 0).
Its counts travel in one complex extension, `EXT_COUNTS`, documented in docs/feeds.md.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from inventory.directory import ProgramInfo, UnitInfo
from inventory.model import UnitState, is_stale

V2_0116 = "http://terminology.hl7.org/CodeSystem/v2-0116"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
LANGUAGE = "urn:ietf:bcp:47"
LEVEL_OF_CARE = "urn:bedfinder:level-of-care"
ASAM = "urn:bedfinder:asam-level"
ELIGIBILITY = "urn:bedfinder:eligibility"
FEATURE = "urn:bedfinder:feature"
EXT_COUNTS = "urn:bedfinder:fhir:StructureDefinition:bed-counts"
BED_STATUS = {"open": ("U", "Unoccupied"), "full": ("O", "Occupied"),
              "waitlist": ("O", "Occupied"), "closed": ("C", "Closed")}
FEATURES = ("wheelchair", "pets", "co_occurring", "involuntary", "secure")


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)], "text": display or code}


def healthcare_service(p: ProgramInfo, level_names: dict[str, str]) -> dict[str, Any]:
    level = level_names.get(p.level_of_care, p.level_of_care)
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService", "id": p.id, "active": True,
        "providedBy": {"reference": f"Organization/{p.organization_id}",
                       "display": p.organization_name},
        "type": [concept(LEVEL_OF_CARE, p.level_of_care, level)],
        "name": p.name,
        "location": [{"reference": f"Location/{u.id}", "display": u.label} for u in p.units],
        "eligibility": eligibility(p),
        "program": [{"text": level}] + ([concept(ASAM, p.asam_level, f"ASAM {p.asam_level}")]
                                         if p.asam_level else []),
        "characteristic": [concept(FEATURE, f, f.replace("_", " ")) for f in FEATURES
                           if getattr(p, f)] + [concept(FEATURE, f"mat-{m}", f"MAT: {m}")
                                                for m in p.mat],
        "communication": [concept(LANGUAGE, code) for code in p.languages],
    }
    if p.description:
        resource["comment"] = p.description
    if p.phone:
        resource["telecom"] = [{"system": "phone", "value": p.phone, "use": "work"}]
    return {k: v for k, v in resource.items() if v != []}


def eligibility(p: ProgramInfo) -> list[dict[str, Any]]:
    items = [{"code": concept(ELIGIBILITY, "age", f"age {p.age_min}-{p.age_max}"),
              "comment": f"ages {p.age_min} to {p.age_max}"}]
    items += [{"code": concept(ELIGIBILITY, f"gender-{g}", f"gender: {g}")} for g in p.genders]
    items += [{"code": concept(ELIGIBILITY, f"payer-{x}", f"payer: {x}")} for x in p.payers]
    return items


def location(p: ProgramInfo, unit: UnitInfo, state: UnitState | None, cadence_minutes: int,
             now: datetime, level_names: dict[str, str]) -> dict[str, Any]:
    status = state.status if state else "closed"
    code, display = BED_STATUS[status]
    resource: dict[str, Any] = {
        "resourceType": "Location", "id": unit.id,
        "status": "active" if status != "closed" else "suspended",
        "operationalStatus": coding(V2_0116, code, display),
        "name": f"{p.name}: {unit.label}", "mode": "instance",
        "type": [concept(LEVEL_OF_CARE, p.level_of_care,
                         level_names.get(p.level_of_care, p.level_of_care))],
        "managingOrganization": {"reference": f"Organization/{p.organization_id}",
                                 "display": p.organization_name},
        "extension": [counts_extension(state, cadence_minutes, now)] if state else [],
    }
    if unit.kind == "bed":
        resource["physicalType"] = concept(PHYSICAL_TYPE, "wa", "Ward")
    if p.phone:
        resource["telecom"] = [{"system": "phone", "value": p.phone, "use": "work"}]
    if p.address:
        resource["address"] = {"use": "work", "text": p.address}
    if p.latitude is not None and p.longitude is not None:
        resource["position"] = {"latitude": p.latitude, "longitude": p.longitude}
    if state and state.updated_at:
        resource["meta"] = {"lastUpdated": state.updated_at.isoformat()}
    return {k: v for k, v in resource.items() if v != []}


def counts_extension(state: UnitState, cadence_minutes: int, now: datetime) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": name, "valueInteger": getattr(state, name)}
        for name in ("available", "held", "capacity", "waitlist")]
    parts.append({"url": "status", "valueCode": state.status})
    parts.append({"url": "stale", "valueBoolean": is_stale(state.updated_at, cadence_minutes,
                                                            now)})
    if state.updated_at:
        parts.append({"url": "updated", "valueDateTime": state.updated_at.isoformat()})
    return {"url": EXT_COUNTS, "extension": parts}


def searchset(base: str, matches: list[dict[str, Any]], included: list[dict[str, Any]]
              ) -> dict[str, Any]:
    def entry(resource: dict[str, Any], mode: str) -> dict[str, Any]:
        return {"fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource, "search": {"mode": mode}}

    entries = [entry(r, "match") for r in matches] + [entry(r, "include") for r in included]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                              "total": len(matches)}
    if entries:  # FHIR forbids empty arrays
        bundle["entry"] = entries
    return bundle


def parse_near(text: str) -> tuple[float, float, float]:
    """FHIR `near=LAT|LON|DISTANCE|UNITS` (distance in km or mi; default 50 km)."""
    parts = text.split("|")
    try:
        lat, lon = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else 50.0
    except (IndexError, ValueError) as error:
        raise ValueError("near must be LATITUDE|LONGITUDE|DISTANCE|UNITS, e.g. "
                         "37.77|-122.42|10|km") from error
    units = parts[3] if len(parts) > 3 and parts[3] else "km"
    if units not in ("km", "mi", "[mi_i]"):
        raise ValueError(f"near units must be km or mi, got {units!r}")
    return lat, lon, distance * (1.609344 if units != "km" else 1.0)


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, a)))


def token_matches(token: str, system: str, code: str) -> bool:
    """A FHIR token search value (`code` or `system|code`) against one coding."""
    if "|" in token:
        want_system, want_code = token.split("|", 1)
        return (not want_system or want_system == system) and want_code == code
    return token == code
