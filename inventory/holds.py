"""Holds: a bed kept for a client on the way, granted atomically in Redis, recorded in SQL.

A hold takes one `available` bed into `held`. `admit` turns it into an admission (held - 1,
available stays lower); `release` and expiry give the bed back (held - 1, available + 1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory import audit
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from inventory.availability import Clock
from inventory.directory import Directory
from inventory.errors import Conflict, Invalid, InventoryError, NotFound, NotYourUnit
from inventory.live import LiveStore
from inventory.privacy import check_client_ref
from inventory.records import AuditEntry, Hold, new_id
from inventory.scripts import Counts, HoldEnd, HoldGrant

ACTIVE, ADMITTED, RELEASED, EXPIRED = "active", "admitted", "released", "expired"
ENDED = {"admit": ADMITTED, "release": RELEASED, "expire": EXPIRED}


@dataclass(frozen=True, slots=True)
class HoldView:
    id: str
    unit_id: str
    program_id: str
    client_ref: str | None
    status: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    seq: int | None = None

    @classmethod
    def of(cls, hold: Hold, program_id: str, seq: int | None = None) -> HoldView:
        return cls(hold.id, hold.unit_id, program_id, hold.client_ref, hold.status,
                   hold.created_by, hold.created_at, hold.expires_at, hold.ended_at, seq)


def _audit(op: str, hold: Hold, counts: Counts, at: datetime, actor: str) -> AuditEntry:
    return AuditEntry(seq=counts.seq, unit_id=hold.unit_id, op=op, at=at, actor=actor,
                      source="hold", available=counts.available, held=counts.held,
                      waitlist=counts.waitlist, capacity=counts.capacity,
                      hold_id=hold.id, note=None, detail={})


class Holds:
    def __init__(self, live: LiveStore, sessions: async_sessionmaker, directory: Directory,
                 clock: Clock, default_minutes: int, max_minutes: int) -> None:
        self.live = live
        self.sessions = sessions
        self.directory = directory
        self.clock = clock
        self.default_minutes = default_minutes
        self.max_minutes = max_minutes
        # Called with every hold that ends (transitions follow their holds this way).
        self.on_end: list[Callable[[HoldView], Awaitable[None]]] = []

    async def place(self, unit_id: str, client_ref: str, actor: Actor,
                    minutes: int | None = None, on_behalf_of: str | None = None) -> HoldView:
        """Reserve one bed; NoCapacity (409) when none is free. Never two holds on one bed.
        `on_behalf_of` names the navigator's token when a provider places it for them."""
        if actor.role not in (NAVIGATOR, ADMIN, PROVIDER):
            raise NotYourUnit("only navigators, providers and admins place holds")
        check_client_ref(client_ref)
        minutes = minutes or self.default_minutes
        if not 1 <= minutes <= self.max_minutes:
            raise Invalid(f"minutes must be between 1 and {self.max_minutes}, got {minutes}")
        program = await self.directory.program_of_unit(unit_id)
        if actor.role == PROVIDER and program.organization_id != actor.organization_id:
            raise NotYourUnit(f"unit {unit_id!r} belongs to another organization")
        now = self.clock()
        hold = Hold(id=new_id("hold"), unit_id=unit_id, client_ref=client_ref, status=ACTIVE,
                    created_by=on_behalf_of or actor.token_id, created_at=now,
                    expires_at=now + timedelta(minutes=minutes))
        counts = await self.live.grant_hold(HoldGrant(
            hold_id=hold.id, unit_id=unit_id, expires_at=hold.expires_at, at=now,
            actor=actor.name))
        try:
            await audit.record(self.sessions, [hold, _audit("hold", hold, counts, now,
                                                              actor.name)])
        except InventoryError:
            await self.live.end_hold(HoldEnd(hold_id=hold.id, unit_id=unit_id, op="release",
                                             at=self.clock(), actor="system:rollback"))
            raise
        return HoldView.of(hold, program.id, counts.seq)

    async def get(self, hold_id: str) -> HoldView:
        async with self.sessions() as session:
            hold = await session.get(Hold, hold_id)
        if hold is None:
            raise NotFound(f"hold {hold_id!r} does not exist")
        program = await self.directory.program_of_unit(hold.unit_id)
        return HoldView.of(hold, program.id)

    async def end(self, hold_id: str, op: str, actor: Actor) -> HoldView:
        """Admit or release a hold, by its navigator, the unit's provider or an admin."""
        current = await self.get(hold_id)
        program = await self.directory.program_of_unit(current.unit_id)
        allowed = (actor.role == ADMIN or current.created_by == actor.token_id
                   or (actor.role == PROVIDER and actor.organization_id
                       == program.organization_id))
        if not allowed:
            raise NotYourUnit("only the navigator who placed the hold, the unit's provider or "
                              "an admin may end it")
        if current.status != ACTIVE:
            raise Conflict(f"hold {hold_id!r} is already {current.status}")
        return await self._end(hold_id, current.unit_id, op, actor.name)

    async def _end(self, hold_id: str, unit_id: str, op: str, actor_name: str) -> HoldView:
        now = self.clock()
        counts = await self.live.end_hold(HoldEnd(hold_id=hold_id, unit_id=unit_id, op=op,
                                                  at=now, actor=actor_name))
        async with self.sessions() as session, session.begin():
            hold = await session.get(Hold, hold_id)
            assert hold is not None
            hold.status, hold.ended_at = ENDED[op], now
            session.add(_audit(op, hold, counts, now, actor_name))
        program = await self.directory.program_of_unit(unit_id)
        view = HoldView.of(hold, program.id, counts.seq)
        for listener in self.on_end:
            await listener(view)
        return view

    async def expire_due(self) -> int:
        """Give back every bed whose hold has passed its expiry; returns how many."""
        expired = 0
        for hold_id, unit_id in await self.live.due_holds(self.clock()):
            try:
                await self._end(hold_id, unit_id, "expire", "system:expiry")
                expired += 1
            except Conflict:
                continue  # admitted or released meanwhile, or not due after all
        return expired

    async def list_for(self, actor: Actor, status: str | None = None) -> list[HoldView]:
        """A navigator's own holds; a provider's organization's; everything for admins."""
        query = select(Hold).order_by(Hold.created_at.desc()).limit(500)
        if status:
            query = query.where(Hold.status == status)
        if actor.role == NAVIGATOR:
            query = query.where(Hold.created_by == actor.token_id)
        async with self.sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        programs = await self.directory.programs()
        unit_program = {u.id: p for p in programs.values() for u in p.units}
        views = []
        for hold in rows:
            program = unit_program.get(hold.unit_id)
            if program is None:
                continue
            if actor.role == PROVIDER and program.organization_id != actor.organization_id:
                continue
            views.append(HoldView.of(hold, program.id))
        return views

    async def purge_client_refs(self, ended_before: datetime) -> int:
        """Forget the client reference of holds that ended before `ended_before`."""
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Hold).where(Hold.ended_at < ended_before, Hold.client_ref.is_not(None))
                .values(client_ref=None))
        return result.rowcount or 0
