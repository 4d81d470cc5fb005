"""The analytics measures: each turns history into one table of counts and durations.

Every measure is an async function of a `Question` returning a `Table` whose rows are plain
dicts with the table's columns, so the page's JSON and the CSV export are the same rows.
Formulas are written down in docs/measures.md; nothing here reads or returns a client
reference, a navigator's token or any other identifier of a person.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory import outcomes as outcome_measures
from inventory.audit import FRESHENING
from inventory.errors import Invalid
from inventory.history import (
    HOUR,
    NO_AREA,
    Hour,
    entries_between,
    floor_hour,
    hourly,
    states_at,
)
from inventory.history_records import ALL_AREAS, DemandEntry
from inventory.records import AuditEntry, Hold, Program, Referral, Transition, Unit
from inventory.sql_time import epoch_minute

BUCKETS = ("hour", "day", "week")
ALL = "all"
ACK_WITHIN = timedelta(minutes=30)


@dataclass(frozen=True)
class Question:
    """What a measure is asked: a time range, filters, and how to bucket time."""

    start: datetime
    end: datetime
    now: datetime
    levels: tuple[str, ...] = ()
    area: str | None = None
    by_area: bool = False
    bucket: str = "day"
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    unit: str | None = None
    program: str | None = None
    pathways: dict[str, list[str]] = field(default_factory=dict)
    caseload_limit: int = 8
    default_cadence: int = 240
    crisis_levels: tuple[str, ...] = ()
    record_race_ethnicity: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise Invalid("from and to need a time zone")
        if self.end <= self.start:
            raise Invalid(f"to ({self.end.isoformat()}) must be after from "
                          f"({self.start.isoformat()})")
        if self.end - self.start > timedelta(days=400):
            raise Invalid("a range may span at most 400 days")
        if self.bucket not in BUCKETS:
            raise Invalid(f"bucket must be one of {', '.join(BUCKETS)}, got {self.bucket!r}")

    def level_ok(self, level: str | None) -> bool:
        return not self.levels or level in self.levels

    def period(self, t: datetime) -> str:
        """The start of the bucket holding `t`, in the question's time zone."""
        local = t.astimezone(self.tz)
        if self.bucket == "hour":
            return local.replace(minute=0, second=0, microsecond=0).isoformat()
        day = local.date()
        if self.bucket == "week":
            day -= timedelta(days=day.weekday())
        return day.isoformat()


@dataclass
class Table:
    measure: str
    columns: list[str]
    rows: list[dict[str, Any]]
    suppressed: int = 0  # cells withheld as "suppressed" (inventory/suppression.py)

    def as_json(self) -> dict[str, Any]:
        return {"measure": self.measure, "columns": self.columns, "rows": self.rows,
                "suppressed": self.suppressed}


Measure = Callable[[async_sessionmaker, Question], Awaitable[Table]]


def r2(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def median(values: list[float]) -> float | None:
    return r2(statistics.median(values)) if values else None


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# Availability ----------------------------------------------------------------------------


async def _hours(sessions: async_sessionmaker, q: Question) -> list[Hour]:
    """Hourly rows in range for the question's levels: all areas, one area, or each area."""
    area = q.area or (None if q.by_area else ALL_AREAS)
    return await hourly(sessions, q.start, q.end, q.now, q.levels, area)


def _area(q: Question, row_area: str) -> str:
    return ALL if row_area == ALL_AREAS else row_area


async def zero_hours(sessions: async_sessionmaker, q: Question) -> Table:
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in await _hours(sessions, q):
        totals[(q.period(r.hour), r.level, _area(q, r.area))] += r.zero_seconds
    rows = [{"period_start": p, "level": lv, "area": a, "hours_at_zero": r2(s / 3600)}
            for (p, lv, a), s in sorted(totals.items())]
    return Table("zero_hours", ["period_start", "level", "area", "hours_at_zero"], rows)


async def zero_by_hour(sessions: async_sessionmaker, q: Question) -> Table:
    """The heat map: hours at zero by level and local hour of day, summed over the range."""
    zero: dict[tuple[str, int], float] = defaultdict(float)
    seen: dict[tuple[str, int], float] = defaultdict(float)
    for r in await _hours(sessions, q):
        key = (r.level, r.hour.astimezone(q.tz).hour)
        zero[key] += r.zero_seconds
        seen[key] += r.observed_seconds
    rows = [{"level": lv, "hour_of_day": h, "hours_at_zero": r2(zero[(lv, h)] / 3600),
             "share_of_time_at_zero": share_f(zero[(lv, h)], seen[(lv, h)])}
            for lv, h in sorted(seen)]
    return Table("zero_by_hour", ["level", "hour_of_day", "hours_at_zero",
                                  "share_of_time_at_zero"], rows)


def share_f(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


async def occupancy(sessions: async_sessionmaker, q: Question) -> Table:
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for r in await _hours(sessions, q):
        for level in (r.level, ALL):
            acc = sums[(q.period(r.hour), level, _area(q, r.area))]
            acc[0] += r.available_seconds
            acc[1] += r.held_seconds
            acc[2] += r.capacity_seconds
            acc[3] += r.observed_seconds if level != ALL else 0.0
    rows = []
    for (p, level, a), (avail, held, cap, _seen) in sorted(sums.items()):
        rows.append({"period_start": p, "level": level, "area": a,
                     "occupancy": share_f(cap - avail, cap),
                     "available_bed_hours": r2(avail / 3600), "held_bed_hours": r2(held / 3600),
                     "capacity_bed_hours": r2(cap / 3600)})
    return Table("occupancy", ["period_start", "level", "area", "occupancy",
                               "available_bed_hours", "held_bed_hours", "capacity_bed_hours"],
                 rows)


async def availability(sessions: async_sessionmaker, q: Question) -> Table:
    """One unit's or one program's counts as they changed (with the counts in force at the
    start of the range first); without a unit or program, hourly sums per level."""
    if q.unit or q.program:
        return await _unit_history(sessions, q)
    rows = []
    for r in sorted(await _hours(sessions, q), key=lambda r: (r.hour, r.level, r.area)):
        seen = r.observed_seconds or 1.0
        rows.append({"hour": r.hour.astimezone(q.tz).isoformat(), "level": r.level,
                     "area": _area(q, r.area), "mean_available": r2(r.available_seconds / seen),
                     "mean_held": r2(r.held_seconds / seen),
                     "mean_capacity": r2(r.capacity_seconds / seen),
                     "minutes_at_zero": r2(r.zero_seconds / 60)})
    return Table("availability", ["hour", "level", "area", "mean_available", "mean_held",
                                  "mean_capacity", "minutes_at_zero"], rows)


async def _unit_history(sessions: async_sessionmaker, q: Question) -> Table:
    async with sessions() as session:
        query = select(Unit.id)
        query = (query.where(Unit.id == q.unit) if q.unit
                 else query.where(Unit.program_id == q.program))
        ids = list((await session.execute(query)).scalars())
        if not ids:
            raise Invalid(f"no unit {q.unit!r}" if q.unit else f"no program {q.program!r}")
        first = await states_at(session, q.start, ids)
        changes = await entries_between(session, q.start, q.end, ids)
    columns = ["at", "unit_id", "op", "available", "held", "capacity"]
    rows = [{"at": q.start.astimezone(q.tz).isoformat(), "unit_id": uid, "op": "start",
             "available": c.available, "held": c.held, "capacity": c.capacity}
            for uid, c in sorted(first.items())]
    rows += [{"at": e.at.astimezone(q.tz).isoformat(), "unit_id": e.unit_id, "op": e.op,
              "available": e.available, "held": e.held, "capacity": e.capacity}
             for e in changes]
    return Table("availability", columns, rows)


# Holds, transitions, referrals ----------------------------------------------------------


async def _levels_of_units(sessions: async_sessionmaker) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(select(Unit.id, Program.level_of_care)
                                     .join(Program, Program.id == Unit.program_id))
        return dict(rows.all())


async def holds(sessions: async_sessionmaker, q: Question) -> Table:
    level_of = await _levels_of_units(sessions)
    async with sessions() as session:
        rows = (await session.execute(select(Hold.unit_id, Hold.status, Hold.created_at,
                                             Hold.ended_at).where(
            Hold.created_at >= q.start, Hold.created_at < q.end))).all()
    groups: dict[str, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    for unit_id, status, created, ended in rows:
        level = level_of.get(unit_id, NO_AREA)
        if q.level_ok(level):
            groups[level].append((status, created, ended))
            groups[ALL].append((status, created, ended))
    out = []
    for level, items in sorted(groups.items(), key=lambda kv: (kv[0] == ALL, kv[0])):
        count: defaultdict[str, int] = defaultdict(int)
        for status, _, _ in items:
            count[status] += 1
        ended = count["admitted"] + count["released"] + count["expired"]
        waits = [(e - c).total_seconds() / 60 for s, c, e in items if s == "admitted" and e]
        out.append({"level": level, "holds": len(items), "admitted": count["admitted"],
                    "released": count["released"], "expired_unused": count["expired"],
                    "active": count["active"], "share_admitted": share(count["admitted"], ended),
                    "median_minutes_to_admission": median(waits)})
    return Table("holds", ["level", "holds", "admitted", "released", "expired_unused",
                           "active", "share_admitted", "median_minutes_to_admission"], out)


async def transitions(sessions: async_sessionmaker, q: Question) -> Table:
    """By from-level and to-level: the level placed into, or for transitions not placed the
    expected next level (the first on the care pathway from the from-level)."""
    async with sessions() as session:
        rows = (await session.execute(select(Transition).where(
            Transition.created_at >= q.start, Transition.created_at < q.end))).scalars().all()
    groups: dict[tuple[str, str], list[Transition]] = defaultdict(list)
    for t in rows:
        if not q.level_ok(t.from_level):
            continue
        expected = (q.pathways.get(t.from_level) or [""])[0]
        to = t.to_level if t.status == "placed" and t.to_level else expected
        groups[(t.from_level, to)].append(t)
    full = await _full_at_discharge(sessions, q, [t for t in rows if t.status == "lapsed"])
    out = []
    for (src, dst), items in sorted(groups.items()):
        count: defaultdict[str, int] = defaultdict(int)
        for t in items:
            count[t.status] += 1
        waits = [(t.ended_at - t.created_at).total_seconds() / 3600 for t in items
                 if t.status == "placed" and t.ended_at]
        while_full = sum(1 for t in items if t.status == "lapsed" and (dst, t.id) in full)
        out.append({"from_level": src, "to_level": dst, "registered": len(items),
                    "placed": count["placed"], "lapsed": count["lapsed"],
                    "cancelled": count["cancelled"], "open": count["open"],
                    "median_hours_to_placement": median(waits),
                    "lapsed_while_to_level_full": while_full})
    return Table("transitions", ["from_level", "to_level", "registered", "placed", "lapsed",
                                 "cancelled", "open", "median_hours_to_placement",
                                 "lapsed_while_to_level_full"], out)


async def _full_at_discharge(sessions: async_sessionmaker, q: Question,
                             lapsed: list[Transition]) -> set[tuple[str, str]]:
    """(expected level, transition id) for lapsed transitions whose expected next level had
    no bed city-wide for at least half of the hour of the discharge."""
    if not lapsed:
        return set()
    start = min(t.discharge_at for t in lapsed)
    end = max(t.discharge_at for t in lapsed) + HOUR
    zero = {(r.hour, r.level): r.zero_seconds
            for r in await hourly(sessions, start, min(end, q.now + HOUR), q.now)}
    found = set()
    for t in lapsed:
        expected = (q.pathways.get(t.from_level) or [""])[0]
        if zero.get((floor_hour(t.discharge_at), expected), 0.0) >= 1800:
            found.add((expected, t.id))
    return found


async def referrals(sessions: async_sessionmaker, q: Question) -> Table:
    async with sessions() as session:
        rows = (await session.execute(
            select(Referral.status, Referral.created_at, Referral.acknowledged_at,
                   Referral.responded_at, Program.level_of_care)
            .join(Program, Program.id == Referral.program_id)
            .where(Referral.created_at >= q.start, Referral.created_at < q.end))).all()
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if q.level_ok(row.level_of_care):
            groups[row.level_of_care].append(row)
            groups[ALL].append(row)
    out = []
    for level, items in sorted(groups.items(), key=lambda kv: (kv[0] == ALL, kv[0])):
        quick = sum(1 for r in items if r.acknowledged_at
                    and r.acknowledged_at - r.created_at <= ACK_WITHIN)
        waits = [(r.responded_at - r.created_at).total_seconds() / 60 for r in items
                 if r.status == "accepted" and r.responded_at]
        count: defaultdict[str, int] = defaultdict(int)
        for r in items:
            count[r.status] += 1
        out.append({"level": level, "sent": len(items), "acknowledged_within_30_min": quick,
                    "share_acknowledged_within_30_min": share(quick, len(items)),
                    "accepted": count["accepted"], "declined": count["declined"],
                    "expired": count["expired"], "withdrawn": count["withdrawn"],
                    "median_minutes_to_acceptance": median(waits)})
    return Table("referrals", ["level", "sent", "acknowledged_within_30_min",
                               "share_acknowledged_within_30_min", "accepted", "declined",
                               "expired", "withdrawn", "median_minutes_to_acceptance"], out)


async def declines(sessions: async_sessionmaker, q: Question) -> Table:
    async with sessions() as session:
        rows = (await session.execute(
            select(Referral.decline_reason, Program.level_of_care)
            .join(Program, Program.id == Referral.program_id)
            .where(Referral.created_at >= q.start, Referral.created_at < q.end,
                   Referral.status == "declined"))).all()
    counts: dict[str, int] = defaultdict(int)
    for reason, level in rows:
        if q.level_ok(level):
            counts[reason or "other"] += 1
    total = sum(counts.values())
    out = [{"reason": reason, "declines": n, "share": share(n, total)}
           for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Table("declines", ["reason", "declines", "share"], out)


# Providers and navigators ---------------------------------------------------------------


async def freshness(sessions: async_sessionmaker, q: Question) -> Table:
    """Per program: updates in range, the median time between them, and hours stale: time
    beyond the program's cadence with no update, counting the range start as an update.

    Aggregated in SQL (`_update_gaps`): a year of audit rows stays in the database, and
    Python gets one row per program."""
    async with sessions() as session:
        programs = (await session.execute(select(Program))).scalars().all()
        gaps = {row.p: row for row in (await session.execute(
            _update_gaps(q.start, q.end, q.default_cadence))).all()}
    until = min(q.end, q.now)
    out = []
    for p in programs:
        if not q.level_ok(p.level_of_care) or (q.area and p.area != q.area):
            continue
        cadence = timedelta(minutes=p.cadence_minutes or q.default_cadence)
        row = gaps.get(p.id)
        if row is None:
            edges = [until - q.start]
            updates, inner, middle = 0, 0.0, None
        else:
            first = datetime.fromtimestamp(row.first * 60, UTC)
            last = datetime.fromtimestamp(row.last * 60, UTC)
            edges = [first - q.start, until - last]
            updates, inner = row.updates, float(row.inner_stale or 0) * 60
            middle = None if row.median is None else float(row.median)
        stale = inner + sum(max(timedelta(0), g - cadence).total_seconds() for g in edges)
        out.append({"program_id": p.id, "program": p.name, "level": p.level_of_care,
                    "area": p.area or NO_AREA, "updates": updates,
                    "median_minutes_between_updates": r2(middle),
                    "cadence_minutes": int(cadence.total_seconds() // 60),
                    "hours_stale": r2(stale / 3600)})
    out.sort(key=lambda r: (-(r["hours_stale"] or 0), r["program_id"]))
    return Table("freshness", ["program_id", "program", "level", "area", "updates",
                               "median_minutes_between_updates", "cadence_minutes",
                               "hours_stale"], out)


def _update_gaps(start: datetime, end: datetime, default_cadence: int) -> Select[Any]:
    """One row per program that confirmed counts in [start, end): `updates` (distinct
    minutes), `first` and `last` (epoch minutes), `inner_stale` (minutes beyond the cadence
    between consecutive updates) and `median` (minutes between updates), by window
    functions that SQLite (3.25+) and PostgreSQL both have."""
    minute = epoch_minute(AuditEntry.at)
    updates = (select(Unit.program_id.label("p"), minute.label("m"))
               .join(Unit, Unit.id == AuditEntry.unit_id)
               .where(AuditEntry.at >= start, AuditEntry.at < end,
                      AuditEntry.op.in_(FRESHENING))
               .group_by(Unit.program_id, minute)).cte("updates")
    gap = updates.c.m - func.lag(updates.c.m).over(partition_by=updates.c.p,
                                                   order_by=updates.c.m)
    gaps = select(updates.c.p, updates.c.m, gap.label("gap")).cte("gaps")
    cadence = func.coalesce(Program.cadence_minutes, default_cadence)
    ranked = select(gaps.c.p, gaps.c.gap,
                    func.row_number().over(partition_by=gaps.c.p,
                                           order_by=gaps.c.gap).label("rn"),
                    func.count().over(partition_by=gaps.c.p).label("n")
                    ).where(gaps.c.gap.is_not(None)).cte("ranked")
    medians = (select(ranked.c.p, func.avg(ranked.c.gap).label("median"))
               .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2,
                          ranked.c.rn == (ranked.c.n + 2) // 2))
               .group_by(ranked.c.p)).cte("medians")
    per_program = (select(gaps.c.p, func.count().label("updates"),
                          func.min(gaps.c.m).label("first"), func.max(gaps.c.m).label("last"),
                          func.sum(case((gaps.c.gap > cadence, gaps.c.gap - cadence),
                                        else_=0)).label("inner_stale"))
                   .join(Program, Program.id == gaps.c.p)
                   .group_by(gaps.c.p)).cte("per_program")
    return (select(per_program, medians.c.median)
            .outerjoin(medians, medians.c.p == per_program.c.p))


async def caseloads(sessions: async_sessionmaker, q: Question) -> Table:
    """Per bucket: each navigator's largest number of open transitions at any moment in it;
    their mean and maximum, and how many navigators were above the balanced load. Unclaimed
    transitions (still in the queue) belong to nobody's caseload."""
    async with sessions() as session:
        rows = (await session.execute(select(
            Transition.navigator, Transition.created_at, Transition.ended_at).where(
            Transition.navigator.is_not(None), Transition.created_at < q.end,
            or_(Transition.ended_at.is_(None), Transition.ended_at > q.start)))).all()
    steps: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    until = min(q.end, q.now)
    for navigator, created, ended in rows:
        steps[navigator] += [(created, 1), (ended or until + timedelta(seconds=1), -1)]
    peaks: dict[str, dict[str, int]] = defaultdict(dict)  # period -> navigator -> peak
    for navigator, changes in steps.items():
        _peaks(q, sorted(changes, key=lambda c: (c[0], c[1])), until, navigator, peaks)
    out = []
    for period in _periods(q, until):
        loads = list(peaks.get(period, {}).values())
        out.append({"period_start": period, "navigators": len(loads),
                    "mean_open": r2(statistics.fmean(loads)) if loads else 0.0,
                    "max_open": max(loads, default=0),
                    "navigators_over_limit": sum(1 for n in loads if n > q.caseload_limit),
                    "balanced_load": q.caseload_limit})
    return Table("caseloads", ["period_start", "navigators", "mean_open", "max_open",
                               "navigators_over_limit", "balanced_load"], out)


def _peaks(q: Question, changes: list[tuple[datetime, int]], until: datetime, navigator: str,
           peaks: dict[str, dict[str, int]]) -> None:
    load, i = 0, 0
    while i < len(changes) and changes[i][0] <= q.start:
        load += changes[i][1]
        i += 1
    t = q.start
    while t < until:
        period = q.period(t)
        peak = load
        step_end = _next_period_start(q, t)
        while i < len(changes) and changes[i][0] < min(step_end, until):
            load += changes[i][1]
            peak = max(peak, load)
            i += 1
        if peak > 0:
            peaks[period][navigator] = max(peaks[period].get(navigator, 0), peak)
        t = step_end


def _next_period_start(q: Question, t: datetime) -> datetime:
    local = t.astimezone(q.tz)
    if q.bucket == "hour":
        return floor_hour(t) + HOUR
    day = local.date() + timedelta(days=1)
    if q.bucket == "week":
        day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, datetime.min.time(), q.tz).astimezone(UTC)


def _periods(q: Question, until: datetime) -> Iterable[str]:
    t = q.start
    while t < until:
        yield q.period(t)
        t = _next_period_start(q, t)


# Demand -------------------------------------------------------------------------------


async def unmet_demand(sessions: async_sessionmaker, q: Question) -> Table:
    async with sessions() as session:
        query = select(DemandEntry.kind, DemandEntry.level, DemandEntry.area,
                       DemandEntry.found).where(DemandEntry.at >= q.start,
                                                DemandEntry.at < q.end)
        if q.area:
            query = query.where(DemandEntry.area == q.area)
        rows = (await session.execute(query)).all()
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for kind, level, area, found in rows:
        level = ALL if level == ALL_AREAS else level
        if q.levels and level not in q.levels:
            continue
        where = (ALL if area == ALL_AREAS else area) if (q.by_area or q.area) else ALL
        acc = counts[(level, where, kind)]
        acc[0] += 1
        acc[1] += 0 if found else 1
    out = [{"level": lv, "area": a, "kind": k, "requests": n, "found_nothing": miss,
            "share_found_nothing": share(miss, n)}
           for (lv, a, k), (n, miss) in sorted(counts.items())]
    return Table("unmet_demand", ["level", "area", "kind", "requests", "found_nothing",
                                  "share_found_nothing"], out)


# Outcomes and equity (inventory/outcomes.py) ---------------------------------------------


async def outcomes(sessions: async_sessionmaker, q: Question) -> Table:
    """Landed, lapsed, stepped down, returned to crisis: overall and by group, with every
    count of 1 to 10 people (and what would reveal one) suppressed."""
    columns, rows, withheld = await outcome_measures.outcomes(sessions, q)
    return Table("outcomes", columns, rows, withheld)


async def unmet_by_need(sessions: async_sessionmaker, q: Question) -> Table:
    columns, rows, withheld = await outcome_measures.unmet_by_need(sessions, q)
    return Table("unmet_by_need", columns, rows, withheld)


MEASURES: dict[str, tuple[Measure, str]] = {
    "zero_hours": (zero_hours, "Hours with no bed available, per level (and area) and period"),
    "zero_by_hour": (zero_by_hour, "Hours with no bed available by level and hour of day"),
    "occupancy": (occupancy, "Occupancy (1 - available / capacity) per level and period"),
    "availability": (availability, "Availability over time: a unit, a program, or levels"),
    "holds": (holds, "Holds: admitted, released, expired unused, time to admission"),
    "transitions": (transitions, "Transitions: time to placement, lapses by from/to level"),
    "referrals": (referrals, "Referrals: acknowledged within 30 min, time to acceptance"),
    "declines": (declines, "Declined referrals by reason"),
    "freshness": (freshness, "Provider freshness: time between updates, hours stale"),
    "caseloads": (caseloads, "Navigator caseloads against the balanced load"),
    "unmet_demand": (unmet_demand, "Searches and match requests that found no bed"),
    "outcomes": (outcomes, "Outcomes by group, small cells suppressed"),
    "unmet_by_need": (unmet_by_need, "Requests that found nothing, by need, suppressed"),
}


async def answer(name: str, sessions: async_sessionmaker, q: Question) -> Table:
    if name not in MEASURES:
        raise Invalid(f"unknown measure {name!r}; known: {', '.join(MEASURES)}")
    return await MEASURES[name][0](sessions, q)

