"""Holds: a bed kept for a client on the way, granted atomically in Redis, recorded in SQL.

A hold takes one `available` bed into `held`. `admit` turns it into an admission (held - 1,
available stays lower); `release` and expiry give the bed back (held - 1, available + 1).

Every flow here leaves Redis (the live counts, and the event every subscriber sees) and SQL
(the hold's record, its audit entry, and what follows from it, such as its transition) telling
the same story, or fails saying truthfully what was changed:

- placing: the bed is taken in Redis, then recorded; a failed record gives the bed back.
- ending (admit, release, expire): the hold's record and its followers change in one SQL
  transaction that stays open across the Redis step, so a refusal anywhere before Redis
  changes nothing; the Redis step is the last thing that can refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory import audit
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from inventory.availability import Clock
from inventory.directory import Directory, ProgramInfo
from inventory.errors import (
    Conflict,
    Invalid,
    NotFound,
    NotYourUnit,
    RecordsUnavailable,
    UndoFailed,
    explain,
)
from inventory.live import LiveStore
from inventory.privacy import check_client_ref
from inventory.rebuild_fence import RebuildFence
from inventory.records import AuditEntry, Hold, Token, new_id
from inventory.scripts import Counts, HoldEnd, HoldGrant

log = logging.getLogger(__name__)

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


def _audit(op: str, hold_id: str, unit_id: str, counts: Counts, at: datetime, actor: str
           ) -> AuditEntry:
    return AuditEntry(seq=counts.seq, unit_id=unit_id, op=op, at=at, actor=actor,
                      source="hold", available=counts.available, held=counts.held,
                      waitlist=counts.waitlist, capacity=counts.capacity, hold_id=hold_id,
                      note=None, detail={})


# Called inside the SQL transaction that ends a hold, before Redis is touched: whatever a
# follower writes commits with the hold's end, or not at all. The last argument names who
# ended it (as `Actor.name`), for the followers' own records.
HoldFollower = Callable[[AsyncSession, HoldView, str], Awaitable[None]]


class Holds:
    def __init__(self, live: LiveStore, sessions: async_sessionmaker, directory: Directory,
                 clock: Clock, default_minutes: int, max_minutes: int,
                 audit_log: audit.AuditWriter, fence: RebuildFence) -> None:
        self.live = live
        self.fence = fence
        self.sessions = sessions
        self.audit_log = audit_log
        self.directory = directory
        self.clock = clock
        self.default_minutes = default_minutes
        self.max_minutes = max_minutes
        # Run with every hold that ends (transitions follow their holds this way).
        self.on_end: list[HoldFollower] = []

    # Placing -------------------------------------------------------------------------

    async def prepare(self, unit_id: str, client_ref: str, actor: Actor,
                      minutes: int | None = None, on_behalf_of: str | None = None
                      ) -> tuple[Hold, ProgramInfo]:
        """Check who may hold a bed in this unit and build the hold; changes nothing.
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
        return hold, program

    async def place(self, unit_id: str, client_ref: str, actor: Actor,
                    minutes: int | None = None, on_behalf_of: str | None = None) -> HoldView:
        """Reserve one bed; NoCapacity (409) when none is free. Never two holds on one bed.
        Either the bed is held and recorded, or it is free again and the error is raised."""
        hold, program = await self.prepare(unit_id, client_ref, actor, minutes, on_behalf_of)
        counts = await self.live.grant_hold(HoldGrant(
            hold_id=hold.id, unit_id=unit_id, expires_at=hold.expires_at, at=hold.created_at,
            actor=actor.name))
        try:
            await self.audit_log.record([hold, _audit(
                "hold", hold.id, unit_id, counts, hold.created_at, actor.name)])
        except Exception as error:
            await self.ungrant(hold, error)
            raise
        await self.fence.settle([(unit_id, counts.seq)])
        return HoldView.of(hold, program.id, counts.seq)

    async def grant_in(self, session: AsyncSession, hold: Hold, actor_name: str) -> Counts:
        """Add `hold` and its audit entry to `session` and take the bed in Redis; the caller
        commits, and calls `ungrant` if the commit fails. Returns the counts as
        `LiveStore.grant_hold`."""
        session.add(hold)
        counts = await self.live.grant_hold(HoldGrant(
            hold_id=hold.id, unit_id=hold.unit_id, expires_at=hold.expires_at,
            at=hold.created_at, actor=actor_name))
        session.add(_audit("hold", hold.id, hold.unit_id, counts, hold.created_at, actor_name))
        return counts

    async def ungrant(self, hold: Hold, cause: Exception) -> None:
        """Give back in Redis a bed granted for a hold that was never recorded; nothing to do
        when it was never granted. Should Redis not answer, the hold may stay there,
        unrecorded, until its expiry frees it (see `expire_due`), and UndoFailed says so."""
        try:
            await self.live.end_hold(HoldEnd(hold_id=hold.id, unit_id=hold.unit_id,
                                             op="release", at=self.clock(),
                                             actor="system:rollback"))
        except Conflict:
            return  # the grant never happened
        except Exception as error:
            log.exception("hold %s could not be undone after %r", hold.id, cause)
            raise UndoFailed(
                f"{explain(cause)}; and the bed taken for it could not be given back "
                f"({explain(error)}): a bed in unit {hold.unit_id!r} may stay held until "
                f"{hold.expires_at:%H:%M} UTC, when it is freed by itself") from cause

    async def get(self, hold_id: str, actor: Actor | None = None) -> HoldView:
        """The hold, as `actor` may see it. A hold is visible to the navigator who placed
        it and their organization's navigators, the providers of its unit's organization,
        and admins; to anyone else it does not exist (the same NotFound as an unknown id),
        since hold ids reach every staff subscriber and prove nothing. Without `actor`
        (expiry, flows) there is no check."""
        async with self.sessions() as session:
            hold = await session.get(Hold, hold_id)
            if hold is not None and actor is not None and not await self._may_see(
                    session, actor, hold.created_by, hold.unit_id):
                hold = None
        if hold is None:
            raise NotFound(f"hold {hold_id!r} does not exist")
        program = await self.directory.program_of_unit(hold.unit_id)
        return HoldView.of(hold, program.id)

    async def _may_see(self, session: AsyncSession, actor: Actor, created_by: str,
                       unit_id: str) -> bool:
        if actor.role == ADMIN or created_by == actor.token_id:
            return True
        if actor.role == PROVIDER:
            program = await self.directory.program_of_unit(unit_id)
            return actor.organization_id == program.organization_id
        if actor.role == NAVIGATOR and actor.organization_id:
            return await session.scalar(select(Token.id).where(
                Token.id == created_by, Token.role == NAVIGATOR,
                Token.organization_id == actor.organization_id)) is not None
        return False

    # Ending: admit, release, expire --------------------------------------------------

    async def end(self, hold_id: str, op: str, actor: Actor) -> HoldView:
        """Admit or release a hold, by its navigator, the unit's provider or an admin.
        Either the hold, its transition and the live counts all change, or none does."""
        current = await self.get(hold_id, actor)  # NotFound for those who may not see it
        program = await self.directory.program_of_unit(current.unit_id)
        allowed = (actor.role == ADMIN or current.created_by == actor.token_id
                   or (actor.role == PROVIDER and actor.organization_id
                       == program.organization_id))
        if not allowed:
            raise NotYourUnit("only the navigator who placed the hold, the unit's provider or "
                              "an admin may end it")
        if current.status != ACTIVE:
            raise Conflict(f"hold {hold_id!r} is already {current.status}")
        return await self.finish(hold_id, current.unit_id, op, actor.name)

    async def finish(self, hold_id: str, unit_id: str, op: str, actor_name: str) -> HoldView:
        """End a hold with no check of who asks (expiry, and flows undoing their own hold).

        One SQL transaction around the whole end: mark the record (only if still active),
        let followers write, run the Redis script, add the audit entry, commit. Everything
        before the script rolls back on failure, so "nothing was changed" is then true; a
        failure after it is retried once and otherwise reported as what it is."""
        now = self.clock()
        program = await self.directory.program_of_unit(unit_id)
        counts: Counts | None = None
        try:
            async with self.sessions() as session, session.begin():
                view = await self._mark_ended(session, hold_id, op, now, program.id,
                                              actor_name)
                counts = await self.live.end_hold(HoldEnd(
                    hold_id=hold_id, unit_id=unit_id, op=op, at=now, actor=actor_name))
                session.add(_audit(op, hold_id, unit_id, counts, now, actor_name))
        except Exception as error:
            if counts is None:
                raise
            await self._record_end_again(view, op, counts, now, actor_name, error)
        await self.fence.settle([(unit_id, counts.seq)])
        return replace(view, seq=counts.seq)

    async def _mark_ended(self, session: AsyncSession, hold_id: str, op: str,
                          now: datetime, program_id: str, actor_name: str) -> HoldView:
        """Compare-and-set: only an active hold ends, so two enders never both succeed."""
        result = cast(CursorResult[Any], await session.execute(update(Hold).where(
            Hold.id == hold_id, Hold.status == ACTIVE).values(status=ENDED[op], ended_at=now)))
        hold = await session.get(Hold, hold_id)
        if hold is None:
            raise NotFound(f"hold {hold_id!r} does not exist")
        if not result.rowcount:
            raise Conflict(f"hold {hold_id!r} is already {hold.status}")
        view = HoldView.of(hold, program_id)
        for follower in self.on_end:
            await follower(session, view, actor_name)
        return view

    async def _record_end_again(self, view: HoldView, op: str, counts: Counts,
                                now: datetime, actor_name: str, cause: Exception) -> None:
        """Redis has ended the hold but the commit failed: try the record once more, and if
        that fails too, say exactly that (never "nothing was changed")."""
        try:
            async with self.sessions() as session, session.begin():
                await self._mark_ended(session, view.id, op, now, view.program_id,
                                       actor_name)
                session.add(_audit(op, view.id, view.unit_id, counts, now, actor_name))
        except Exception:
            log.exception("hold %s was %s in Redis but not recorded after %r", view.id,
                          ENDED[op], cause)
            what = {"admit": "admitted (the bed stays taken)",
                    "release": "released (the bed is free again)",
                    "expire": "expired (the bed is free again)"}[op]
            raise RecordsUnavailable(
                f"hold {view.id!r} was {what} in live availability, but the database did not "
                f"record it: {explain(cause)}") from cause

    async def expire_due(self) -> int:
        """Give back every bed whose hold has passed its expiry; returns how many. A hold
        Redis has but SQL never recorded (a placement whose undo failed), or recorded as
        ended, expires as well."""
        expired = 0
        for hold_id, unit_id in await self.live.due_holds(self.clock()):
            try:
                await self.finish(hold_id, unit_id, "expire", "system:expiry")
                expired += 1
            except (NotFound, Conflict):
                # SQL holds no active record of it: never recorded, or ended meanwhile (then
                # Redis no longer has it either, and this does nothing).
                expired += await self._expire_unrecorded(hold_id, unit_id)
        return expired

    async def _expire_unrecorded(self, hold_id: str, unit_id: str) -> int:
        """End in Redis a due hold SQL does not hold as active, so the two agree again."""
        now = self.clock()
        try:
            counts = await self.live.end_hold(HoldEnd(
                hold_id=hold_id, unit_id=unit_id, op="expire", at=now, actor="system:expiry"))
        except (Conflict, NotFound):
            return 0
        await self.audit_log.record([_audit("expire", hold_id, unit_id, counts, now,
                                            "system:expiry")])
        return 1

    async def list_for(self, actor: Actor, status: str | None = None) -> list[HoldView]:
        """A navigator's own holds and their organization's navigators'; a provider's
        organization's; everything for admins; nothing for other roles."""
        query = select(Hold).order_by(Hold.created_at.desc()).limit(500)
        if status:
            query = query.where(Hold.status == status)
        if actor.role == NAVIGATOR:
            mine = Hold.created_by == actor.token_id
            if actor.organization_id:
                mine = mine | Hold.created_by.in_(select(Token.id).where(
                    Token.role == NAVIGATOR, Token.organization_id == actor.organization_id))
            query = query.where(mine)
        elif actor.role not in (ADMIN, PROVIDER):
            return []
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
