"""The directory of organizations, programs and units: SQL is its system of record.

Reads go through a per-process cache of plain `ProgramInfo` values, reloaded when the
cluster-wide directory version in Redis moves, so a search touches no SQL at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from inventory.actors import Actor
from inventory.availability import Inventory
from inventory.errors import Conflict, Invalid, NotFound
from inventory.keys import Keys
from inventory.live import Change
from inventory.model import UnitState
from inventory.records import Organization, Program, Unit, new_id

PROGRAM_FIELDS = (
    "name", "description", "level_of_care", "asam_level", "area", "address", "latitude",
    "longitude", "phone", "genders", "age_min", "age_max", "payers", "languages", "mat",
    "wheelchair", "pets", "co_occurring", "involuntary", "secure", "cadence_minutes",
)


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: str
    program_id: str
    label: str
    kind: str
    capacity: int


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """A program as search and views need it, detached from any SQL session."""

    id: str
    organization_id: str
    organization_name: str
    name: str
    description: str
    level_of_care: str
    asam_level: str | None
    area: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    phone: str | None
    genders: tuple[str, ...]
    age_min: int
    age_max: int
    payers: tuple[str, ...]
    languages: tuple[str, ...]
    mat: tuple[str, ...]
    wheelchair: bool
    pets: bool
    co_occurring: bool
    involuntary: bool
    secure: bool
    cadence_minutes: int | None
    units: tuple[UnitInfo, ...] = field(default=())
    search_text: str = ""

    def record(self) -> dict[str, Any]:
        """Directory fields as plain JSON-ready values."""
        values = ((name, getattr(self, name)) for name in RECORD_FIELDS)
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values}


RECORD_FIELDS = tuple(f.name for f in fields(ProgramInfo) if f.name not in ("units", "search_text"))


def program_info(p: Program) -> ProgramInfo:
    values = {name: getattr(p, name) for name in PROGRAM_FIELDS}
    for key in ("genders", "payers", "languages", "mat"):
        values[key] = tuple(values[key] or ())
    units = tuple(UnitInfo(u.id, u.program_id, u.label, u.kind, u.capacity) for u in p.units)
    text = " ".join([p.name, p.description or "", p.area or "", p.organization.name]).lower()
    return ProgramInfo(id=p.id, organization_id=p.organization_id,
                       organization_name=p.organization.name, units=units, search_text=text,
                       **values)


class Directory:
    """Creates and changes directory records; keeps every process's cache current."""

    def __init__(self, sessions: async_sessionmaker, inventory: Inventory, redis: Redis,
                 prefix: str, clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.inventory = inventory
        self.redis = redis
        self.version_key = Keys(prefix).directory_version
        self.clock = clock
        self._cache: dict[str, ProgramInfo] = {}
        self._by_level: dict[str, list[ProgramInfo]] = {}
        self._cache_version: str | None = None
        self._unit_program: dict[str, str] = {}
        self._lock = asyncio.Lock()

    # Reads -------------------------------------------------------------------------

    async def programs(self) -> dict[str, ProgramInfo]:
        """Every program, from this process's cache when the directory has not moved."""
        version = await self.redis.get(self.version_key) or "0"
        if version != self._cache_version:
            async with self._lock:
                if version != self._cache_version:
                    await self._reload(version)
        return self._cache

    async def at_levels(self, levels: tuple[str, ...]) -> list[ProgramInfo]:
        """Programs at any of `levels` (all programs when empty), from the level index."""
        programs = await self.programs()
        if not levels:
            return list(programs.values())
        return [p for level in dict.fromkeys(levels) for p in self._by_level.get(level, ())]

    async def program(self, program_id: str) -> ProgramInfo:
        info = (await self.programs()).get(program_id)
        if info is None:
            raise NotFound(f"program {program_id!r} does not exist")
        return info

    async def program_of_unit(self, unit_id: str) -> ProgramInfo:
        programs = await self.programs()
        program_id = self._unit_program.get(unit_id)
        if program_id is None:
            raise NotFound(f"unit {unit_id!r} does not exist")
        return programs[program_id]

    async def _reload(self, version: str) -> None:
        query = select(Program).options(selectinload(Program.units),
                                        selectinload(Program.organization))
        async with self.sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        self._cache = {p.id: program_info(p) for p in rows}
        by_level: dict[str, list[ProgramInfo]] = {}
        for info in self._cache.values():
            by_level.setdefault(info.level_of_care, []).append(info)
        self._by_level = by_level
        self._unit_program = {u.id: p.id for p in self._cache.values() for u in p.units}
        self._cache_version = version

    async def _moved(self) -> None:
        await self.redis.incr(self.version_key)

    # Writes ------------------------------------------------------------------------

    async def create_organization(self, name: str, org_id: str | None = None) -> Organization:
        org = Organization(id=org_id or new_id("org"), name=name, created_at=self.clock())
        await self._insert(org, f"organization {org.id!r} already exists")
        return org

    async def update_organization(self, org_id: str, name: str) -> Organization:
        async with self.sessions() as session, session.begin():
            org = await session.get(Organization, org_id)
            if org is None:
                raise NotFound(f"organization {org_id!r} does not exist")
            org.name = name
        await self._moved()
        return org

    async def create_program(self, values: dict[str, Any], program_id: str | None = None
                             ) -> ProgramInfo:
        async with self.sessions() as session:
            if await session.get(Organization, values["organization_id"]) is None:
                raise Invalid(f"organization {values['organization_id']!r} does not exist")
        now = self.clock()
        program = Program(id=program_id or new_id("prg"), created_at=now, updated_at=now,
                          **values)
        await self._insert(program, f"program {program.id!r} already exists")
        return await self.program(program.id)

    async def update_program(self, program_id: str, values: dict[str, Any]) -> ProgramInfo:
        async with self.sessions() as session, session.begin():
            program = await session.get(Program, program_id)
            if program is None:
                raise NotFound(f"program {program_id!r} does not exist")
            for key, value in values.items():
                setattr(program, key, value)
            program.updated_at = self.clock()
        await self._moved()
        return await self.program(program_id)

    async def create_unit(self, program_id: str, actor: Actor, *, label: str, kind: str,
                          capacity: int, available: int = 0, waitlist: int = 0,
                          unit_id: str | None = None) -> UnitState:
        """Record the unit in SQL, then give it live state (a `create` event)."""
        if available > capacity:
            raise Invalid(f"available {available} is more than the capacity of {capacity}")
        program = await self.program(program_id)
        unit = Unit(id=unit_id or new_id("unit"), program_id=program_id, label=label,
                    kind=kind, capacity=capacity, created_at=self.clock())
        await self._insert(unit, f"unit {unit.id!r} already exists")
        return await self.inventory.apply(Change(
            op="create", unit_id=unit.id, at=self.clock(), by=actor.name, source="admin",
            available=available, capacity=capacity, waitlist=waitlist,
            program_id=program_id, organization_id=program.organization_id,
        ))

    async def update_unit(self, unit_id: str, actor: Actor, *, label: str | None = None,
                          kind: str | None = None, capacity: int | None = None
                          ) -> UnitState | None:
        """Change a unit's label, kind or capacity; a capacity change is checked live first
        (it may not drop below available + held)."""
        state = None
        if capacity is not None:
            state = await self.inventory.apply(Change(
                op="capacity", unit_id=unit_id, at=self.clock(), by=actor.name,
                source="admin", capacity=capacity,
            ))
        async with self.sessions() as session, session.begin():
            unit = await session.get(Unit, unit_id)
            if unit is None:
                raise NotFound(f"unit {unit_id!r} does not exist")
            for key, value in (("label", label), ("kind", kind), ("capacity", capacity)):
                if value is not None:
                    setattr(unit, key, value)
        await self._moved()
        return state

    async def _insert(self, row: Any, duplicate_message: str) -> None:
        try:
            async with self.sessions() as session, session.begin():
                session.add(row)
        except IntegrityError as error:
            raise Conflict(duplicate_message) from error
        await self._moved()
