"""OASIS EDXL-HAVE 2.0 (1.0 also reads) hospital availability XML -> unit counts.

Each `Hospital` is identified by its organization id (or, failing that, its name) and looked
up in the configured `edxl_hospitals` table, which maps each `BedType` to a Bedfinder unit.
`AvailableCount` becomes `available`, `BaselineCount` becomes `capacity`; `CapacityStatus`
`NotAvailable` means 0 available. Bed types with no mapping are reported, never silently
dropped. Parsing uses defusedxml with DTDs forbidden, so entity expansion ("billion laughs")
and external entities are refused before anything is read. The document is read as a stream
that stops at MAX_DEPTH levels of nesting, MAX_ELEMENTS elements or the deadline, and
`parse_off_loop` runs all of it in a worker thread, so a hostile upload (thousands of nested
`Hospital` elements) is refused in bounded time while the event loop keeps serving.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from feeds.limits import DEFAULT_SECONDS, Deadline, off_loop
from inventory.errors import Invalid

ID_NAMES = ("OrganizationID", "OrganisationID", "OrganizationIdentifier", "IdentifierElement",
            "Identifier")
MAX_BYTES = 5_000_000
MAX_COUNT = 100_000
MAX_DEPTH = 32  # real documents nest about 12 deep
MAX_ELEMENTS = 100_000  # about 150 hospitals with 20 bed types each


@dataclass
class BedObservation:
    hospital: str
    bed_type: str
    available: int | None
    baseline: int | None
    status: str
    observed_at: datetime | None


@dataclass
class HaveReport:
    observations: list[BedObservation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> list[Element]:
    return [c for c in element if local(c.tag) == name]


def first(element: Element, name: str) -> Element | None:
    return next((e for e in element.iter() if local(e.tag) == name), None)


def text_of(element: Element | None) -> str:
    if element is None:
        return ""
    values = [e for e in element.iter() if local(e.tag) == "Value"]
    return ((values[0].text if values else element.text) or "").strip()


async def parse_off_loop(data: bytes, seconds: float = DEFAULT_SECONDS) -> HaveReport:
    """`parse` in a worker thread, refused (Invalid) once `seconds` have passed."""
    return await off_loop(lambda deadline: parse(data, deadline), seconds,
                          "the EDXL-HAVE document")


def parse(data: bytes, deadline: Deadline | None = None) -> HaveReport:
    """Read every hospital's bed capacities; raise Invalid for malformed or hostile XML."""
    if len(data) > MAX_BYTES:
        raise Invalid(f"the document is larger than {MAX_BYTES} bytes")
    deadline = deadline or Deadline(DEFAULT_SECONDS, "the EDXL-HAVE document")
    root = read_tree(data, deadline)
    hospitals = [e for e in root.iter() if local(e.tag) == "Hospital"]
    if not hospitals:
        raise Invalid(f"no EDXL-HAVE Hospital element found (root is {local(root.tag)!r})")
    report = HaveReport()
    for hospital in hospitals:
        deadline.check()
        _hospital(hospital, report, deadline)
    return report


def read_tree(data: bytes, deadline: Deadline) -> Element:
    """The document's root, read as a stream that stops at the first broken limit."""
    depth = elements = 0
    root: Element | None = None
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end"),
                                        forbid_dtd=True, forbid_entities=True,
                                        forbid_external=True):
            if event == "end":
                depth -= 1
                continue
            depth += 1
            elements += 1
            root = element if root is None else root
            if depth > MAX_DEPTH:
                raise Invalid(f"the XML nests elements more than {MAX_DEPTH} deep (at "
                              f"{local(element.tag)!r}); EDXL-HAVE needs far fewer")
            if elements > MAX_ELEMENTS:
                raise Invalid(f"the XML has more than {MAX_ELEMENTS} elements")
            deadline.tick()
    except defusedxml.DefusedXmlException as error:
        raise Invalid(f"refused: the XML declares a DTD or entities ({type(error).__name__}); "
                      f"EDXL-HAVE needs neither") from error
    except ParseError as error:
        raise Invalid(f"the XML is malformed: {error}") from error
    if root is None:
        raise Invalid("the XML is empty")
    return root


def hospital_keys(hospital: Element) -> list[str]:
    """Ways the configuration may name this hospital: its ids, then its name."""
    found = first(hospital, "Organization")
    organization = hospital if found is None else found
    keys = [text_of(e) for e in organization.iter() if local(e.tag) in ID_NAMES]
    name = first(organization, "OrganisationName")
    name = first(organization, "OrganizationName") if name is None else name
    if name is not None:
        keys.append(" ".join((e.text or "").strip() for e in name.iter()
                             if local(e.tag) == "NameElement") or text_of(name))
    return [k for k in keys if k]


def _hospital(hospital: Element, report: HaveReport, deadline: Deadline) -> None:
    keys = hospital_keys(hospital)
    if not keys:
        report.problems.append("a Hospital has no organization id or name; skipped")
        return
    observed = _time(text_of(first(hospital, "LastUpdateTime")))
    for capacity_status in hospital.iter():
        deadline.tick()
        if local(capacity_status.tag) != "BedCapacity":
            continue
        bed_type = text_of(first(capacity_status, "BedType"))
        found = first(capacity_status, "Capacity")
        capacity = capacity_status if found is None else found
        report.observations.append(BedObservation(
            hospital="\x1f".join(keys), bed_type=bed_type,
            available=_int(first(capacity, "AvailableCount"), report, keys[0], bed_type),
            baseline=_int(first(capacity, "BaselineCount"), report, keys[0], bed_type),
            status=text_of(first(capacity, "CapacityStatus")), observed_at=observed))


def _int(element: Element | None, report: HaveReport, hospital: str, bed_type: str
         ) -> int | None:
    raw = text_of(element)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        name = local(element.tag) if element is not None else "count"
        report.problems.append(f"{hospital} {bed_type}: {name} {raw!r} is not a whole number")
        return None
    if not 0 <= value <= MAX_COUNT:
        report.problems.append(f"{hospital} {bed_type}: count {value} is outside "
                               f"0..{MAX_COUNT}")
        return None
    return value


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class UnitUpdate:
    unit_id: str
    available: int
    capacity: int | None
    observed_at: datetime | None
    source: str


def map_to_units(report: HaveReport, hospitals: dict[str, dict[str, str]]
                 ) -> tuple[list[UnitUpdate], list[str], list[str]]:
    """(updates, problems that block the import, unmapped bed types reported)."""
    updates: list[UnitUpdate] = []
    problems, unmapped = list(report.problems), []
    for obs in report.observations:
        keys = obs.hospital.split("\x1f")
        table = next((hospitals[k] for k in keys if k in hospitals), None)
        label = f"hospital {keys[0]!r} bed type {obs.bed_type!r}"
        if table is None:
            unmapped.append(f"{label}: hospital not in edxl_hospitals")
            continue
        unit_id = table.get(obs.bed_type)
        if unit_id is None:
            unmapped.append(f"{label}: bed type not mapped to a unit")
            continue
        if obs.status == "NotApplicable":
            unmapped.append(f"{label}: status NotApplicable, not applied")
            continue
        available = 0 if obs.status == "NotAvailable" else obs.available
        if available is None:
            problems.append(f"{label}: no AvailableCount")
            continue
        if obs.baseline is not None and available > obs.baseline:
            problems.append(f"{label}: AvailableCount {available} is more than "
                            f"BaselineCount {obs.baseline}")
            continue
        updates.append(UnitUpdate(unit_id, available, obs.baseline, obs.observed_at,
                                  f"{keys[0]}/{obs.bed_type}"))
    return updates, problems, unmapped

