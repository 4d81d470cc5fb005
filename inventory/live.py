"""The live state in Redis: each unit's counts, the global seq and the event stream.

Every change goes through one Lua script, so checking the invariant, taking the next seq,
writing the unit and appending the stream entry `<seq>-0` happen as one step. Seqs in the
stream are therefore contiguous, which is how a resuming client's gap is detected.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from inventory.errors import (
    Conflict,
    Invalid,
    LiveStateUnavailable,
    NoCapacity,
    NotFound,
    NotYourUnit,
)
from inventory.model import UnitState, conflict_message

UNIT_FIELDS = (
    "available", "held", "waitlist", "capacity", "discharges", "updated_at",
    "updated_by", "source", "seq", "note", "program", "org",
)


def lua(name: str) -> str:
    return files("inventory.lua").joinpath(f"{name}.lua").read_text()


# Seqs are Redis integers and stream ids: anything larger is no seq of ours.
MAX_SEQ = 2**63 - 1

@dataclass(frozen=True, slots=True)
class Change:
    """One requested change to a unit; `None` keeps the current value."""

    op: str  # create | set | attest | capacity | stale
    unit_id: str
    at: datetime
    by: str
    source: str
    only_organization: str | None = None
    available: int | None = None
    capacity: int | None = None
    waitlist: int | None = None
    expected_discharges: list[dict[str, Any]] | None = None
    note: str = ""
    program_id: str = ""
    organization_id: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """A stream entry: one accepted change and the unit's state right after it."""

    seq: int
    op: str
    unit: UnitState
    hold_id: str = ""
    actor: str = ""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActiveHold:
    id: str
    unit_id: str
    expires_at: datetime


def _blank(value: int | None) -> str | int:
    return "" if value is None else value


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


def event_from_entry(entry_id: str, f: dict[str, str]) -> Event:
    seq = int(entry_id.split("-", 1)[0])
    unit = state_from_hash(f["unit"], {**f, "seq": str(seq), "updated_at": f["at"],
                                       "updated_by": f["by"]})
    return Event(seq=seq, op=f["op"], unit=unit, hold_id=f.get("hold", ""),
                 actor=f.get("actor", ""), at=_iso(f.get("event_at")))


def lua_error(error: ResponseError, unit_id: str) -> Exception:
    """Turn a script's error reply into the domain exception that explains it."""
    word, _, rest = str(error).partition(" ")
    if word == "NOTREADY":
        return LiveStateUnavailable("live availability is being rebuilt; try again in a moment")
    if word == "NOUNIT":
        return NotFound(f"unit {unit_id!r} does not exist")
    if word == "FORBIDDEN":
        return NotYourUnit(f"unit {unit_id!r} belongs to another organization")
    if word == "NEGATIVE":
        return Invalid("counts must be 0 or more")
    if word == "EXISTS":
        return Conflict(f"unit {unit_id!r} already exists")
    if word == "NOBED":
        held, waitlist = (int(x) for x in rest.split())
        why = f"{held} held for clients on the way" + (f", {waitlist} on the waitlist"
                                                         if waitlist else "")
        return NoCapacity(f"no bed is free in unit {unit_id!r} right now ({why})")
    if word == "NOHOLD":
        return Conflict("this hold is no longer active (admitted, released or expired)")
    if word == "NOTDUE":
        return Conflict("this hold has not expired yet")
    if word == "CONFLICT":
        available, held, capacity = (int(x) for x in rest.split())
        return NoCapacity(conflict_message(available, held, capacity))
    return error


class LiveStore:
    """Reads and atomically changes the live state under one key prefix."""

    def __init__(self, redis: Redis, prefix: str, stream_max_events: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream_max_events = stream_max_events
        self.seq_key = prefix + "seq"
        self.stream_key = prefix + "events"
        self.ready_key = prefix + "ready"
        self.units_key = prefix + "units"
        self.expiry_key = prefix + "hold_expiry"
        self._change = redis.register_script(lua("change"))
        self._hold = redis.register_script(lua("hold"))
        self._end_hold = redis.register_script(lua("end_hold"))

    def unit_key(self, unit_id: str) -> str:
        return f"{self.prefix}unit:{unit_id}"

    def hold_keys(self, unit_id: str, hold_id: str) -> list[str]:
        return [self.unit_key(unit_id), self.seq_key, self.stream_key, self.ready_key,
                f"{self.prefix}unit_holds:{unit_id}", self.expiry_key,
                f"{self.prefix}hold:{hold_id}"]

    async def _run(self, script: Any, keys: list[str], args: list[Any], unit_id: str) -> Any:
        try:
            return await script(keys=keys, args=args)
        except ResponseError as error:
            raise lua_error(error, unit_id) from error
        except RedisError as error:
            raise LiveStateUnavailable(f"live store unreachable: {error}") from error

    async def grant_hold(self, hold_id: str, unit_id: str, expires_at: datetime,
                         at: datetime, actor: str) -> list[int]:
        """Take one free bed for a hold; returns [seq, available, held, waitlist, capacity].
        Raises NoCapacity when no bed is free."""
        return await self._run(
            self._hold, self.hold_keys(unit_id, hold_id),
            [hold_id, int(expires_at.timestamp() * 1000), at.isoformat(), actor,
             self.stream_max_events, unit_id], unit_id)

    async def end_hold(self, hold_id: str, unit_id: str, op: str, at: datetime, actor: str
                       ) -> list[int]:
        """Admit, release or expire an active hold; returns the counts as `grant_hold`."""
        return await self._run(
            self._end_hold, self.hold_keys(unit_id, hold_id),
            [hold_id, op, int(at.timestamp() * 1000), at.isoformat(), actor,
             self.stream_max_events, unit_id], unit_id)

    async def due_holds(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(hold id, unit id) of active holds whose expiry has passed."""
        ids = await self.redis.zrangebyscore(self.expiry_key, "-inf",
                                             int(now.timestamp() * 1000), start=0, num=limit)
        async with self.redis.pipeline(transaction=False) as pipe:
            for hold_id in ids:
                pipe.hget(f"{self.prefix}hold:{hold_id}", "unit")
            units = await pipe.execute()
        return [(h, u) for h, u in zip(ids, units) if u]

    async def active_hold_ids(self, unit_id: str) -> set[str]:
        return set(await self.redis.smembers(f"{self.prefix}unit_holds:{unit_id}"))

    async def apply(self, change: Change) -> UnitState:
        """Apply `change` atomically; raises a domain error and changes nothing if refused."""
        new_discharges = (
            "" if change.expected_discharges is None
            else orjson.dumps(change.expected_discharges).decode()
        )
        (seq, available, held, waitlist, capacity, discharges, program, org, at, by, source,
         note) = await self._run(
            self._change,
            [self.unit_key(change.unit_id), self.seq_key, self.stream_key, self.ready_key,
             self.units_key],
            [change.op, self.stream_max_events, change.at.isoformat(), change.by,
             change.source, change.only_organization or "", _blank(change.available),
             _blank(change.capacity), _blank(change.waitlist), new_discharges, change.note,
             change.program_id, change.organization_id, change.unit_id],
            change.unit_id)
        return UnitState(
            id=change.unit_id, program_id=program, organization_id=org,
            available=available, held=held, waitlist=waitlist, capacity=capacity,
            updated_at=_iso(at), updated_by=by, source=source, seq=seq, note=note,
            expected_discharges=orjson.loads(discharges),
        )

    async def units(self, unit_ids: Iterable[str]) -> dict[str, UnitState]:
        """Current states of the given units; unknown ids are left out."""
        ids = list(unit_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for unit_id in ids:
                pipe.hgetall(self.unit_key(unit_id))
            hashes = await pipe.execute()
        return {uid: state_from_hash(uid, h) for uid, h in zip(ids, hashes) if h}

    async def snapshot(self) -> tuple[int, list[UnitState]]:
        """Every unit and the seq they reflect, read in one transaction."""
        ids = sorted(await self.redis.smembers(self.units_key))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.seq_key)
            for unit_id in ids:
                pipe.hgetall(self.unit_key(unit_id))
            seq, *hashes = await pipe.execute()
        return int(seq or 0), [state_from_hash(u, h) for u, h in zip(ids, hashes) if h]

    async def current_seq(self) -> int:
        return int(await self.redis.get(self.seq_key) or 0)

    async def events_after(self, after: int, limit: int = 1000) -> list[Event] | None:
        """Up to `limit` events with seq > `after`, in order; None when some of them are no
        longer in the stream (trimmed, or lost with Redis), so the caller needs a snapshot."""
        entries = await self.redis.xrange(self.stream_key, min=f"{after + 1}-0", count=limit)
        if entries:
            first = int(entries[0][0].split("-", 1)[0])
            return [event_from_entry(i, f) for i, f in entries] if first == after + 1 else None
        return [] if after == await self.current_seq() else None

    async def read_new(self, last_id: str, block_ms: int, count: int = 500) -> list[Event]:
        """Block up to `block_ms` for stream entries after `last_id` (fan-out reader)."""
        reply = await self.redis.xread({self.stream_key: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        return [event_from_entry(i, f) for i, f in reply[0][1]]

    async def last_stream_id(self) -> str:
        info = await self.redis.xrevrange(self.stream_key, count=1)
        return info[0][0] if info else "0-0"

    # Readiness and rebuild -------------------------------------------------------------

    async def epoch(self) -> str | None:
        """The id of the rebuild the live state came from; None while Redis is empty."""
        return await self.redis.get(self.ready_key)

    async def try_lock(self, name: str, seconds: float) -> str | None:
        """A cluster-wide lock that expires by itself if its holder dies."""
        token = secrets.token_hex(8)
        ok = await self.redis.set(self.prefix + "lock:" + name, token, nx=True,
                                  px=int(seconds * 1000))
        return token if ok else None

    async def unlock(self, name: str, token: str) -> None:
        key = self.prefix + "lock:" + name
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            if await pipe.get(key) == token:
                pipe.multi()
                pipe.delete(key)
                await pipe.execute()

    async def restore(self, states: list[UnitState], holds: list[ActiveHold],
                      seq_floor: int) -> str:
        """Load `states` and active `holds` as the live state and mark it ready, in one
        transaction."""
        epoch = secrets.token_hex(8)
        keep = {s.id for s in states}
        gone = [u for u in await self.redis.smembers(self.units_key) if u not in keep]
        old_holds = [k async for k in self.redis.scan_iter(match=f"{self.prefix}hold:*")]
        old_sets = [k async for k in self.redis.scan_iter(match=f"{self.prefix}unit_holds:*")]
        async with self.redis.pipeline(transaction=True) as pipe:
            for unit_id in gone:
                pipe.delete(self.unit_key(unit_id))
            for key in (*old_holds, *old_sets, self.units_key, self.expiry_key):
                pipe.delete(key)
            for hold in holds:
                expires = int(hold.expires_at.timestamp() * 1000)
                pipe.sadd(f"{self.prefix}unit_holds:{hold.unit_id}", hold.id)
                pipe.zadd(self.expiry_key, {hold.id: expires})
                pipe.hset(f"{self.prefix}hold:{hold.id}",
                          mapping={"unit": hold.unit_id, "expires": expires})
            for s in states:
                pipe.hset(self.unit_key(s.id), mapping={
                    "available": s.available, "held": s.held, "waitlist": s.waitlist,
                    "capacity": s.capacity,
                    "discharges": orjson.dumps(s.expected_discharges).decode(),
                    "updated_at": s.updated_at.isoformat() if s.updated_at else "",
                    "updated_by": s.updated_by, "source": s.source, "seq": s.seq,
                    "note": s.note, "program": s.program_id, "org": s.organization_id,
                })
                pipe.sadd(self.units_key, s.id)
            pipe.set(self.seq_key, seq_floor)
            pipe.set(self.ready_key, epoch)
            await pipe.execute()
        return epoch

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False
