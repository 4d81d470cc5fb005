"""The live state in Redis: each unit's counts, the global seq and the event stream.

Every change goes through one Lua script (`inventory/scripts.py`), so checking the
invariant, taking the next seq, writing the unit and appending the stream entry `<seq>-0`
happen as one step. Seqs in the stream are therefore contiguous, which is how a resuming
client's gap is detected. Key names come from `inventory/keys.py`.

The Redis client is made with decode_responses=True: every reply is str, and the casts
below say so to the type checker (redis-py types replies as `bytes | str`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from inventory.change_queue import ChangeQueue
from inventory.errors import LiveStateUnavailable
from inventory.keys import Keys
from inventory.model import UnitState
from inventory.scripts import Change, Counts, HoldEnd, HoldGrant, Scripts

# `Change` lives beside its script in scripts.py; callers import it from here, the store.
__all__ = ["MAX_SEQ", "ActiveHold", "Change", "Event", "LiveStore"]

# Seqs are Redis integers and stream ids: anything larger is no seq of ours.
MAX_SEQ = 2**63 - 1

# A stream entry as redis-py returns it: (id, fields).
Entry = tuple[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Event:
    """A stream entry: one accepted change and the unit's state right after it."""

    seq: int
    op: str
    unit: UnitState
    hold_id: str = ""
    actor: str = ""
    at: datetime | None = None
    # The directory's version when the change was applied (`change.lua`); None for hold
    # events, whose scripts do not read it.
    directory_version: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveHold:
    """A hold the live state must count, as the rebuild reads it from SQL."""

    id: str
    unit_id: str
    expires_at: datetime


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def state_from_hash(unit_id: str, h: dict[str, str]) -> UnitState:
    return UnitState(
        id=unit_id,
        program_id=h.get("program", ""),
        organization_id=h.get("org", ""),
        available=int(h["available"]),
        held=int(h["held"]),
        waitlist=int(h["waitlist"]),
        capacity=int(h["capacity"]),
        updated_at=_iso(h.get("updated_at")),
        updated_by=h.get("updated_by", ""),
        source=h.get("source", ""),
        seq=int(h.get("seq", 0)),
        note=h.get("note", ""),
        expected_discharges=orjson.loads(h.get("discharges") or "[]"),
    )


def event_from_entry(entry_id: str, fields: dict[str, str]) -> Event:
    """A stream entry as an Event. The scripts write an entry's fields as one JSON object
    under `e` (one field to parse rather than sixteen); an entry with separate fields was
    written before that and is read the same way."""
    f: dict[str, Any] = orjson.loads(fields["e"]) if "e" in fields else fields
    seq = int(entry_id.split("-", 1)[0])
    unit = UnitState(
        id=f["unit"], program_id=f.get("program", ""), organization_id=f.get("org", ""),
        available=int(f["available"]), held=int(f["held"]), waitlist=int(f["waitlist"]),
        capacity=int(f["capacity"]), updated_at=_iso(f["at"]), updated_by=f["by"],
        source=f.get("source", ""), seq=seq, note=f.get("note", ""),
        expected_discharges=orjson.loads(f.get("discharges") or "[]"))
    return Event(seq=seq, op=f["op"], unit=unit, hold_id=f.get("hold", ""),
                 actor=f.get("actor", ""), at=_iso(f.get("event_at")),
                 directory_version=f.get("dir"))


class LiveStore:
    """Reads and atomically changes the live state under one key prefix."""

    def __init__(self, redis: Redis, keys: Keys, stream_max_events: int) -> None:
        self.redis = redis
        self.keys = keys
        self._scripts = Scripts(redis, keys, stream_max_events)
        self._queue = ChangeQueue(self._scripts.changes)

    # Writes: each atomic, in one script ----------------------------------------------

    async def apply(self, change: Change) -> UnitState:
        """Apply `change` atomically; raises a domain error and changes nothing if refused.
        Changes from concurrent callers share one script call (inventory/change_queue.py)."""
        return await self._queue.apply(change)

    async def apply_many(self, changes: Sequence[Change]) -> list[UnitState | Exception]:
        """Apply each change atomically, all in one round trip; each answer is the unit's new
        state or the domain error that refused that change alone."""
        return await self._scripts.changes(changes)

    async def grant_hold(self, grant: HoldGrant) -> Counts:
        """Take one free bed for a hold; NoCapacity when no bed is free."""
        return await self._scripts.grant_hold(grant)

    async def end_hold(self, end: HoldEnd) -> Counts:
        """Admit, release or expire an active hold; Conflict when it is no longer active."""
        return await self._scripts.end_hold(end)

    # Reads ------------------------------------------------------------------------------

    async def due_holds(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(hold id, unit id) of active holds whose expiry has passed."""
        ids = cast(list[str], await self.redis.zrangebyscore(
            self.keys.hold_expiry, "-inf", int(now.timestamp() * 1000), start=0, num=limit))
        async with self.redis.pipeline(transaction=False) as pipe:
            for hold_id in ids:
                pipe.hget(self.keys.hold(hold_id), "unit")
            units = cast(list[str | None], await pipe.execute())
        return [(h, u) for h, u in zip(ids, units) if u]

    async def active_hold_ids(self, unit_id: str) -> set[str]:
        return cast(set[str], await self.redis.smembers(self.keys.unit_holds(unit_id)))

    async def units(self, unit_ids: Iterable[str]) -> dict[str, UnitState]:
        """Current states of the given units; unknown ids are left out."""
        ids = list(unit_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for unit_id in ids:
                pipe.hgetall(self.keys.unit(unit_id))
            hashes = cast(list[dict[str, str]], await pipe.execute())
        return {uid: state_from_hash(uid, h) for uid, h in zip(ids, hashes) if h}

    async def snapshot(self) -> tuple[int, list[UnitState]]:
        """Every unit and the seq they reflect, read in one transaction."""
        ids = sorted(cast(set[str], await self.redis.smembers(self.keys.units)))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.seq)
            for unit_id in ids:
                pipe.hgetall(self.keys.unit(unit_id))
            seq, *hashes = await pipe.execute()
        return int(seq or 0), [state_from_hash(u, h) for u, h in zip(ids, hashes) if h]

    async def current_seq(self) -> int:
        return int(cast(str | None, await self.redis.get(self.keys.seq)) or 0)

    async def events_after(self, after: int, limit: int = 1000) -> list[Event] | None:
        """Up to `limit` events with seq > `after`, in order; None when some of them are no
        longer in the stream (trimmed, or lost with Redis), so the caller needs a snapshot."""
        entries = cast(list[Entry], await self.redis.xrange(
            self.keys.stream, min=f"{after + 1}-0", count=limit))
        if entries:
            first = int(entries[0][0].split("-", 1)[0])
            return [event_from_entry(i, f) for i, f in entries] if first == after + 1 else None
        return [] if after == await self.current_seq() else None

    async def read_new(self, last_id: str, block_ms: int, count: int = 500) -> list[Event]:
        """Block up to `block_ms` for stream entries after `last_id` (fan-out reader)."""
        reply = cast(list[tuple[str, list[Entry]]], await self.redis.xread(
            {self.keys.stream: last_id}, count=count, block=block_ms))
        if not reply:
            return []
        return [event_from_entry(i, f) for i, f in reply[0][1]]

    # Readiness and rebuild --------------------------------------------------------------

    async def epoch(self) -> str | None:
        """The id of the rebuild the live state came from; None while Redis is empty."""
        return cast(str | None, await self.redis.get(self.keys.epoch))

    async def rebuild_floor(self) -> int | None:
        """The seq the current live state was rebuilt at (every seq handed out before that
        rebuild is at or below it); None while the live state is not ready."""
        try:
            epoch, floor = await self.redis.mget(self.keys.epoch, self.keys.rebuild_floor)
        except RedisError as error:
            raise LiveStateUnavailable(f"live store unreachable: {error}") from error
        return None if epoch is None else int(floor or 0)

    async def catch_up(self, state: UnitState, holds: Sequence[ActiveHold]) -> int:
        """Make the recorded `state` and active `holds` the unit's live state unless the
        live unit already has that change or a later one (`catch_up.lua`): the new seq, or
        0 when nothing changed."""
        key = self.keys.unit(state.id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hget(key, "seq")
                pipe.smembers(self.keys.unit_holds(state.id))
                live_seq, live_holds = await pipe.execute()
            seq = await self._scripts.catch_up(
                state, [(h.id, h.expires_at) for h in holds], int(live_seq or 0),
                sorted(live_holds))
            if seq is not None:
                return seq

    async def restore(self, states: list[UnitState], holds: list[ActiveHold],
                      seq_floor: int) -> str:
        """Load `states` and active `holds` as the live state and mark it ready, in one
        transaction."""
        keys = self.keys
        epoch = secrets.token_hex(8)
        keep = {s.id for s in states}
        gone = [u for u in cast(set[str], await self.redis.smembers(keys.units))
                if u not in keep]
        old_holds = [k async for k in self.redis.scan_iter(match=keys.every_hold)]
        old_sets = [k async for k in self.redis.scan_iter(match=keys.every_unit_holds)]
        async with self.redis.pipeline(transaction=True) as pipe:
            for unit_id in gone:
                pipe.delete(keys.unit(unit_id))
            for key in (*old_holds, *old_sets, keys.units, keys.hold_expiry):
                pipe.delete(key)
            for hold in holds:
                expires = int(hold.expires_at.timestamp() * 1000)
                pipe.sadd(keys.unit_holds(hold.unit_id), hold.id)
                pipe.zadd(keys.hold_expiry, {hold.id: expires})
                pipe.hset(keys.hold(hold.id), mapping={"unit": hold.unit_id, "expires": expires})
            for s in states:
                pipe.hset(keys.unit(s.id), mapping={
                    "available": s.available, "held": s.held, "waitlist": s.waitlist,
                    "capacity": s.capacity,
                    "discharges": orjson.dumps(s.expected_discharges).decode(),
                    "updated_at": s.updated_at.isoformat() if s.updated_at else "",
                    "updated_by": s.updated_by, "source": s.source, "seq": s.seq,
                    "note": s.note, "program": s.program_id, "org": s.organization_id,
                })
                pipe.sadd(keys.units, s.id)
            pipe.set(keys.seq, seq_floor)
            pipe.set(keys.rebuild_floor, seq_floor)
            pipe.set(keys.epoch, epoch)
            await pipe.execute()
        return epoch

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False
