"""The directory of organizations, programs and units: SQL is its system of record.

Reads go through a per-process cache of plain `ProgramInfo` values, reloaded when the
cluster-wide directory version in Redis moves, so a search touches no SQL at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from inventory.actors import Actor
from inventory.availability import Availability
from inventory.eligibility import (
    AGE_LIMIT,
    GENDERS,
    INHERITS,
    NARROWABLE,
    Narrowing,
    check_admits_someone,
    check_narrowing,
    effective,
)
from inventory.errors import Conflict, Invalid, NotFound
from inventory.keys import Keys
from inventory.live import Change
from inventory.model import UnitState
from inventory.records import Organization, Program, Unit, new_id

PROGRAM_FIELDS = (
    "name", "description", "level_of_care", "asam_level", "area", "address", "latitude",
    "longitude", "phone", "genders", "age_min", "age_max", "payers", "languages", "mat",
    "wheelchair", "pets", "co_occurring", "involuntary", "secure", "harm_reduction",
    "telehealth", "reentry", "homeless_priority", "hours", "cadence_minutes",
)


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """A unit as search and views need it. `genders` ... `secure` are its *effective*
    population (its program's eligibility narrowed by `own`), resolved when the directory
    is loaded so the search's per-unit check is a few comparisons; the defaults admit
    everyone, i.e. a unit built without them is its program's population."""

    id: str
    program_id: str
    label: str
    kind: str
    capacity: int
    genders: tuple[str, ...] = GENDERS
    age_min: int = 0
    age_max: int = AGE_LIMIT
    wheelchair: bool = True
    involuntary: bool = True
    secure: bool = True
    own: Narrowing = INHERITS
    # Built once with the unit (when the directory loads; `replace` rebuilds it), so a
    # search page's hundreds of unit views copy it instead of rebuilding it. Read-only.
    _static: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_static", {
            "label": self.label, "kind": self.kind, "genders": list(self.genders),
            "age_min": self.age_min, "age_max": self.age_max, "wheelchair": self.wheelchair,
            "involuntary": self.involuntary, "secure": self.secure,
            "narrowed": self.own.as_dict()})

    def population(self) -> dict[str, Any]:
        """The effective population as JSON-ready values (every view of a unit has it)."""
        return {k: v for k, v in self._static.items() if k not in ("label", "kind")}

    def static_view(self) -> dict[str, Any]:
        """`label`, `kind` and `population()`, in that order: the unit's view fields that
        depend on neither live counts nor the clock. Shared; copy before changing."""
        return self._static


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
    harm_reduction: bool = False
    telehealth: bool = False
    reentry: bool = False
    homeless_priority: bool = False
    hours: dict[str, str] | None = None  # None: always open (inventory/hours.py)
    search_text: str = ""
    # The record, built once with the program (when the directory loads; `replace`
    # rebuilds it, so it is never stale): a search page copies it instead of rebuilding it.
    _record: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = ((name, getattr(self, name)) for name in RECORD_FIELDS)
        object.__setattr__(self, "_record", {
            name: list(v) if isinstance(v, tuple) else v for name, v in values})

    def record(self) -> dict[str, Any]:
        """Directory fields as plain JSON-ready values (a new dict; the values are shared
        with every other view of the program, so change none of them in place)."""
        return dict(self._record)


RECORD_FIELDS = tuple(f.name for f in fields(ProgramInfo)
                      if f.name not in ("units", "search_text", "_record"))


def narrowing_of(u: Unit) -> Narrowing:
    return Narrowing(genders=tuple(u.genders) if u.genders is not None else None,
                     age_min=u.age_min, age_max=u.age_max, wheelchair=u.wheelchair,
                     involuntary=u.involuntary, secure=u.secure)


def unit_info(u: Unit, program: ProgramInfo) -> UnitInfo:
    own = narrowing_of(u)
    pop = effective(program, own)
    return UnitInfo(u.id, u.program_id, u.label, u.kind, u.capacity, genders=pop.genders,
                    age_min=pop.age_min, age_max=pop.age_max, wheelchair=pop.wheelchair,
                    involuntary=pop.involuntary, secure=pop.secure, own=own)


def program_info(p: Program) -> ProgramInfo:
    values = {name: getattr(p, name) for name in PROGRAM_FIELDS}
    for key in ("genders", "payers", "languages", "mat"):
        values[key] = tuple(values[key] or ())
    text = " ".join([p.name, p.description or "", p.area or "", p.organization.name]).lower()
    info = ProgramInfo(id=p.id, organization_id=p.organization_id,
                       organization_name=p.organization.name, search_text=text, **values)
    return replace(info, units=tuple(unit_info(u, info) for u in p.units))


class Directory:
    """Creates and changes directory records; keeps every process's cache current."""

    def __init__(self, sessions: async_sessionmaker, availability: Availability, redis: Redis,
                 prefix: str, clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.availability = availability
        self.redis = redis
        self.version_key = Keys(prefix).directory_version
        self.clock = clock
        self._cache: dict[str, ProgramInfo] = {}
        self._by_level: dict[str, list[ProgramInfo]] = {}
        self._cache_version: str | None = None
        self._unit_program: dict[str, str] = {}
        self._lock = asyncio.Lock()

    # Reads -------------------------------------------------------------------------

    async def programs(self, as_of: str | None = None) -> dict[str, ProgramInfo]:
        """Every program, from this process's cache when the directory has not moved. With
        `as_of` (the version a stream event was applied at) and the cache at that version,
        the cache is the directory as of the event, and Redis is not asked: the fan-out
        labels a batch without a round trip on its way to the subscribers."""
        if as_of is not None and as_of == self._cache_version:
            return self._cache
        version = str(await self.redis.get(self.version_key) or "0")
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

    async def known_program_of_unit(self, unit_id: str) -> ProgramInfo:
        """The unit's program from this process's cache without asking Redis whether the
        directory moved (one round trip fewer on every write's acknowledgement, whose counts
        and seq come from the write itself); loads the cache when the unit is not in it."""
        program_id = self._unit_program.get(unit_id)
        if program_id is not None and program_id in self._cache:
            return self._cache[program_id]
        return await self.program_of_unit(unit_id)

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
            program = await session.get(Program, program_id,
                                        options=[selectinload(Program.units)])
            if program is None:
                raise NotFound(f"program {program_id!r} does not exist")
            for key, value in values.items():
                setattr(program, key, value)
            _check_units_admit_someone(program)
            program.updated_at = self.clock()
        await self._moved()
        return await self.program(program_id)

    async def create_unit(self, program_id: str, actor: Actor, *, label: str, kind: str,
                          capacity: int, available: int = 0, waitlist: int = 0,
                          unit_id: str | None = None, population: Narrowing = INHERITS
                          ) -> UnitState:
        """Record the unit in SQL, then give it live state (a `create` event). Its
        `population` may only narrow its program's eligibility (else Invalid, naming it)."""
        if available > capacity:
            raise Invalid(f"available {available} is more than the capacity of {capacity}")
        program = await self.program(program_id)
        check_narrowing(program, population, label)
        unit = Unit(id=unit_id or new_id("unit"), program_id=program_id, label=label,
                    kind=kind, capacity=capacity, created_at=self.clock(),
                    **population_columns(population))
        await self._insert(unit, f"unit {unit.id!r} already exists")
        return await self.availability.apply(Change(
            op="create", unit_id=unit.id, at=self.clock(), by=actor.name, source="admin",
            available=available, capacity=capacity, waitlist=waitlist,
            program_id=program_id, organization_id=program.organization_id,
        ))

    async def update_unit(self, unit_id: str, actor: Actor, *, label: str | None = None,
                          kind: str | None = None, capacity: int | None = None,
                          population: dict[str, Any] | None = None) -> UnitState | None:
        """Change a unit's label, kind, capacity or population; a capacity change is checked
        live first (it may not drop below available + held). `population` holds only the
        attributes to change (None: inherit the program's again); the result may only narrow
        the program's eligibility (else Invalid, nothing changed)."""
        if population:
            await self._check_population_change(unit_id, label, population)
        state = None
        if capacity is not None:
            state = await self.availability.apply(Change(
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
            for key, value in (population or {}).items():
                setattr(unit, key, list(value) if isinstance(value, list | tuple) else value)
        await self._moved()
        return state

    async def _check_population_change(self, unit_id: str, label: str | None,
                                       changes: dict[str, Any]) -> None:
        program = await self.program_of_unit(unit_id)
        unit = next(u for u in program.units if u.id == unit_id)
        merged = {**unit.own.as_dict(), **changes}
        if merged.get("genders") is not None:
            merged["genders"] = tuple(merged["genders"])
        check_narrowing(program, Narrowing(**merged), label or unit.label)

    async def _insert(self, row: Any, duplicate_message: str) -> None:
        try:
            async with self.sessions() as session, session.begin():
                session.add(row)
        except IntegrityError as error:
            raise Conflict(duplicate_message) from error
        await self._moved()


def population_columns(own: Narrowing) -> dict[str, Any]:
    """A unit's own population as column values (None: inherits the program's)."""
    return {name: (list(v) if isinstance(v, tuple) else v)
            for name in NARROWABLE if (v := getattr(own, name)) is not None}


def _check_units_admit_someone(program: Program) -> None:
    """A program narrowed below what one of its units is for would leave that unit
    admitting no one: refuse, naming the unit by its label."""
    if program.age_min > program.age_max:
        return  # the caller refuses reversed ages itself
    values = {name: getattr(program, name) for name in PROGRAM_FIELDS}
    for key in ("genders", "payers", "languages", "mat"):
        values[key] = tuple(values[key] or ())
    info = ProgramInfo(id=program.id, organization_id=program.organization_id,
                       organization_name="", **values)
    for unit in program.units:
        check_admits_someone(effective(info, narrowing_of(unit)), unit.label)
