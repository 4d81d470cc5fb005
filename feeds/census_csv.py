"""A provider's daily census CSV: validate every row first, then apply all rows or none.

Columns (header names, any order, case-insensitive): `program` (id or name, or
`program_id`), `unit` (id or label, or `unit_id`; may be left out when the program has one
unit), `available` (required), `capacity`, `waitlist`, `expected_discharges` (either a count,
with the time in `discharge_at`, or `TIME=COUNT` pairs separated by `;`), `note`.

Reading stops at MAX_ROWS rows, MAX_CELL_CHARS characters in a cell, or the deadline, and
`validate_off_loop` runs the check in a worker thread so a large upload does not hold up
the event loop.
"""

from __future__ import annotations

import csv
import io
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from feeds.limits import DEFAULT_SECONDS, Deadline, off_loop
from inventory.actors import Actor
from inventory.availability import Availability
from inventory.directory import ProgramInfo, UnitInfo
from inventory.eligibility import GENDERS
from inventory.errors import InventoryError
from inventory.live import Change
from inventory.model import UnitState
from inventory.privacy import identifiers_in

ALIASES = {"program_id": "program", "program_name": "program", "unit_id": "unit",
           "unit_label": "unit", "discharges": "expected_discharges"}
MAX_ROWS = 5000
MAX_COUNT = 100_000
MAX_CELL_CHARS = 4000  # a note is at most 500; anything longer is not a census


@dataclass
class CensusRow:
    line: int
    unit_id: str
    available: int
    capacity: int | None
    waitlist: int | None
    discharges: list[dict[str, Any]] | None
    note: str


@dataclass
class RowError:
    line: int
    errors: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.line, "errors": self.errors}


@dataclass
class Census:
    rows: list[CensusRow] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)


class CensusRejected(Exception):
    """Some rows are wrong; nothing was applied. `problems` says which and why."""

    def __init__(self, message: str, problems: list[RowError]) -> None:
        super().__init__(message)
        self.problems = problems


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CensusRejected("the file is not UTF-8 text", [RowError(0, [str(error)])]) from error


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.StringIO(text))
    previous = csv.field_size_limit()
    try:
        csv.field_size_limit(MAX_CELL_CHARS)
        header = [ALIASES.get(h.strip().lower(), h.strip().lower())
                  for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [(reader.line_num, {k: _text(v) for k, v in row.items() if k})
                for row in itertools.islice(reader, MAX_ROWS + 1)]
    except csv.Error as error:
        raise CensusRejected(f"the file is not readable CSV: {error}",
                             [RowError(reader.line_num, [str(error)])]) from error
    finally:
        csv.field_size_limit(previous)
    return header, rows


def _text(value: str | list[str] | None) -> str:
    """A cell; extra cells beyond the header (a list) are joined so they show up as wrong."""
    if isinstance(value, list):
        return ",".join(value)
    return (value or "").strip()


async def validate_off_loop(text: str, programs: dict[str, ProgramInfo],
                            states: dict[str, UnitState], organization_id: str | None,
                            now: datetime, seconds: float = DEFAULT_SECONDS) -> Census:
    """`validate` in a worker thread, refused (Invalid) once `seconds` have passed."""
    return await off_loop(lambda deadline: validate(text, programs, states, organization_id,
                                                    now, deadline), seconds, "the census CSV")


def validate(text: str, programs: dict[str, ProgramInfo], states: dict[str, UnitState],
             organization_id: str | None, now: datetime, deadline: Deadline | None = None
             ) -> Census:
    """Check every row against the directory and live counts; `organization_id` confines
    the rows to that organization's units (None: any)."""
    deadline = deadline or Deadline(DEFAULT_SECONDS, "the census CSV")
    header, rows = read_rows(text)
    census = Census()
    if "available" not in header:
        census.problems.append(RowError(1, ["the header has no 'available' column"]))
        return census
    if not rows:
        census.problems.append(RowError(1, ["the file has no data rows"]))
    if len(rows) > MAX_ROWS:
        census.problems.append(RowError(1, [f"more than {MAX_ROWS} rows"]))
        return census
    visible = [p for p in programs.values()
               if organization_id is None or p.organization_id == organization_id]
    seen: dict[str, int] = {}
    for line, row in rows:
        deadline.check()
        errors: list[str] = []
        parsed = _row(line, row, visible, states, now, errors)
        if parsed and parsed.unit_id in seen:
            errors.append(f"unit {parsed.unit_id} is also on row {seen[parsed.unit_id]}")
        if errors:
            census.problems.append(RowError(line, errors))
        elif parsed:
            seen[parsed.unit_id] = line
            census.rows.append(parsed)
    return census


def _row(line: int, row: dict[str, str], programs: list[ProgramInfo],
         states: dict[str, UnitState], now: datetime, errors: list[str]) -> CensusRow | None:
    unit = _unit(row, programs, errors)
    available = _count(row, "available", errors, required=True)
    capacity = _count(row, "capacity", errors)
    waitlist = _count(row, "waitlist", errors)
    discharges = _discharges(row, now, errors)
    kinds = identifiers_in(row.get("note", ""))
    if kinds:  # the same check as a note typed on the page (inventory/privacy.py)
        errors.append(f"the note looks like it holds {' and '.join(kinds)}; notes must "
                      "never identify a client")
    if unit is None or available is None or errors:
        return None
    state = states.get(unit.id)
    if state is None:
        errors.append(f"unit {unit.id} has no live state yet")
        return None
    cap = capacity if capacity is not None else state.capacity
    if available + state.held > cap:
        held = f" plus {state.held} held" if state.held else ""
        errors.append(f"available {available}{held} is more than the capacity of {cap}")
        return None
    if _check_population(row, unit, errors):
        return None
    return CensusRow(line, unit.id, available, capacity, waitlist, discharges,
                     row.get("note", "")[:500])


def _unit(row: dict[str, str], programs: list[ProgramInfo], errors: list[str]
          ) -> UnitInfo | None:
    program_key, unit_key = row.get("program", ""), row.get("unit", "")
    candidates = [p for p in programs if program_key in (p.id,) or
                  program_key.lower() == p.name.lower()] if program_key else programs
    if program_key and not candidates:
        errors.append(f"program {program_key!r} is not one of yours (no such id or name)")
        return None
    if program_key and len(candidates) > 1:
        errors.append(f"program name {program_key!r} is ambiguous; use its id")
        return None
    units = [u for p in candidates for u in p.units
             if not unit_key or unit_key == u.id or unit_key.lower() == u.label.lower()]
    if not program_key and not unit_key:
        errors.append("give the program or the unit (id or name)")
    elif not units:
        errors.append(f"unit {unit_key or '(any)'!r} is not one of yours" +
                      (f" in program {program_key!r}" if program_key else ""))
    elif len(units) > 1:
        errors.append("several units match; name the unit (id or label)" if not unit_key
                      else f"unit {unit_key!r} is ambiguous; give the program or the unit id")
    else:
        return units[0]
    return None


def _check_population(row: dict[str, str], unit: UnitInfo, errors: list[str]) -> bool:
    """Optional population columns `genders` (e.g. `female` or `female;nonbinary`),
    `age_min` and `age_max` say whom the row's unit serves. They are checked against the
    unit's effective population in the directory, never applied (an admin changes whom a
    unit serves): a row whose population differs is refused, which catches a census whose
    rows landed on the wrong unit (a women's count on the men's unit). True when they differ
    (the reasons are in `errors`)."""
    before = len(errors)
    raw = row.get("genders", "")
    if raw:
        said = {g.strip().lower() for g in raw.replace(",", ";").split(";") if g.strip()}
        unknown = sorted(said - set(GENDERS))
        if unknown:
            errors.append(f"genders: unknown value {unknown[0]!r}; known: {', '.join(GENDERS)}")
        elif said != set(unit.genders):
            errors.append(f"genders: {unit.label} serves {';'.join(unit.genders)} in the "
                          f"directory, the row says {';'.join(sorted(said))}; is this the "
                          f"right unit? (an admin changes whom a unit serves)")
    for name in ("age_min", "age_max"):
        value = _count(row, name, errors)
        if value is not None and value != getattr(unit, name):
            errors.append(f"{name}: {unit.label} serves {name.replace('_', ' ')} "
                          f"{getattr(unit, name)} in the directory, the row says {value}; "
                          f"is this the right unit? (an admin changes whom a unit serves)")
    return len(errors) > before


def _count(row: dict[str, str], name: str, errors: list[str], required: bool = False
           ) -> int | None:
    raw = row.get(name, "")
    if raw == "":
        if required:
            errors.append(f"{name} is missing")
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.append(f"{name} must be a whole number, got {raw!r}")
        return None
    if not 0 <= value <= MAX_COUNT:
        errors.append(f"{name} must be between 0 and {MAX_COUNT}, got {value}")
        return None
    return value


def _discharges(row: dict[str, str], now: datetime, errors: list[str]
                ) -> list[dict[str, Any]] | None:
    raw = row.get("expected_discharges", "")
    if not raw:
        return None
    if raw.isascii() and raw.isdigit():
        when = row.get("discharge_at", "")
        if not when:
            errors.append("expected_discharges as a count needs a discharge_at time")
            return None
        pairs = [(when, raw)]
    else:
        pairs = [(p.partition("=")[0], p.partition("=")[2]) for p in raw.split(";") if p]
    result = []
    for at_text, count_text in pairs:
        at = _time(at_text.strip())
        if at is None or not (count_text.strip().isascii() and count_text.strip().isdigit()):
            errors.append(f"expected discharge {at_text}={count_text} should be TIME=COUNT, "
                          f"e.g. 2026-05-01T10:00Z=2")
            return None
        if at < now.replace(hour=0, minute=0, second=0, microsecond=0):
            errors.append(f"expected discharge time {at_text} is in the past")
            return None
        if int(count_text) > MAX_COUNT:
            errors.append(f"expected discharge count {count_text} is more than {MAX_COUNT}")
            return None
        result.append({"at": at.isoformat(), "count": int(count_text)})
    return result


def _time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) == 10:  # a date: noon UTC that day
        value = datetime.combine(value.date(), time(12), UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def apply(census: Census, availability: Availability, actor: Actor, source: str = "csv"
                ) -> list[UnitState]:
    """Apply every row in one batch (one Redis round trip, one audit transaction). If a row
    is refused (a hold taken since validation), the rows applied are set back, again in one
    batch, and the census is refused."""
    batch = f"csv batch {secrets.token_hex(4)}"
    before = await availability.live.units(r.unit_id for r in census.rows)
    at = availability.clock()
    results = await availability.apply_many([Change(
        op="set", unit_id=row.unit_id, at=at, by=actor.name, source=source,
        only_organization=actor.writable_organization(), available=row.available,
        capacity=row.capacity, waitlist=row.waitlist, expected_discharges=row.discharges,
        note=f"{batch} row {row.line}" + (f": {row.note}" if row.note else ""))
        for row in census.rows])
    refused = [(row, r) for row, r in zip(census.rows, results)
               if isinstance(r, InventoryError)]
    applied = [r for r in results if isinstance(r, UnitState)]
    if refused:
        await _undo(availability, actor, applied, before, batch)
        raise CensusRejected(
            f"{len(refused)} of {len(results)} rows were refused while applying; the rows "
            f"applied were set back: row {refused[0][0].line}: {refused[0][1]}",
            [RowError(row.line, [str(error)]) for row, error in refused])
    return applied


async def _undo(availability: Availability, actor: Actor, applied: list[UnitState],
                before: dict[str, UnitState], batch: str) -> None:
    """Best effort: a unit changed again meanwhile so that its old counts no longer fit is
    left as it is."""
    at = availability.clock()
    await availability.apply_many([Change(
        op="set", unit_id=state.id, at=at, by=actor.name, source="csv",
        available=min(before[state.id].available,
                      max(before[state.id].capacity - state.held, 0)),
        capacity=before[state.id].capacity, waitlist=before[state.id].waitlist,
        expected_discharges=before[state.id].expected_discharges, note=f"{batch} set back")
        for state in applied])
