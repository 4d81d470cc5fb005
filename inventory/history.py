"""Availability over time, from the audit log: hourly roll-ups per level of care and area.

Every accepted change is an audit row holding a unit's counts after it. Replaying those rows
gives each unit's counts as a step function of time; summing units gives a level's or an
area's. A month of replay is too slow to repeat per question, so `roll_up` replays each
finished UTC hour once and keeps, per (level, area) and per (level, all areas), the integral
of available, held and capacity beds over the hour and the seconds the group had no bed
available (`AvailabilityHour`). It also keeps every unit's counts at the end of each run
(`UnitSnapshot`), where the next run's replay starts. Integrals add up across hours and
groups, so any day, week, level or the whole system is a sum of rows. Zero-time does not add
across groups (a level is at zero only when all its areas are at once), which is why the
all-areas rows are kept separately.

The area of a unit is its program's `area` field in the directory (a neighbourhood), and its
level is its program's current level of care.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory.history_records import ALL_AREAS, AvailabilityHour, UnitSnapshot
from inventory.records import AuditEntry, Program, Unit

HOUR = timedelta(hours=1)
NO_AREA = "unknown"
# Hours finished less than this long ago are not rolled up yet: an audit row commits a few
# milliseconds after its `at`, so a just-finished hour may still be receiving rows.
SETTLE = timedelta(minutes=2)
CHUNK_HOURS = 24 * 7


def floor_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Hour(NamedTuple):
    """One row of `AvailabilityHour`, as a plain tuple (month-long reads stay cheap)."""

    hour: datetime
    level: str
    area: str
    available_seconds: float
    held_seconds: float
    capacity_seconds: float
    zero_seconds: float
    observed_seconds: float


HOUR_COLUMNS = [getattr(AvailabilityHour, name) for name in Hour._fields]


@dataclass(slots=True)
class UnitCounts:
    """One unit's counts as of an audit entry (`seq`), as history replays them."""
    available: int = 0
    held: int = 0
    capacity: int = 0
    seq: int = 0


@dataclass(slots=True)
class Group:
    """A sum of units whose integrals grow between changes; `since` is the last accounting."""

    available: int = 0
    held: int = 0
    capacity: int = 0
    since: datetime | None = None
    available_s: float = 0.0
    held_s: float = 0.0
    capacity_s: float = 0.0
    zero_s: float = 0.0
    observed_s: float = 0.0

    def advance(self, to: datetime) -> None:
        if self.since is not None and to > self.since:
            dt = (to - self.since).total_seconds()
            self.available_s += self.available * dt
            self.held_s += self.held * dt
            self.capacity_s += self.capacity * dt
            if self.capacity > 0:
                self.observed_s += dt
                if self.available == 0:
                    self.zero_s += dt
        self.since = to

    def take_row(self, hour: datetime, level: str, area: str) -> Hour | None:
        row = None
        if self.observed_s > 0:
            row = Hour(hour, level, area, self.available_s, self.held_s, self.capacity_s,
                       self.zero_s, self.observed_s)
        self.available_s = self.held_s = self.capacity_s = self.zero_s = self.observed_s = 0.0
        return row


@dataclass
class Replay:
    """Units' counts replayed through time, summed into (level, area) groups."""

    placement: dict[str, tuple[str, str]]  # unit id -> (level, area)
    units: dict[str, UnitCounts] = field(default_factory=dict)
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)

    def start(self, states: dict[str, UnitCounts], at: datetime) -> None:
        self.units = dict(states)
        self.groups = {}
        for unit_id, counts in states.items():
            for key in self._keys(unit_id):
                group = self.groups.setdefault(key, Group(since=at))
                group.available += counts.available
                group.held += counts.held
                group.capacity += counts.capacity

    def _keys(self, unit_id: str) -> tuple[tuple[str, str], ...]:
        where = self.placement.get(unit_id)
        if where is None:
            return ()
        return (where, (where[0], ALL_AREAS))

    def apply(self, entry: AuditEntry) -> None:
        old = self.units.get(entry.unit_id, UnitCounts())
        new = UnitCounts(entry.available, entry.held, entry.capacity, entry.seq)
        self.units[entry.unit_id] = new
        for key in self._keys(entry.unit_id):
            group = self.groups.setdefault(key, Group(since=entry.at))
            group.advance(entry.at)
            group.available += new.available - old.available
            group.held += new.held - old.held
            group.capacity += new.capacity - old.capacity

    def close_hour(self, hour: datetime) -> list[Hour]:
        end = hour + HOUR
        rows = []
        for (level, area), group in self.groups.items():
            group.advance(end)
            row = group.take_row(hour, level, area)
            if row is not None:
                rows.append(row)
        return rows


def replay_hours(replay: Replay, entries: Sequence[AuditEntry], start: datetime,
                 end: datetime) -> list[Hour]:
    """Hourly rows for [start, end) (whole hours), replaying `entries` (sorted by time and
    seq, all within the range) from the state `replay` was started with at `start`."""
    rows: list[Hour] = []
    hour, i = start, 0
    while hour < end:
        boundary = hour + HOUR
        while i < len(entries) and entries[i].at < boundary:
            replay.apply(entries[i])
            i += 1
        rows.extend(replay.close_hour(hour))
        hour = boundary
    return rows


async def placements(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """Unit id -> (level of care, area) from the directory."""
    rows = await session.execute(select(Unit.id, Program.level_of_care, Program.area)
                                 .join(Program, Program.id == Unit.program_id))
    return {uid: (level, area or NO_AREA) for uid, level, area in rows}


async def entries_between(session: AsyncSession, start: datetime, end: datetime,
                          unit_ids: Iterable[str] | None = None) -> list[AuditEntry]:
    query = (select(AuditEntry).where(AuditEntry.at >= start, AuditEntry.at < end)
             .order_by(AuditEntry.at, AuditEntry.seq))
    if unit_ids is not None:
        query = query.where(AuditEntry.unit_id.in_(list(unit_ids)))
    return list((await session.execute(query)).scalars())


async def states_at(session: AsyncSession, at: datetime,
                    unit_ids: Iterable[str] | None = None) -> dict[str, UnitCounts]:
    """Every unit's counts just before `at`: the latest snapshot at or before it, then the
    audit rows after the snapshot replayed (the whole log when there is no snapshot)."""
    wanted = set(unit_ids) if unit_ids is not None else None
    taken = (await session.execute(select(func.max(UnitSnapshot.taken_at))
                                   .where(UnitSnapshot.taken_at <= at))).scalar()
    states: dict[str, UnitCounts] = {}
    since = datetime(1970, 1, 1, tzinfo=UTC)
    if taken is not None:
        since = taken
        snaps = await session.execute(select(UnitSnapshot).where(UnitSnapshot.taken_at == taken))
        for s in snaps.scalars():
            if wanted is None or s.unit_id in wanted:
                states[s.unit_id] = UnitCounts(s.available, s.held, s.capacity, s.seq)
    for entry in await entries_between(session, since, at, wanted):
        states[entry.unit_id] = UnitCounts(entry.available, entry.held, entry.capacity, entry.seq)
    return states


async def rolled_until(session: AsyncSession) -> datetime | None:
    """The end of the last rolled-up hour (where the latest snapshot was taken)."""
    return (await session.execute(select(func.max(UnitSnapshot.taken_at)))).scalar()


async def first_change(session: AsyncSession) -> datetime | None:
    return (await session.execute(select(func.min(AuditEntry.at)))).scalar()


async def roll_up(sessions: async_sessionmaker, now: datetime) -> int:
    """Roll up every finished hour not rolled up yet; returns how many hours. Safe to run
    from several processes: a chunk another run wrote first is skipped."""
    done = 0
    while True:
        async with sessions() as session:
            cursor = await rolled_until(session)
            if cursor is None:
                first = await first_change(session)
                if first is None:
                    return done
                cursor = floor_hour(first)
            end = min(floor_hour(now - SETTLE), cursor + CHUNK_HOURS * HOUR)
            if end <= cursor:
                return done
            replay = Replay(await placements(session))
            replay.start(await states_at(session, cursor), cursor)
            rows = replay_hours(replay, await entries_between(session, cursor, end), cursor, end)
        snapshot = [{"taken_at": end, "unit_id": uid, "seq": c.seq, "available": c.available,
                     "held": c.held, "capacity": c.capacity} for uid, c in replay.units.items()]
        try:
            async with sessions() as session, session.begin():
                if rows:
                    await session.execute(insert(AvailabilityHour),
                                          [r._asdict() for r in rows])
                if snapshot:
                    await session.execute(insert(UnitSnapshot), snapshot)
        except IntegrityError:
            return done  # another process rolled this chunk up meanwhile
        done += int((end - cursor) / HOUR)


async def pending_hours(sessions: async_sessionmaker, now: datetime) -> list[Hour]:
    """Rows for the hours after the last roll-up, up to and including the current (partial)
    hour, computed in memory and not stored. The current hour is measured up to `now`."""
    async with sessions() as session:
        cursor = await rolled_until(session)
        if cursor is None:
            first = await first_change(session)
            if first is None:
                return []
            cursor = floor_hour(first)
        end = floor_hour(now) + HOUR
        replay = Replay(await placements(session))
        replay.start(await states_at(session, cursor), cursor)
        entries = await entries_between(session, cursor, now)
    rows = replay_hours(replay, entries, cursor, floor_hour(now))
    for entry in entries:
        if entry.at >= floor_hour(now):
            replay.apply(entry)
    for group in replay.groups.values():
        group.advance(now)
    rows += [row for (level, area), g in replay.groups.items()
             if (row := g.take_row(floor_hour(now), level, area)) is not None]
    return [r for r in rows if r.hour < end]


async def hourly(sessions: async_sessionmaker, start: datetime, end: datetime, now: datetime,
                 levels: Sequence[str] = (), area: str | None = ALL_AREAS) -> list[Hour]:
    """Hourly rows overlapping [start, end): stored ones, plus those not rolled up yet.
    `area`: one area, `*` (all areas together), or None for every area separately."""
    await roll_up(sessions, now)
    query = select(*HOUR_COLUMNS).where(AvailabilityHour.hour >= floor_hour(start),
                                        AvailabilityHour.hour < end)
    if levels:
        query = query.where(AvailabilityHour.level.in_(list(levels)))
    query = query.where(AvailabilityHour.area == area if area is not None
                        else AvailabilityHour.area != ALL_AREAS)
    async with sessions() as session:
        stored = [Hour(*row) for row in (await session.execute(query)).all()]
        cursor = await rolled_until(session)
    if cursor is not None and cursor >= end:
        return stored
    wanted = (lambda r: r.area == area) if area is not None else (
        lambda r: r.area != ALL_AREAS)
    fresh = await pending_hours(sessions, now)
    return stored + [r for r in fresh if floor_hour(start) <= r.hour < end and wanted(r)
                     and (not levels or r.level in levels)]


async def forget_from(sessions: async_sessionmaker, start: datetime) -> None:
    """Drop roll-ups and snapshots from `start` on (after rows were written into the past,
    as the demo history does), so the next roll-up recomputes them."""
    async with sessions() as session, session.begin():
        await session.execute(delete(UnitSnapshot).where(UnitSnapshot.taken_at > start))
        cursor = await rolled_until(session)
        floor = cursor or datetime(1970, 1, 1, tzinfo=UTC)
        await session.execute(delete(AvailabilityHour).where(AvailabilityHour.hour >= floor))
