"""What HSDS 3.1 lacks and Bedfinder needs, carried as HSDS attributes of one taxonomy.

HSDS has no level of care, payer, MAT or gender field; we export each as an `attribute`
whose `taxonomy_term` belongs to the `bedfinder` taxonomy, with `code` `"<kind>:<value>"`
(e.g. `level_of_care:residential_sud`), and read the same codes back on import. A unit's
waitlist, which `service_capacity` lacks too, is the attribute `waitlist:<count>` of that
capacity. Ids HSDS
requires for objects we do not keep (locations, terms, units of measure) are UUIDv5 of a
stable name, so an export is the same document every time.
"""

from __future__ import annotations

import uuid
from typing import Any

TAXONOMY = "bedfinder"
NAMESPACE = uuid.UUID("6f1f3c52-5d0e-4f0b-9a53-3c0c8e0d8b11")
LIST_KINDS = {"gender": "genders", "payer": "payers", "mat": "mat"}
SCALAR_KINDS = {"level_of_care": "level_of_care", "asam": "asam_level", "area": "area",
                "cadence_minutes": "cadence_minutes"}
WAITLIST = "waitlist"
FEATURES = ("wheelchair", "pets", "co_occurring", "involuntary", "secure")
BED_WORDS = {"bed", "beds"}
SLOT_WORDS = {"slot", "slots", "appointment", "appointments", "place", "places", "seat"}


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def taxonomy() -> dict[str, Any]:
    return {"id": stable_id("taxonomy", TAXONOMY), "name": TAXONOMY,
            "description": "Bedfinder's levels of care, eligibility and program features",
            "version": "1"}


def term(kind: str, value: str) -> dict[str, Any]:
    code = f"{kind}:{value}"
    return {"id": stable_id("term", code), "code": code, "name": value,
            "description": f"Bedfinder {kind.replace('_', ' ')}: {value}",
            "taxonomy": TAXONOMY, "taxonomy_id": taxonomy()["id"]}


def program_tags(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, value) for every attribute a program's record exports."""
    tags = [(kind, str(record[name])) for kind, name in SCALAR_KINDS.items()
            if record.get(name) not in (None, "")]
    tags += [(kind, str(v)) for kind, name in LIST_KINDS.items() for v in record.get(name) or ()]
    tags += [("feature", name) for name in FEATURES if record.get(name)]
    return tags


def values_from_codes(codes: list[str]) -> dict[str, Any]:
    """Program fields from `kind:value` codes; unknown kinds are ignored."""
    values: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    for code in codes:
        kind, _, value = code.partition(":")
        if kind in SCALAR_KINDS:
            values[SCALAR_KINDS[kind]] = int(value) if kind == "cadence_minutes" else value
        elif kind in LIST_KINDS:
            lists.setdefault(LIST_KINDS[kind], []).append(value)
        elif kind == "feature" and value in FEATURES:
            values[value] = True
    if any(c.startswith(("feature:", "level_of_care:")) for c in codes):
        values.update({f: values.get(f, False) for f in FEATURES})
    return {**values, **lists}


def unit_kind(unit: dict[str, Any] | None) -> str | None:
    """`bed` or `slot` from an HSDS unit of measure; None when it is neither."""
    if not unit:
        return "bed"
    words = {str(unit.get(k) or "").strip().lower() for k in ("identifier", "name")}
    if words & BED_WORDS:
        return "bed"
    if words & SLOT_WORDS:
        return "slot"
    return None


def unit_of(kind: str) -> dict[str, Any]:
    name = "Bed" if kind == "bed" else "Slot"
    return {"id": stable_id("unit", kind), "name": name, "scheme": TAXONOMY,
            "identifier": kind}
