"""Unmet demand: what searches and match requests asked for, and whether they found a bed.

Recording must not slow a search, so a request only appends to this process's bounded outbox;
one task per process turns those into small JSON summaries and pushes them, in batches, onto
a bounded Redis list; `drain` (a scheduled job, or any measure asking about demand) moves the
list into SQL in batches. Nothing names who searched or for
whom: levels of care, coarse needs (age in ten-year bands), the area, and counts. A search's
free text (`q`) is never kept, and its location only long enough to name the nearest area.

The list keeps the newest `MAX_PENDING` summaries: if nothing drains it for that long, the
oldest are dropped (a gap in analytics, never a slower search). Summaries still in Redis when
an embedded Redis stops are lost for the same reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.directory import ProgramInfo
from inventory.history import NO_AREA
from inventory.history_records import ALL_AREAS, DemandEntry
from inventory.keys import Keys
from inventory.model import CONTROL
from inventory.search import Filters, Result, distance_km

log = logging.getLogger(__name__)
MAX_PENDING = 100_000
BATCH = 5_000
NEEDS = ("gender", "payer", "language", "mat", "wheelchair", "pets", "co_occurring",
         "involuntary", "secure", "harm_reduction", "telehealth", "reentry", "homeless_priority")
MAX_BUFFERED = 10_000
PUSH_BATCH = 500


def age_band(age: int | None) -> str | None:
    return None if age is None else f"{age // 10 * 10}-{age // 10 * 10 + 9}"


def coarse_needs(values: dict[str, Any]) -> dict[str, Any]:
    """The needs worth counting, none of them identifying on its own."""
    kept = {k: values.get(k) for k in NEEDS if values.get(k) is not None
            and not (isinstance(values[k], str) and CONTROL.search(values[k]))}
    band = age_band(values.get("age"))
    if band:
        kept["age_band"] = band
    return kept


class Outbox:
    """This process's recorded requests on their way to Redis: a request only appends to a
    bounded deque (at most MAX_BUFFERED; when full the oldest is dropped: a gap in analytics,
    never a slower search). `run`, a long-lived task under the process's supervisor,
    summarises and pushes them in batches over a single connection. One per System, owned by
    it; `close` pushes what is left (bounded) at shutdown."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = Keys(prefix).demand
        self.items: deque[Callable[[], dict[str, Any]]] = deque(maxlen=MAX_BUFFERED)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, summary: Callable[[], dict[str, Any]]) -> None:
        self.items.append(summary)
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Push what requests recorded, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            if not self.items:
                self._idle.set()

    async def flush(self) -> None:
        while self.items:
            batch = [self.items.popleft() for _ in range(min(len(self.items), PUSH_BATCH))]
            try:
                values = [json.dumps(make(), separators=(",", ":")) for make in batch]
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.rpush(self.key, *values)
                    pipe.ltrim(self.key, -MAX_PENDING, -1)
                    await pipe.execute()
            except Exception as error:  # noqa: BLE001 - analytics must never break a search
                log.warning("%d searches not recorded for analytics: %s", len(batch), error)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until what was recorded so far is pushed (tests; before a drain)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            pass

    async def close(self, timeout: float) -> None:
        """Push what is left, giving up after `timeout` seconds."""
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.warning("%d searches not recorded for analytics: shutting down",
                        len(self.items))


def per_level(levels: Sequence[str], found: Sequence[tuple[str, int]]) -> dict[str, list[int]]:
    """level -> [programs shown, programs with a bed]; `*` when no level was asked for."""
    counts = {level: [0, 0] for level in (levels or (ALL_AREAS,))}
    for level, beds in found:
        for key in (level, ALL_AREAS):
            if key in counts:
                counts[key][0] += 1
                counts[key][1] += beds > 0
    return counts


def note_search(outbox: Outbox, filters: Filters, results: list[Result],
                now: datetime) -> None:
    """Record one search: per level asked for, how many programs matched, how many had a bed.
    Costs the request one deque append; the summary is made later, off the request path."""

    def summary() -> dict[str, Any]:
        shown = [(r.program.level_of_care, r.available) for r in results]
        needs = coarse_needs({k: getattr(filters, k) for k in (*NEEDS, "age")})
        needs["available_only"] = filters.available_only
        return {"kind": "search", "at": now.isoformat(),
                "levels": per_level(filters.level_of_care, shown),
                "near": _rounded(filters.near), "needs": needs}

    outbox.put(summary)


def note_match(outbox: Outbox, levels: list[str], options: Sequence[Any],
               needs: dict[str, Any], now: datetime) -> None:
    """Record one match request: per target level, options shown and options with a bed now
    or expected by the time the client is ready."""

    def summary() -> dict[str, Any]:
        shown = [(o.program.level_of_care, o.available_now + o.expected_by_ready_at)
                 for o in options]
        location = needs.get("location") or {}
        near = (location["lat"], location["lon"]) if location else None
        return {"kind": "match", "at": now.isoformat(), "levels": per_level(levels, shown),
                "near": _rounded(near), "needs": coarse_needs(needs)}

    outbox.put(summary)


def _rounded(near: tuple[float, float] | None) -> list[float] | None:
    return [round(near[0], 2), round(near[1], 2)] if near else None


def area_centres(programs: dict[str, ProgramInfo]) -> dict[str, tuple[float, float]]:
    """Each area's centre: the mean position of its programs."""
    sums: dict[str, list[float]] = {}
    for p in programs.values():
        if p.area and p.latitude is not None and p.longitude is not None:
            acc = sums.setdefault(p.area, [0.0, 0.0, 0.0])
            acc[0] += p.latitude
            acc[1] += p.longitude
            acc[2] += 1
    return {area: (a / n, b / n) for area, (a, b, n) in sums.items()}


def nearest_area(near: Sequence[float] | None, centres: dict[str, tuple[float, float]]) -> str:
    if not near or not centres:
        return NO_AREA if near else ALL_AREAS
    point = (float(near[0]), float(near[1]))
    return min(centres, key=lambda area: distance_km(point, centres[area]))


def entries(summary: dict[str, Any], centres: dict[str, tuple[float, float]]
            ) -> list[DemandEntry]:
    request_id = secrets.token_hex(8)
    at = datetime.fromisoformat(summary["at"])
    area = nearest_area(summary.get("near"), centres)
    return [DemandEntry(at=at, kind=summary["kind"], request_id=request_id, level=level,
                        area=area, matched=shown, found=beds > 0, filters=summary["needs"])
            for level, (shown, beds) in summary["levels"].items()]


async def drain(redis: Redis, prefix: str, sessions: async_sessionmaker,
                programs: dict[str, ProgramInfo]) -> int:
    """Move recorded summaries from Redis into SQL; returns how many requests."""
    centres = area_centres(programs)
    key = Keys(prefix).demand
    moved = 0
    while True:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, BATCH - 1)
            pipe.ltrim(key, BATCH, -1)
            raw, _ = await pipe.execute()
        if not raw:
            return moved
        rows = [row for item in raw for row in entries(json.loads(item), centres)]
        async with sessions() as session, session.begin():
            session.add_all(rows)
        moved += len(raw)
        if len(raw) < BATCH:
            return moved
