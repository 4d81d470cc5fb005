"""The live store's Lua scripts (`inventory/lua/`), each called through one typed method.

A script takes KEYS and ARGV by position and replies with a flat array by position. This
module is the only place that knows those positions: callers pass a dataclass with named
fields and get one back, and each script's header states the same contract in the same
order. A script's error reply is turned into the domain exception that explains it here too.

Each call is one EVALSHA (redis-py's `Script` loads a script again only when the server
answers NOSCRIPT, after a restart or SCRIPT FLUSH). Replies stay flat arrays rather than
cjson tables: cjson prints numbers with 14 significant digits, and a seq may be longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError, ResponseError

from inventory.errors import (
    Conflict,
    Invalid,
    LiveStateUnavailable,
    NoCapacity,
    NotFound,
    NotYourUnit,
    RateLimited,
)
from inventory.keys import Keys
from inventory.model import UnitState, conflict_message


@dataclass(frozen=True, slots=True)
class Budget:
    """A write budget charged by `change.lua` with the change it pays for, in the same step:
    the moving window the `limits` library keeps under `key` (web/rate_limits.py), so these
    writes and the library's share one budget, and an update costs one round trip."""

    key: str
    limit: int  # hits per window
    window_seconds: int
    now: float  # Unix seconds, as the library stamps its hits


@dataclass(frozen=True, slots=True)
class Change:
    """One requested change to a unit (`change.lua`); `None` keeps the current value."""

    op: str  # create | set | attest | capacity | stale
    unit_id: str
    at: datetime
    by: str
    source: str
    only_organization: str | None = None  # refuse unless the unit belongs to it
    available: int | None = None
    capacity: int | None = None
    waitlist: int | None = None
    expected_discharges: list[dict[str, Any]] | None = None
    note: str = ""
    program_id: str = ""  # create only
    organization_id: str = ""  # create only
    budget: Budget | None = None  # charged first; over it, the change is refused (RateLimited)


@dataclass(frozen=True, slots=True)
class HoldGrant:
    """Take one free bed of a unit for a new hold (`hold.lua`)."""

    hold_id: str
    unit_id: str
    expires_at: datetime
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class HoldEnd:
    """End an active hold (`end_hold.lua`): `admit` occupies the bed; `release` and
    `expire` free it (`expire` only once the hold is due at `at`)."""

    hold_id: str
    unit_id: str
    op: str  # admit | release | expire
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class Counts:
    """A unit's counts right after a hold changed them, and the seq of that change."""

    seq: int
    available: int
    held: int
    waitlist: int
    capacity: int


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _blank(value: int | None) -> str | int:
    return "" if value is None else value


def _change_args(change: Change) -> list[str | int]:
    """One change as `change.lua` reads it, by position."""
    discharges = ("" if change.expected_discharges is None
                  else orjson.dumps(change.expected_discharges).decode())
    budget = change.budget
    return [change.op, change.at.isoformat(), change.by, change.source,
            change.only_organization or "", _blank(change.available),
            _blank(change.capacity), _blank(change.waitlist), discharges, change.note,
            change.program_id, change.organization_id, change.unit_id,
            *((budget.limit, budget.window_seconds, repr(budget.now)) if budget
              else ("", "", ""))]


def _iso(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _counts(reply: list[Any]) -> Counts:
    seq, available, held, waitlist, capacity = reply
    return Counts(seq=seq, available=available, held=held, waitlist=waitlist,
                  capacity=capacity)


def _unit_state(unit_id: str, reply: list[Any]) -> UnitState:
    (seq, available, held, waitlist, capacity, discharges, program_id, organization_id,
     updated_at, updated_by, source, note) = reply
    return UnitState(
        id=unit_id, program_id=program_id, organization_id=organization_id,
        available=available, held=held, waitlist=waitlist, capacity=capacity,
        updated_at=_iso(updated_at), updated_by=updated_by, source=source, seq=seq,
        note=note, expected_discharges=orjson.loads(discharges),
    )


def script_error(error: ResponseError, unit_id: str) -> Exception:
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
    if word == "LIMITED":
        return RateLimited(int(rest))
    return error


async def _evalsha(script: AsyncScript, keys: list[str], args: list[str | int | bytes]) -> Any:
    """What `script(keys=keys, args=args)` does for a plain client, without its per-call
    `isinstance` test for a pipeline: a check against a runtime Protocol, 2% of a single
    update's CPU (docs/benchmarks.md). As there, a server that lost the script (a restart,
    SCRIPT FLUSH) is given it again and the call repeated."""
    client = script.registered_client
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        script.sha = await client.script_load(script.script)
        return await client.evalsha(script.sha, len(keys), *keys, *args)


def _source(name: str) -> str:
    return files("inventory.lua").joinpath(f"{name}.lua").read_text()


class Scripts:
    """The scripts registered on one client, under one key prefix. Every method is atomic
    (a script runs alone on the server), raises a domain error and changes nothing when the
    script refuses, and raises LiveStateUnavailable when Redis cannot be reached."""

    def __init__(self, redis: Redis, keys: Keys, stream_max_events: int) -> None:
        self.keys = keys
        self.stream_max_events = stream_max_events
        self._change = redis.register_script(_source("change"))
        self._hold = redis.register_script(_source("hold"))
        self._end_hold = redis.register_script(_source("end_hold"))
        self._catch_up = redis.register_script(_source("catch_up"))

    async def changes(self, changes: Sequence[Change]) -> list[UnitState | Exception]:
        """Apply each of `changes` (see `change.lua`) in one script call, each atomic on its
        own, in order (a unit named twice sees its first change before its second). Each
        answer is the unit's state right after its change or the domain error that refused
        it (and changed nothing); the others are applied regardless. Raises LiveStateUnavailable if Redis cannot be reached (when none or all
        may have been applied, as for any lost reply)."""
        if not changes:
            return []
        keys = self.keys
        replies = await self._call(
            self._change, changes[0].unit_id,
            [keys.seq, keys.stream, keys.epoch, keys.units, keys.directory_version,
             *(key for c in changes for key in (keys.unit(c.unit_id),
                                                c.budget.key if c.budget else keys.seq))],
            [self.stream_max_events, orjson.dumps([_change_args(c) for c in changes])])
        return [script_error(ResponseError(reply), change.unit_id) if isinstance(reply, str)
                else _unit_state(change.unit_id, reply)
                for change, reply in zip(changes, replies)]

    async def grant_hold(self, grant: HoldGrant) -> Counts:
        """Take one free bed (see `hold.lua`); NoCapacity when none is free."""
        reply = await self._call(
            self._hold, grant.unit_id, self._hold_keys(grant.unit_id, grant.hold_id),
            [grant.hold_id, _ms(grant.expires_at), grant.at.isoformat(), grant.actor,
             self.stream_max_events, grant.unit_id])
        return _counts(reply)

    async def end_hold(self, end: HoldEnd) -> Counts:
        """Admit, release or expire an active hold (see `end_hold.lua`)."""
        reply = await self._call(
            self._end_hold, end.unit_id, self._hold_keys(end.unit_id, end.hold_id),
            [end.hold_id, end.op, _ms(end.at), end.at.isoformat(), end.actor,
             self.stream_max_events, end.unit_id])
        return _counts(reply)

    async def catch_up(self, state: UnitState, holds: Sequence[tuple[str, datetime]],
                       live_seq: int, live_holds: Sequence[str]) -> int | None:
        """Make `state` (a recorded seq) and `holds` (id, expiry) the unit's live state if the
        live unit is older (see `catch_up.lua`), given the unit's `live_seq` and hold ids as
        just read. The new seq; 0 when the unit already has this change or a later one;
        None when it changed since it was read."""
        keys = self.keys
        recorded = orjson.dumps({
            "available": state.available, "held": state.held, "waitlist": state.waitlist,
            "capacity": state.capacity,
            "discharges": orjson.dumps(state.expected_discharges).decode(),
            "updated_at": state.updated_at.isoformat() if state.updated_at else "",
            "updated_by": state.updated_by, "source": state.source, "note": state.note,
            "program": state.program_id, "org": state.organization_id}).decode()
        reply = await self._call(
            self._catch_up, state.id,
            [keys.unit(state.id), keys.seq, keys.stream, keys.epoch, keys.unit_holds(state.id),
             keys.hold_expiry, keys.directory_version, keys.units,
             *(keys.hold(h) for h in live_holds), *(keys.hold(h) for h, _ in holds)],
            [state.seq, self.stream_max_events, state.id, recorded, live_seq, len(live_holds),
             *(x for h, expires in holds for x in (h, _ms(expires)))])
        seq = int(cast(int, reply))
        return None if seq < 0 else seq

    def _hold_keys(self, unit_id: str, hold_id: str) -> list[str]:
        keys = self.keys
        return [keys.unit(unit_id), keys.seq, keys.stream, keys.epoch,
                keys.unit_holds(unit_id), keys.hold_expiry, keys.hold(hold_id)]

    @staticmethod
    async def _call(script: AsyncScript, unit_id: str, keys: list[str],
                    args: list[str | int | bytes]) -> list[Any]:
        try:
            reply: list[Any] = await _evalsha(script, keys, args)
        except ResponseError as error:
            raise script_error(error, unit_id) from error
        except RedisError as error:
            raise LiveStateUnavailable(f"live store unreachable: {error}") from error
        return reply
