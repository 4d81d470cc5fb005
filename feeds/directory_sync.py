"""Apply a `Dataset` to the directory and live counts, idempotently.

Creates what is new, updates in place what changed, leaves alone what is equal, and only
reports (never deletes) programs of the imported organizations that the data no longer has.
A count is applied only when the source observed it after the unit's last update: a feed
never overwrites a newer direct update from the provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feeds.dataset import Dataset, ProgramRecord, UnitRecord
from inventory.actors import SYSTEM, Actor
from inventory.directory import Directory, ProgramInfo, UnitInfo
from inventory.eligibility import INHERITS, NARROWABLE
from inventory.errors import InventoryError
from inventory.live import Change

DEFAULTS: dict[str, Any] = {
    "description": "", "level_of_care": "outpatient", "asam_level": None, "area": None,
    "address": None, "latitude": None, "longitude": None, "phone": None,
    "genders": ["female", "male", "nonbinary"], "age_min": 0, "age_max": 120, "payers": [],
    "languages": [], "mat": [], "wheelchair": False, "pets": False, "co_occurring": False,
    "involuntary": False, "secure": False, "harm_reduction": False, "telehealth": False,
    "reentry": False, "homeless_priority": False, "hours": None, "cadence_minutes": None,
}


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    counts_applied: list[str] = field(default_factory=list)
    counts_kept_newer: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


class DirectorySync:
    def __init__(self, directory: Directory, source: str, actor: Actor = SYSTEM,
                 default_level: str = "outpatient", levels: set[str] | None = None) -> None:
        self.levels = levels
        self.directory = directory
        self.availability = directory.availability
        self.source = source
        self.actor = actor
        self.default_level = default_level

    async def apply(self, dataset: Dataset) -> SyncReport:
        report = SyncReport(warnings=list(dataset.warnings))
        await self._organizations(dataset.organizations, report)
        for record in dataset.programs:
            try:
                await self._program(record, report)
            except InventoryError as error:
                report.errors.append(f"program {record.id}: {error}")
        imported = {p.id for p in dataset.programs}
        programs = await self.directory.programs()
        report.missing = sorted(p.id for p in programs.values()
                                if p.organization_id in dataset.organizations
                                and p.id not in imported)
        return report

    async def _organizations(self, organizations: dict[str, str], report: SyncReport) -> None:
        known = {p.organization_id: p.organization_name
                 for p in (await self.directory.programs()).values()}
        for org_id, name in organizations.items():
            if org_id in known and known[org_id] == name:
                continue
            try:
                await self.directory.update_organization(org_id, name)
                if org_id not in known:
                    continue
                report.updated.append(f"organization {org_id}")
            except InventoryError:
                await self.directory.create_organization(name, org_id)
                report.created.append(f"organization {org_id}")

    async def _program(self, record: ProgramRecord, report: SyncReport) -> None:
        level = record.values.get("level_of_care")
        if self.levels and level is not None and level not in self.levels:
            report.warnings.append(f"program {record.id}: level of care {level!r} is not "
                                   f"configured; kept as it was (new: {self.default_level})")
            record.values.pop("level_of_care")
        programs = await self.directory.programs()
        current = programs.get(record.id)
        if current is None:
            values = {**DEFAULTS, "level_of_care": self.default_level, **record.values,
                      "organization_id": record.organization_id}
            await self.directory.create_program(values, record.id)
            report.created.append(f"program {record.id}")
        else:
            changed = _changed(current, {**record.values,
                                         "organization_id": record.organization_id})
            if changed:
                await self.directory.update_program(record.id, changed)
                report.updated.append(f"program {record.id}")
            else:
                report.unchanged.append(f"program {record.id}")
        for unit in record.units:
            try:
                await self._unit(record.id, unit, report)
            except InventoryError as error:
                report.errors.append(f"unit {unit.id}: {error}")

    async def _unit(self, program_id: str, unit: UnitRecord, report: SyncReport) -> None:
        info = await self.directory.program(program_id)
        existing = next((u for u in info.units if u.id == unit.id), None)
        if existing is None:
            try:
                await self.directory.program_of_unit(unit.id)
                report.errors.append(f"unit {unit.id} already belongs to another program")
                return
            except InventoryError:
                pass
            await self.directory.create_unit(
                program_id, self.actor, label=unit.label, kind=unit.kind,
                capacity=unit.capacity, available=unit.available, waitlist=unit.waitlist or 0,
                unit_id=unit.id, population=unit.population or INHERITS)
            report.created.append(f"unit {unit.id}")
            return
        population = _population_change(existing, unit)
        if (existing.label, existing.kind) != (unit.label, unit.kind) or population:
            await self.directory.update_unit(unit.id, self.actor, label=unit.label,
                                             kind=unit.kind, population=population)
            report.updated.append(f"unit {unit.id}")
        await self.apply_counts(unit.id, unit.available, unit.capacity, unit.observed_at,
                                report, unit.waitlist)

    async def apply_counts(self, unit_id: str, available: int, capacity: int | None,
                           observed_at: datetime | None, report: SyncReport,
                           waitlist: int | None = None) -> None:
        """Set a unit's counts from a feed unless they are equal or older than the unit's.
        Like the availability API, a new capacity lives in the live state and the audit log
        (which is what a rebuild reads); the directory row keeps the capacity it was made with."""
        state = (await self.availability.live.units([unit_id])).get(unit_id)
        if state is None:
            report.errors.append(f"unit {unit_id} has no live state")
            return
        same = (state.available == available and capacity in (None, state.capacity)
                and waitlist in (None, state.waitlist))
        if same:
            report.unchanged.append(f"unit {unit_id}")
            return
        if observed_at and state.updated_at and observed_at <= state.updated_at:
            report.counts_kept_newer.append(unit_id)
            return
        note = f"observed {observed_at.isoformat()}" if observed_at else ""
        await self.availability.apply(Change(
            op="set", unit_id=unit_id, at=self.availability.clock(), by=self.actor.name,
            source=self.source, available=available, capacity=capacity, waitlist=waitlist,
            note=note))
        report.counts_applied.append(unit_id)


def _population_change(existing: UnitInfo, unit: UnitRecord) -> dict[str, Any] | None:
    """Every population attribute (None: inherit) when the source says something else than
    the unit does; None when it says the same or nothing."""
    if unit.population is None or unit.population == existing.own:
        return None
    said = unit.population.as_dict()
    return {name: said.get(name) for name in NARROWABLE}


def _changed(current: ProgramInfo, values: dict[str, Any]) -> dict[str, Any]:
    record = current.record()
    return {k: v for k, v in values.items() if record.get(k) != v}
