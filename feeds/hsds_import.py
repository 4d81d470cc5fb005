"""HSDS 3.1 (and 3.0) JSON in the API shape -> a `Dataset` of organizations and programs.

Accepts a service (`/services/{id}`), a `Page` of services, a full organization with its
services, a service_at_location with its service, or a list of any of these. One HSDS
service becomes one program; its first service_at_location gives the program's address and
point; each `service_capacity` becomes one unit (id kept, its `waitlist:N` attribute the
unit's waitlist). Fields with no home in Bedfinder are dropped (see docs/feeds.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feeds import hsds_vocabulary as vocab
from feeds.dataset import Dataset, ProgramRecord, UnitRecord

UNAFFILIATED = ("hsds-unaffiliated", "Unaffiliated services (HSDS import)")
MAX_ID = 64
MAX_COUNT = 100_000
RANGES: dict[str, tuple[float, float]] = {
    "latitude": (-90, 90), "longitude": (-180, 180), "age_min": (0, 130), "age_max": (0, 130),
    "cadence_minutes": (1, 10_080)}
LENGTHS = {"level_of_care": 64, "asam_level": 16, "area": 100}


def parse_documents(documents: list[Any]) -> Dataset:
    dataset = Dataset()
    for document in documents:
        _walk(document, dataset, None)
    return dataset


def _walk(obj: Any, dataset: Dataset, organization: dict[str, Any] | None) -> None:
    if isinstance(obj, list):
        for item in obj:
            _walk(item, dataset, organization)
        return
    if not isinstance(obj, dict):
        dataset.warnings.append(f"ignored a JSON value that is not an HSDS object: {obj!r:.60}")
        return
    if "orphan_capacity" in obj:
        capacity = obj["orphan_capacity"]
        dataset.warnings.append(f"capacity {capacity.get('id')!r} names service "
                                f"{capacity.get('service_id')!r}, which is not in the data; "
                                f"skipped")
    elif isinstance(obj.get("contents"), list):  # a Page
        _walk(obj["contents"], dataset, organization)
    elif "services" in obj and "status" not in obj:  # an organization
        _add_organization(obj, dataset)
        _walk(obj.get("services") or [], dataset, obj)
    elif isinstance(obj.get("service"), dict) and "status" not in obj:  # a service_at_location
        service = dict(obj["service"])
        service.setdefault("service_at_locations", [{k: v for k, v in obj.items()
                                                     if k != "service"}])
        _walk(service, dataset, organization)
    elif "name" in obj and "id" in obj and ("status" in obj or "capacities" in obj):
        _add_service(obj, dataset, organization)
    else:
        dataset.warnings.append(f"ignored an object that is not a service or organization "
                                f"(id {obj.get('id')!r})")


def _add_organization(org: dict[str, Any], dataset: Dataset) -> str:
    org_id, name = str(org.get("id") or ""), str(org.get("name") or "")[:200]
    if _good_id(org_id):
        dataset.organizations[org_id] = name or dataset.organizations.get(
            org_id, f"Organization {org_id}")
    return org_id


def _organization_id(service: dict[str, Any], dataset: Dataset,
                     parent: dict[str, Any] | None) -> str:
    for candidate in (service.get("organization"), parent):
        if isinstance(candidate, dict) and candidate.get("id"):
            return _add_organization(candidate, dataset)
    org_id = str(service.get("organization_id") or "")
    if org_id:
        if _good_id(org_id):
            dataset.organizations.setdefault(org_id, f"Organization {org_id}")
        return org_id
    dataset.organizations.setdefault(*UNAFFILIATED)
    return UNAFFILIATED[0]


def _add_service(service: dict[str, Any], dataset: Dataset,
                 parent: dict[str, Any] | None) -> None:
    sid = str(service["id"])
    if not _good_id(sid):
        dataset.warnings.append(f"service id {sid[:80]!r} is not 1-64 characters; skipped")
        return
    try:
        _map_service(sid, service, dataset, parent)
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        dataset.warnings.append(f"service {sid}: malformed ({type(error).__name__}: "
                                f"{str(error)[:120]}); skipped")


def _good_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and value.isprintable()


def _clean(sid: str, values: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    """Drop values outside what Bedfinder accepts from its own API, saying which."""
    for name, (low, high) in RANGES.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            dataset.warnings.append(f"service {sid}: {name} {value} is outside {low}..{high}; "
                                    f"left out")
            del values[name]
    for name, limit in LENGTHS.items():
        if isinstance(values.get(name), str) and len(values[name]) > limit:
            dataset.warnings.append(f"service {sid}: {name} longer than {limit}; left out")
            del values[name]
    for name in ("genders", "payers", "mat", "languages"):
        if name in values:
            values[name] = [str(v)[:64] for v in values[name]][:50]
    return values


def _map_service(sid: str, service: dict[str, Any], dataset: Dataset,
                 parent: dict[str, Any] | None) -> None:
    if service.get("status") in ("inactive", "defunct"):
        dataset.warnings.append(f"service {sid}: status {service['status']!r}, imported as is "
                                f"(its units keep their counts)")
    values: dict[str, Any] = {"name": str(service["name"])[:200],
                              "description": str(service.get("description") or "")}
    values.update(_ages(service))
    values.update(_location(service))
    phone = _phone(service)
    if phone:
        values["phone"] = phone
    languages = _languages(service)
    if languages:
        values["languages"] = languages
    values.update(vocab.values_from_codes(_codes(service)))
    values = _clean(sid, values, dataset)
    capacities = service.get("capacities") or []
    units = [u for u in (_unit(sid, i, c, dataset) for i, c in enumerate(capacities)) if u]
    org_id = _organization_id(service, dataset, parent)  # last: a malformed service adds none
    if not _good_id(org_id):
        dataset.warnings.append(f"service {sid}: organization id {org_id[:80]!r} is not 1-64 "
                                f"characters; skipped")
        return
    dataset.add_program(ProgramRecord(id=sid, organization_id=org_id, values=values,
                                      units=units))


def _ages(service: dict[str, Any]) -> dict[str, int]:
    ages = {}
    for source, name in (("minimum_age", "age_min"), ("maximum_age", "age_max")):
        if service.get(source) not in (None, ""):
            ages[name] = int(float(service[source]))
    return ages


def _first_location(service: dict[str, Any]) -> dict[str, Any] | None:
    for sal in service.get("service_at_locations") or []:
        if isinstance(sal.get("location"), dict):
            return sal["location"]
    return None


def _location(service: dict[str, Any]) -> dict[str, Any]:
    location = _first_location(service)
    if location is None:
        return {}
    values: dict[str, Any] = {}
    for name in ("latitude", "longitude"):
        if location.get(name) not in (None, ""):
            values[name] = float(location[name])
    addresses = [a for a in location.get("addresses") or [] if a.get("address_type") != "postal"]
    address = (addresses or location.get("addresses") or [None])[0]
    if address:
        values["address"] = _one_line(address)
    text = " ".join(str(a.get("description") or "") + " " + str(a.get("details") or "")
                    for a in location.get("accessibility") or []).lower()
    if "wheelchair" in text:
        values["wheelchair"] = True
    return values


def _one_line(address: dict[str, Any]) -> str:
    """`address_1, address_2, city, state postal_code`, as an address is written on one line
    in the US (our export puts the whole line in `address_1`, so it reads back unchanged)."""
    region = " ".join(str(address[k]) for k in ("state_province", "postal_code")
                      if address.get(k))
    parts = [address.get(k) for k in ("address_1", "address_2", "city")] + [region]
    return ", ".join(str(p) for p in parts if p)[:300]


def _phone(service: dict[str, Any]) -> str | None:
    location = _first_location(service) or {}
    sals = service.get("service_at_locations") or []
    for phones in [service.get("phones"), *(s.get("phones") for s in sals),
                   location.get("phones")]:
        for phone in phones or []:
            if phone.get("number"):
                return str(phone["number"]).strip('"')[:40]
    return None


def _languages(service: dict[str, Any]) -> list[str]:
    found = list(service.get("languages") or [])
    for phone in service.get("phones") or []:
        found += phone.get("languages") or []
    codes = [str(lang.get("code") or "").strip().lower() for lang in found]
    return list(dict.fromkeys(c for c in codes if c))


def _codes(obj: dict[str, Any]) -> list[str]:
    """The `kind:value` codes of an object's attributes in the bedfinder taxonomy."""
    codes = []
    for attribute in obj.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        code = str(term.get("code") or "")
        if term.get("taxonomy") == vocab.TAXONOMY or code.startswith("level_of_care:"):
            codes.append(code)
    return codes


def _unit(service_id: str, index: int, capacity: dict[str, Any], dataset: Dataset
          ) -> UnitRecord | None:
    cid = str(capacity.get("id") or vocab.stable_id("capacity", service_id, str(index)))
    try:
        available = int(float(capacity["available"]))
        maximum = capacity.get("maximum")
        total = int(float(maximum)) if maximum not in (None, "") else available
    except (KeyError, TypeError, ValueError):
        dataset.warnings.append(f"service {service_id}: capacity {cid} has no usable "
                                f"'available' count; skipped")
        return None
    if not _good_id(cid) or not (0 <= available <= MAX_COUNT and 0 <= total <= MAX_COUNT):
        dataset.warnings.append(f"service {service_id}: capacity {cid[:80]!r} has a bad id or "
                                f"counts outside 0..{MAX_COUNT}; skipped")
        return None
    kind = vocab.unit_kind(capacity.get("unit"))
    if kind is None:
        unit_name = (capacity.get("unit") or {}).get("name")
        dataset.warnings.append(f"service {service_id}: capacity {cid} is counted in "
                                f"{unit_name!r}, not beds or slots; imported as beds")
        kind = "bed"
    if available > total:
        dataset.warnings.append(f"service {service_id}: capacity {cid} has available "
                                f"{available} above maximum {total}; capacity set to {available}")
        total = available
    label = str(capacity.get("description") or (capacity.get("unit") or {}).get("name") or kind)
    return UnitRecord(id=cid, label=label[:200], kind=kind, capacity=total, available=available,
                      observed_at=_time(capacity.get("updated")),
                      waitlist=_waitlist(service_id, cid, capacity, dataset))


def _waitlist(service_id: str, cid: str, capacity: dict[str, Any], dataset: Dataset
              ) -> int | None:
    """HSDS has no waitlist: ours is the capacity's `waitlist:N` attribute; None when absent
    (a re-import then leaves the unit's waitlist as it is)."""
    for code in _codes(capacity):
        kind, _, value = code.partition(":")
        if kind == vocab.WAITLIST:
            if value.isdigit() and int(value) <= MAX_COUNT:
                return int(value)
            dataset.warnings.append(f"service {service_id}: capacity {cid} has waitlist "
                                    f"{value[:20]!r}, not a count; left out")
    return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
