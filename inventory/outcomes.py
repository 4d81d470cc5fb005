"""Outcome and equity measures: did people land, how soon, did they stay out of crisis, and
is that the same for every group served; and what was asked for that nothing could meet.

Every count is broken down by the coarse needs recorded with a transition (language, age in
ten-year bands, gender, payer) and, where the county opts in, race and ethnicity in the OMB
SPD 15 (2024) minimum categories. Each breakdown is a partition (a group `not_recorded`
holds the rest), so its groups add up to the `all` row, and `inventory.suppression` withholds
every count of 1 to 10 people and whatever would let one be worked out. The client reference
is read only to link a return to crisis to the landing before it; it never leaves here.
Definitions: docs/measures.md, "Outcomes".
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.demand import age_band
from inventory.history_records import DemandEntry
from inventory.records import Transition as T
from inventory.suppression import Line, suppress

if TYPE_CHECKING:  # inventory.measures imports this module
    from inventory.measures import Question

ALL = "all"
NOT_RECORDED = "not_recorded"
MULTIPLE = "multiple"
SUPPRESSED = "suppressed"
RETURN_WINDOW = timedelta(days=30)
NEEDS_DIMENSIONS = ("language", "age_band", "gender", "payer")
RACE_ETHNICITY = "race_ethnicity"
# OMB Statistical Policy Directive No. 15 (2024 revision), minimum categories, as codes.
RACE_ETHNICITY_CODES = (
    "american_indian_or_alaska_native", "asian", "black_or_african_american",
    "hispanic_or_latino", "middle_eastern_or_north_african",
    "native_hawaiian_or_pacific_islander", "white")

OUTCOME_COUNTS = ("transitions", "placed", "lapsed", "cancelled", "open",
                  "step_down_completed", "followed", "returned_to_crisis_30d")
OUTCOME_COLUMNS = ["dimension", "group", "transitions", "placed", "lapsed", "cancelled", "open",
                   "share_lapsed", "step_down_completed", "median_hours_ready_to_landed",
                   "p90_hours_ready_to_landed", "followed", "returned_to_crisis_30d",
                   "share_returned_to_crisis"]
STATUSES = ("placed", "lapsed", "cancelled", "open")


@dataclass(frozen=True, slots=True)
class Moved:
    """One transition as the outcome measures see it: no reference, no navigator."""

    groups: dict[str, str]
    status: str
    step_down: bool
    hours_to_land: float | None
    followed: bool
    returned: bool


def race_ethnicity_group(codes: list[str] | None) -> str:
    """One category, `multiple` for two or more (SPD 15's "Multiracial and/or
    Multiethnic"), or `not_recorded`: a partition, so groups add up to the total."""
    if not codes:
        return NOT_RECORDED
    return codes[0] if len(codes) == 1 else MULTIPLE


def needs_groups(needs: dict[str, Any], dimensions: Iterable[str]) -> dict[str, str]:
    coarse = {**needs, "age_band": age_band(needs.get("age")) if isinstance(
        needs.get("age"), int) else needs.get("age_band")}
    return {d: str(coarse.get(d)) if coarse.get(d) not in (None, "") else NOT_RECORDED
            for d in dimensions}


def hours_ready_to_landed(discharge_at: datetime, landed_at: datetime) -> float:
    """Hours from the day the client was ready to move (the discharge) to the admission at
    the next program; 0 when they landed before the discharge (no gap at all)."""
    return max(0.0, (landed_at - discharge_at).total_seconds() / 3600)


def p90(values: list[float]) -> float | None:
    """The 90th percentile, nearest-rank (the value below which 90 % of landings fall)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, -(-9 * len(ordered) // 10) - 1)], 2)


async def load_moves(sessions: async_sessionmaker, q: Question) -> list[Moved]:
    """Transitions registered in the range, with the few columns the measure needs."""
    dims = dimensions(q)
    async with sessions() as session:
        rows = (await session.execute(select(
            T.id, T.client_ref, T.from_level, T.status, T.to_level, T.discharge_at, T.ended_at,
            T.needs, T.race_ethnicity).where(T.created_at >= q.start, T.created_at < q.end))
        ).all()
        rows = [r for r in rows if q.level_ok(r.from_level)]
        crises = await _crisis_entries(session, q, [r for r in rows if r.status == "placed"
                                                    and r.client_ref and r.ended_at])
    moves = []
    for r in rows:
        groups = needs_groups(r.needs or {}, NEEDS_DIMENSIONS)
        if RACE_ETHNICITY in dims:
            groups[RACE_ETHNICITY] = race_ethnicity_group(r.race_ethnicity)
        placed = r.status == "placed" and r.ended_at is not None
        followed = placed and r.client_ref is not None
        returned = followed and any(
            r.ended_at < at <= r.ended_at + RETURN_WINDOW
            for other, at in crises.get(r.client_ref, ()) if other != r.id)
        moves.append(Moved(
            groups=groups, status=r.status,
            step_down=placed and r.to_level in q.pathways.get(r.from_level, []),
            hours_to_land=hours_ready_to_landed(r.discharge_at, r.ended_at) if placed else None,
            followed=followed, returned=returned))
    return moves


async def _crisis_entries(session: Any, q: Question, landed: list[Any]
                          ) -> dict[str, list[tuple[str, datetime]]]:
    """For the references of landed clients: when each was next registered from, or placed
    into, a crisis level (by transition id, so a landing is not its own return)."""
    refs = sorted({r.client_ref for r in landed})
    if not refs or not q.crisis_levels:
        return {}
    first = min(r.ended_at for r in landed)
    found: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for i in range(0, len(refs), 500):  # keep the IN list within every backend's limits
        rows = (await session.execute(select(
            T.id, T.client_ref, T.from_level, T.status, T.to_level, T.created_at, T.ended_at)
            .where(T.client_ref.in_(refs[i:i + 500]), T.created_at > first,
                   T.created_at <= max(r.ended_at for r in landed) + RETURN_WINDOW))).all()
        for r in rows:
            if r.from_level in q.crisis_levels:
                found[r.client_ref].append((r.id, r.created_at))
            elif r.status == "placed" and r.to_level in q.crisis_levels and r.ended_at:
                found[r.client_ref].append((r.id, r.ended_at))
    return found


def dimensions(q: Question) -> tuple[str, ...]:
    return (*NEEDS_DIMENSIONS, RACE_ETHNICITY) if q.record_race_ethnicity else NEEDS_DIMENSIONS


def outcome_counts(items: list[Moved]) -> dict[str, Any]:
    status = defaultdict(int, {s: 0 for s in STATUSES})
    for m in items:
        status[m.status] += 1
    waits = [m.hours_to_land for m in items if m.hours_to_land is not None]
    closed = len(items) - status["open"]
    followed = sum(m.followed for m in items)
    returned = sum(m.returned for m in items)
    return {"transitions": len(items), **{s: status[s] for s in STATUSES},
            "share_lapsed": round(status["lapsed"] / closed, 4) if closed else None,
            "step_down_completed": sum(m.step_down for m in items),
            "median_hours_ready_to_landed": round(statistics.median(waits), 2) if waits else None,
            "p90_hours_ready_to_landed": p90(waits),
            "followed": followed, "returned_to_crisis_30d": returned,
            "share_returned_to_crisis": round(returned / followed, 4) if followed else None}


def breakdown(items: list[Any], dims: Iterable[str], group_of: Callable[[Any, str], str],
              count: Callable[[list[Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """The `all` row, then one row per group of each dimension (groups sorted, with
    `not_recorded` last)."""
    rows = [{"dimension": ALL, "group": ALL, **count(items)}]
    for dim in dims:
        groups: dict[str, list[Any]] = defaultdict(list)
        for item in items:
            groups[group_of(item, dim)].append(item)
        for name in sorted(groups, key=lambda g: (g == NOT_RECORDED, g)):
            rows.append({"dimension": dim, "group": name, **count(groups[name])})
    return rows


# What each derived value is computed from: withheld when any of them is.
DERIVED = {"share_lapsed": ("lapsed", "transitions", "open"),
           "median_hours_ready_to_landed": ("placed",),
           "p90_hours_ready_to_landed": ("placed",),
           "share_returned_to_crisis": ("returned_to_crisis_30d", "followed"),
           "share_found_nothing": ("found_nothing", "requests")}


def apply_suppression(rows: list[dict[str, Any]], counts: tuple[str, ...],
                      partitions: dict[str, tuple[str, ...]]) -> int:
    """Withhold small and recoverable counts in place (the cell becomes "suppressed"), and
    every value derived from a withheld count; returns how many cells were withheld.

    The equations an attacker has: each count column over a dimension's groups adds up to
    the `all` row, and in each row `partitions[total]` adds up to `total`."""
    key = {id(row): (row["dimension"], row["group"]) for row in rows}
    cells: dict[Hashable, int] = {(key[id(r)], c): r[c] for r in rows for c in counts}
    lines = []
    for dim in {r["dimension"] for r in rows} - {ALL}:
        members = [key[id(r)] for r in rows if r["dimension"] == dim]
        lines += [Line(tuple((m, c) for m in members), ((ALL, ALL), c)) for c in counts]
    for r in rows:
        lines += [Line(tuple((key[id(r)], p) for p in parts), (key[id(r)], total))
                  for total, parts in partitions.items()]
    hidden = suppress(cells, lines)
    withheld = 0
    for r in rows:
        for column in list(r):
            sources = (column,) if column in counts else DERIVED.get(column, ())
            if any((key[id(r)], s) in hidden for s in sources):
                r[column] = SUPPRESSED
                withheld += 1
    return withheld


async def outcomes(sessions: async_sessionmaker, q: Question) -> tuple[list[str], list[dict[
        str, Any]], int]:
    moves = await load_moves(sessions, q)
    rows = breakdown(moves, dimensions(q), lambda m, d: m.groups[d], outcome_counts)
    withheld = apply_suppression(rows, OUTCOME_COUNTS, {"transitions": STATUSES})
    return OUTCOME_COLUMNS, rows, withheld


DEMAND_COLUMNS = ["dimension", "group", "level", "requests", "found_nothing",
                  "share_found_nothing"]


async def unmet_by_need(sessions: async_sessionmaker, q: Question
                        ) -> tuple[list[str], list[dict[str, Any]], int]:
    """Searches and match requests that found nothing, by the coarse needs they named."""
    query = select(DemandEntry.level, DemandEntry.found, DemandEntry.filters).where(
        DemandEntry.at >= q.start, DemandEntry.at < q.end)
    if q.area:
        query = query.where(DemandEntry.area == q.area)
    async with sessions() as session:
        rows = [r for r in (await session.execute(query)).all()
                if not q.levels or r.level in q.levels]

    def count(items: list[Any]) -> dict[str, Any]:
        missed = sum(1 for r in items if not r.found)
        return {"level": ", ".join(q.levels) or ALL, "requests": len(items),
                "found_nothing": missed,
                "share_found_nothing": round(missed / len(items), 4) if items else None}

    out = breakdown(rows, NEEDS_DIMENSIONS,
                    lambda r, d: needs_groups(r.filters or {}, (d,))[d], count)
    withheld = apply_suppression(out, ("requests", "found_nothing"), {})
    return DEMAND_COLUMNS, out, withheld

