"""An HSDS tabular datapackage (a folder of CSV files) -> the API-shaped objects
`hsds_import` reads, so both shapes share one mapping.

Each table may hold at most MAX_ROWS rows of cells up to MAX_CELL_CHARS characters, in a
file of at most MAX_FILE_BYTES; a larger one is refused (Invalid) before it is read. Callers
run this in a worker thread (`hsds_source.load`) with a deadline.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

from feeds.limits import Deadline
from inventory.errors import Invalid

MAX_ROWS = 200_000
MAX_CELL_CHARS = 100_000
MAX_FILE_BYTES = 50_000_000
TABLES = ("organizations", "services", "locations", "service_at_location", "addresses",
          "phones", "languages", "schedules", "service_capacity", "units", "attributes",
          "taxonomy_terms", "accessibility")


def is_datapackage(folder: Path) -> bool:
    return folder.is_dir() and (folder / "services.csv").is_file()


def read_table(folder: Path, name: str, deadline: Deadline | None = None
               ) -> list[dict[str, Any]]:
    path = folder / f"{name}.csv"
    if not path.is_file():
        return []
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Invalid(f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
    deadline = deadline or Deadline(what=f"{path.name}")
    rows: list[dict[str, Any]] = []
    previous = csv.field_size_limit(MAX_CELL_CHARS)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                if len(rows) >= MAX_ROWS:
                    raise Invalid(f"{path.name} has more than {MAX_ROWS} rows")
                deadline.tick()
                rows.append({k: v for k, v in row.items() if k and v not in (None, "")})
    except csv.Error as error:
        raise Invalid(f"{path.name} is not readable CSV: {error}") from error
    except UnicodeDecodeError as error:
        raise Invalid(f"{path.name} is not UTF-8 text: {error}") from error
    finally:
        csv.field_size_limit(previous)
    return rows


def by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get(key):
            grouped[row[key]].append(row)
    return grouped


def services_from_folder(folder: Path, deadline: Deadline | None = None
                         ) -> list[dict[str, Any]]:
    """Nested service objects (API shape) built from the datapackage's tables."""
    t = {name: read_table(folder, name, deadline) for name in TABLES}
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
