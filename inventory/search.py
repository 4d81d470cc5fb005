"""Finding programs by need: exact eligibility, distance, live availability and freshness.

A pure function of the directory, the live states and `now`, so it is fast (no I/O) and
testable with hypothesis. Eligibility is the one rule of `inventory.eligibility`: a program
is returned when it admits the person and has a unit that does (or no units yet); its
`available` and `waitlist` count only the units that fit, and every other unit is listed
with the reason it does not fit, never counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory.directory import ProgramInfo, UnitInfo
from inventory.eligibility import (
    Needs,
    check_needs,
    narrows_units,
    population_misfits,
    program_admits,
    unit_admits,
)
from inventory.hours import open_at
from inventory.model import UnitState

EARTH_RADIUS_KM = 6371.0088
SORTS = ("relevance", "distance", "available", "updated")


@dataclass(frozen=True, slots=True)
class Filters(Needs):
    """A search: the person's needs (the eligibility rule's own `Needs`, so search, matcher
    and holds read the same fields), plus what only narrows or orders the list."""

    level_of_care: tuple[str, ...] = ()
    language: str | None = None
    near: tuple[float, float] | None = None
    within_km: float | None = None
    available_only: bool = False
    fresh_only: bool = False
    q: str | None = None
    sort: str = "relevance"


@dataclass(slots=True)
class Result:
    """One program found. `available`, `waitlist` and `stale` are of the units that fit the
    person; `misfits` maps every other unit's id to why it does not fit, in words."""

    program: ProgramInfo
    units: list[tuple[UnitInfo, UnitState | None]]
    distance_km: float | None
    available: int
    waitlist: int
    stale: bool
    updated_at: datetime | None
    misfits: dict[str, str] = field(default_factory=dict)
    open_now: bool = True  # from the program's hours (always, without)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the haversine formula."""
    return distance_from(a)(*b)


def distance_from(origin: tuple[float, float]) -> Callable[[float, float], float]:
    """`distance_km` from one point, as a function of the other's latitude and longitude:
    the origin's part of the formula is worked out once for a whole search."""
    lat1, lon1 = math.radians(origin[0]), math.radians(origin[1])
    cos_lat1, radians, sin, cos = math.cos(lat1), math.radians, math.sin, math.cos

    def km(lat: float, lon: float) -> float:
        lat2, lon2 = radians(lat), radians(lon)
        h = sin((lat2 - lat1) / 2) ** 2 + cos_lat1 * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))

    return km


def eligible(p: ProgramInfo, f: Filters) -> bool:
    """Hard constraints on the program as a whole: one that cannot take this client is
    never returned. (Whether one of its units can is `_result`'s job.)"""
    if f.level_of_care and p.level_of_care not in f.level_of_care:
        return False
    if not program_admits(p, f):
        return False
    if f.language and f.language not in p.languages:
        return False
    return not f.q or all(word in p.search_text for word in f.q.lower().split())


def search(programs: Iterable[ProgramInfo], states: Mapping[str, UnitState], f: Filters,
           now: datetime, default_cadence: int) -> list[Result]:
    """Programs meeting every need in `f`, sorted as asked; stale counts rank lower.
    This is the hot path of every search: keep the per-program work small. Needs that
    contradict themselves are refused (Invalid, naming the field)."""
    check_needs(f)
    needs = f if narrows_units(f) else None
    distance = distance_from(f.near) if f.near else None
    fresh_after: dict[int, datetime] = {}  # cadence -> oldest fresh update
    results = []
    for p in programs:
        if not eligible(p, f):
            continue
        km = None
        if distance is not None and p.latitude is not None and p.longitude is not None:
            km = round(distance(p.latitude, p.longitude), 2)
        if f.within_km is not None and (km is None or km > f.within_km):
            continue
        cadence = p.cadence_minutes or default_cadence
        oldest = fresh_after.get(cadence)
        if oldest is None:
            oldest = fresh_after[cadence] = now - timedelta(minutes=cadence)
        result = _result(p, states, oldest, km, needs)
        if result is None:
            continue
        result.open_now = p.hours is None or open_at(p.hours, now)
        if f.available_only and (result.available <= 0 or not result.open_now):
            continue
        if f.fresh_only and result.stale:
            continue
        results.append(result)
    results.sort(key=_sort_key(f.sort))
    return results


def _result(p: ProgramInfo, states: Mapping[str, UnitState], oldest_fresh: datetime,
            distance: float | None, needs: Needs | None = None) -> Result | None:
    """The program with the counts of its units that fit `needs` (all, when None); None
    when it has units and none of them fits. A count older than `oldest_fresh` is stale."""
    units, available, waitlist, stale, newest = [], 0, 0, not p.units, None
    misfits: dict[str, str] = {}
    for u in p.units:
        s = states.get(u.id)
        units.append((u, s))
        if needs is not None and not unit_admits(u, needs):
            misfits[u.id] = "; ".join(population_misfits(u, needs))
            continue
        if s is None:
            stale = True
            continue
        available += s.available
        waitlist += s.waitlist
        if s.updated_at is None or s.updated_at < oldest_fresh:
            stale = True
        if s.updated_at is not None and (newest is None or s.updated_at > newest):
            newest = s.updated_at
    if p.units and len(misfits) == len(p.units):
        return None
    return Result(program=p, units=units, distance_km=distance, available=available,
                  waitlist=waitlist, stale=stale, updated_at=newest, misfits=misfits)


def _sort_key(sort: str):  # type: ignore[no-untyped-def]
    far = float("inf")
    if sort == "distance":
        return lambda r: (r.distance_km if r.distance_km is not None else far, r.program.name)
    if sort == "available":
        return lambda r: (-r.available, r.stale, r.program.name)
    if sort == "updated":
        return lambda r: (-(r.updated_at.timestamp() if r.updated_at else 0), r.program.name)
    return lambda r: (r.stale, r.available <= 0,
                      r.distance_km if r.distance_km is not None else far, -r.available,
                      r.program.name)
