"""An HSDS tabular datapackage (a folder of CSV files) -> the API-shaped objects
`hsds_import` reads, so both shapes share one mapping."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

TABLES = ("organizations", "services", "locations", "service_at_location", "addresses",
          "phones", "languages", "schedules", "service_capacity", "units", "attributes",
          "taxonomy_terms", "accessibility")


def is_datapackage(folder: Path) -> bool:
    return folder.is_dir() and (folder / "services.csv").is_file()


def read_table(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / f"{name}.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [{k: v for k, v in row.items() if k and v not in (None, "")}
                for row in csv.DictReader(handle)]


def by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get(key):
            grouped[row[key]].append(row)
    return grouped


def services_from_folder(folder: Path) -> list[dict[str, Any]]:
    """Nested service objects (API shape) built from the datapackage's tables."""
    t = {name: read_table(folder, name) for name in TABLES}
    organizations = {o["id"]: o for o in t["organizations"] if o.get("id")}
    locations = {loc["id"]: dict(loc) for loc in t["locations"] if loc.get("id")}
    for loc_id, location in locations.items():
        location["addresses"] = by(t["addresses"], "location_id").get(loc_id, [])
        location["accessibility"] = by(t["accessibility"], "location_id").get(loc_id, [])
        location["phones"] = by(t["phones"], "location_id").get(loc_id, [])
    units = {u["id"]: u for u in t["units"] if u.get("id")}
    terms = {term["id"]: term for term in t["taxonomy_terms"] if term.get("id")}
    sals, capacities = by(t["service_at_location"], "service_id"), by(t["service_capacity"],
                                                                       "service_id")
    phones, languages = by(t["phones"], "service_id"), by(t["languages"], "service_id")
    attributes = by(t["attributes"], "link_id")
    services = []
    for row in t["services"]:
        service: dict[str, Any] = dict(row)
        if row.get("organization_id") in organizations:
            service["organization"] = organizations[row["organization_id"]]
        service["service_at_locations"] = [
            {**sal, "location": locations.get(sal.get("location_id", ""))}
            for sal in sals.get(row.get("id", ""), [])]
        service["phones"] = phones.get(row.get("id", ""), [])
        service["languages"] = languages.get(row.get("id", ""), [])
        service["capacities"] = [{**c, "unit": units.get(c.get("unit_id", ""))}
                                 for c in capacities.get(row.get("id", ""), [])]
        service["attributes"] = [{**a, "taxonomy_term": terms.get(a.get("taxonomy_term_id", ""))}
                                 for a in attributes.get(row.get("id", ""), [])]
        services.append(service)
    known = {s.get("id") for s in services}
    orphans = [c for c in t["service_capacity"] if c.get("service_id") not in known]
    orgs = [{**o, "services": []} for o in organizations.values()]
    return orgs + services + [{"orphan_capacity": c} for c in orphans]
