"""Changing availability: the live store decides, the audit log records, then we acknowledge.

Order matters for "nothing acknowledged is lost": a change is applied in Redis (atomically,
taking its seq), then written to the SQL audit log, and only then acknowledged. If SQL fails
the caller gets an error, never a success for a change the records do not hold. Should the
live state be rebuilt between the first two steps, the change is put back before it is
acknowledged (inventory/rebuild_fence.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory import audit
from inventory.actors import Actor
from inventory.errors import Invalid, InventoryError, LiveStateUnavailable
from inventory.live import Change, LiveStore
from inventory.locks import Locks
from inventory.model import UnitState, check_text
from inventory.privacy import check_note
from inventory.rebuild_fence import RebuildFence
from inventory.scripts import Budget

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
REBUILD_WAIT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class CountsUpdate:
    """One unit's new counts in a batch (`Availability.set_many`); None keeps the value."""

    unit_id: str
    available: int
    capacity: int | None = None
    waitlist: int | None = None
    expected_discharges: list[dict[str, Any]] | None = None
    note: str = ""


class Availability:
    """Availability operations shared by the REST API, the provider websocket and feeds."""

    def __init__(self, live: LiveStore, sessions: async_sessionmaker, clock: Clock,
                 seq_rebuild_gap: int, audit_log: audit.AuditWriter, locks: Locks) -> None:
        self.live = live
        self.locks = locks
        self.sessions = sessions
        self.audit_log = audit_log
        self.clock = clock
        self.seq_rebuild_gap = seq_rebuild_gap
        # The highest recorded seq seen (inventory/live_watch.py): Redis numbering a change
        # at or below it has lost acknowledged changes, so that change is not acknowledged.
        self.seq_floor = 0
        self.fence = RebuildFence(live, sessions, self.ensure_ready)

    async def set_availability(
        self, unit_id: str, actor: Actor, source: str, *, available: int,
        capacity: int | None = None, waitlist: int | None = None,
        expected_discharges: list[dict[str, Any]] | None = None, note: str = "",
        budget: Budget | None = None,
    ) -> UnitState:
        """A person's new counts (REST or the provider websocket); their note is checked for
        identifiers first, so a refused note changes nothing. `budget`, if given, is charged
        in the same script (RateLimited when it is spent)."""
        check_note(check_text(note, "note"))
        return await self.apply(Change(
            op="set", unit_id=unit_id, at=self.clock(), by=actor.name, source=source,
            only_organization=actor.writable_organization(), available=available,
            capacity=capacity, waitlist=waitlist, expected_discharges=expected_discharges,
            note=note, budget=budget,
        ))

    async def set_many(self, updates: Sequence[CountsUpdate], actor: Actor, source: str
                       ) -> list[UnitState | InventoryError]:
        """Many units' new counts at once (a census, a feed): every note is checked first,
        so a refused note changes nothing at all; then as `apply_many`."""
        for n, update in enumerate(updates):
            try:
                check_note(check_text(update.note, "note"))
            except Invalid as error:
                raise Invalid(f"update {n} (unit {update.unit_id!r}): {error}") from None
        at = self.clock()
        return await self.apply_many([Change(
            op="set", unit_id=u.unit_id, at=at, by=actor.name, source=source,
            only_organization=actor.writable_organization(), available=u.available,
            capacity=u.capacity, waitlist=u.waitlist,
            expected_discharges=u.expected_discharges, note=u.note) for u in updates])

    async def attest(self, unit_id: str, actor: Actor, source: str, note: str = "",
                     budget: Budget | None = None) -> UnitState:
        """"No change": the counts stand, and the freshness clock restarts. The note is
        checked for identifiers first, and `budget` charged, like `set_availability`'s."""
        check_note(check_text(note, "note"))
        return await self.apply(Change(
            op="attest", unit_id=unit_id, at=self.clock(), by=actor.name, source=source,
            only_organization=actor.writable_organization(), note=note, budget=budget,
        ))

    async def apply(self, change: Change) -> UnitState:
        """Apply in Redis, record in SQL, return the new state (the acknowledgement).

        The note is taken as given: it is composed by code ("csv batch ... row 3: ...",
        "observed <time>") or was checked where a person typed it (`set_availability`,
        `attest`, census rows in `feeds/census_csv.py`), since a system note may carry a time
        that the identifier check would take for a date of birth."""
        check_text(change.note, "note")
        try:
            state = await self.live.apply(change)
        except LiveStateUnavailable:
            if not await self.live.ping() or await self.live.epoch():
                raise
            await self.ensure_ready()
            state = await self.live.apply(change)
        if state.seq <= self.seq_floor:
            raise LiveStateUnavailable("live availability is behind the records and is being "
                                       "rebuilt; try again in a moment")
        await self.audit_log.record([audit.entry_for(change, state)])
        await self.fence.settle([(state.id, state.seq)])
        return state

    async def apply_many(self, changes: Sequence[Change]) -> list[UnitState | InventoryError]:
        """Apply many changes (distinct units) as `apply` does each, in one Redis round trip
        and one audit transaction; the acknowledgement lists each change's new state or the
        domain error that refused it alone (a refused change changes nothing, the others
        stand). Raises, acknowledging none, when Redis or SQL cannot be used."""
        for change in changes:
            check_text(change.note, "note")
        answers = await self.live.apply_many(changes)
        if any(isinstance(a, LiveStateUnavailable) for a in answers):
            if not await self.live.ping() or await self.live.epoch():
                raise next(a for a in answers if isinstance(a, LiveStateUnavailable))
            await self.ensure_ready()
            again = [i for i, a in enumerate(answers) if isinstance(a, LiveStateUnavailable)]
            for i, answer in zip(again, await self.live.apply_many([changes[i] for i in again])):
                answers[i] = answer
        results: list[UnitState | InventoryError] = []
        rows = []
        for change, answer in zip(changes, answers):
            if isinstance(answer, UnitState) and answer.seq <= self.seq_floor:
                answer = LiveStateUnavailable("live availability is behind the records and "
                                              "is being rebuilt; try again in a moment")
            if isinstance(answer, UnitState):
                rows.append(audit.entry_for(change, answer))
            elif not isinstance(answer, InventoryError):
                raise answer
            results.append(answer)
        if rows:
            await self.audit_log.record(rows)
            await self.fence.settle((a.id, a.seq) for a in results if isinstance(a, UnitState))
        return results

    async def ensure_ready(self) -> str:
        """The current epoch, rebuilding the live state from SQL first if Redis is empty."""
        epoch = await self.live.epoch()
        return epoch or await self.rebuild()

    async def rebuild(self) -> str:
        """Load every unit's last recorded state into Redis, once across the cluster."""
        token = await self.locks.acquire("rebuild", REBUILD_WAIT_SECONDS)
        if token is None:
            return await self._wait_for_rebuild()
        try:
            epoch = await self.live.epoch()
            if epoch:
                return epoch
            states, max_seq = await audit.persisted_states(self.sessions)
            floor = max_seq + self.seq_rebuild_gap if max_seq else 0
            floor = max(floor, await self.live.current_seq())
            holds = await audit.active_holds(self.sessions)
            epoch = await self.live.restore(states, holds, floor)
            log.warning("live state rebuilt from SQL: %d units, seq %d", len(states), floor)
            return epoch
        finally:
            await self.locks.release("rebuild", token)

    async def _wait_for_rebuild(self) -> str:
        for _ in range(int(REBUILD_WAIT_SECONDS * 10)):
            await asyncio.sleep(0.1)
            epoch = await self.live.epoch()
            if epoch:
                return epoch
        raise LiveStateUnavailable("live availability is being rebuilt; try again in a moment")
