"""Referrals: a navigator asks up to three programs at once; the first to accept places a
hold and the others are withdrawn and told so. Every referral records when it was first
acknowledged, because networks measure the share acknowledged within 30 minutes.

Accepting spans holds and transitions, so its flow lives in `inventory/flows/accept_referral.py`;
this module gives it the steps that touch referrals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from redis.exceptions import RedisError
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory import timeline
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
from inventory.availability import Clock
from inventory.directory import Directory, ProgramInfo
from inventory.errors import Conflict, Invalid, NotFound, NotYourUnit
from inventory.holds import Holds
from inventory.locks import Locks
from inventory.notify import Audience, Notifier
from inventory.privacy import check_client_ref, check_note
from inventory.records import Referral, Transition, new_id

PENDING, ACCEPTED, DECLINED, EXPIRED, WITHDRAWN = (
    "pending", "accepted", "declined", "expired", "withdrawn")
MAX_PROGRAMS = 3
LOCK_SECONDS = 15
log = logging.getLogger(__name__)


def view(r: Referral) -> dict[str, Any]:
    return {"id": r.id, "group_id": r.group_id, "client_ref": r.client_ref,
            "program_id": r.program_id, "navigator": r.navigator, "needs": r.needs,
            "note": r.note, "status": r.status, "decline_reason": r.decline_reason,
            "hold_id": r.hold_id, "transition_id": r.transition_id,
            "created_at": r.created_at, "expires_at": r.expires_at,
            "acknowledged_at": r.acknowledged_at, "responded_at": r.responded_at}


class Referrals:
    def __init__(self, sessions: async_sessionmaker, directory: Directory, holds: Holds,
                 locks: Locks, notifier: Notifier, clock: Clock, expiry_minutes: int,
                 decline_reasons: list[str]) -> None:
        self.sessions = sessions
        self.directory = directory
        self.holds = holds
        self.locks = locks
        self.notifier = notifier
        self.clock = clock
        self.expiry_minutes = expiry_minutes
        self.decline_reasons = decline_reasons

    async def send(self, actor: Actor, client_ref: str, program_ids: list[str],
                   needs: dict[str, Any], note: str = "", transition_id: str | None = None
                   ) -> list[dict[str, Any]]:
        if actor.role not in (NAVIGATOR, ADMIN):
            raise NotYourUnit("only navigators send referrals")
        check_client_ref(client_ref)
        check_note(note)
        if not 1 <= len(set(program_ids)) == len(program_ids) <= MAX_PROGRAMS:
            raise Invalid(f"send to 1 to {MAX_PROGRAMS} different programs at once")
        programs = [await self.directory.program(pid) for pid in program_ids]
        now, group = self.clock(), new_id("grp")
        rows = [Referral(id=new_id("ref"), group_id=group, client_ref=client_ref,
                         program_id=p.id, navigator=actor.token_id, needs=needs, note=note,
                         status=PENDING, transition_id=transition_id, created_at=now,
                         expires_at=now + timedelta(minutes=self.expiry_minutes))
                 for p in programs]
        async with self.sessions() as session, session.begin():
            session.add_all(rows)
            if transition_id:
                for row, program in zip(rows, programs):
                    timeline.append(session, transition_id, timeline.REFERRAL_SENT, actor, now,
                                    referral_id=row.id, program_id=program.id,
                                    program=program.name, with_note=bool(note))
        for row, program in zip(rows, programs):
            await self._tell_provider(program.organization_id, row)
        return [view(r) for r in rows]

    async def list_for(self, actor: Actor, status: str | None = None) -> list[dict[str, Any]]:
        query = select(Referral).order_by(Referral.created_at.desc()).limit(500)
        if status:
            query = query.where(Referral.status == status)
        if actor.role == NAVIGATOR:
            query = query.where(Referral.navigator == actor.token_id)
        elif actor.role == PROVIDER:
            mine = [p.id for p in (await self.directory.programs()).values()
                    if p.organization_id == actor.organization_id]
            query = query.where(Referral.program_id.in_(mine))
        async with self.sessions() as session:
            return [view(r) for r in (await session.execute(query)).scalars()]

    async def _get_for_provider(self, referral_id: str, actor: Actor) -> Referral:
        async with self.sessions() as session:
            row = await session.get(Referral, referral_id)
        if row is None:
            raise NotFound(f"referral {referral_id!r} does not exist")
        program = await self.directory.program(row.program_id)
        if actor.role != ADMIN and (actor.role != PROVIDER
                                    or actor.organization_id != program.organization_id):
            raise NotYourUnit("only the receiving program's provider may answer a referral")
        return row

    async def acknowledge(self, referral_id: str, actor: Actor) -> dict[str, Any]:
        row = await self._get_for_provider(referral_id, actor)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            seen = cast(CursorResult[Any], await session.execute(update(Referral).where(
                Referral.id == row.id, Referral.acknowledged_at.is_(None)).values(
                acknowledged_at=now)))
            if seen.rowcount and row.transition_id:
                await self._record(session, row, timeline.REFERRAL_SEEN, actor.name, now)
            row = await session.get(Referral, row.id)
        return view(row)  # type: ignore[arg-type]

    async def answerable(self, referral_id: str, unit_id: str, actor: Actor
                         ) -> tuple[Referral, ProgramInfo]:
        """The referral this provider may accept into `unit_id`, and its program; reads
        only. Whether it is still pending is decided when the acceptance is written."""
        row = await self._get_for_provider(referral_id, actor)
        program = await self.directory.program(row.program_id)
        if unit_id not in {u.id for u in program.units}:
            raise Invalid(f"unit {unit_id!r} is not a unit of program {program.id!r}")
        return row, program

    @asynccontextmanager
    async def answering(self, row: Referral) -> AsyncIterator[None]:
        """One program at a time answers a referral group. The lock is renewed while its
        holder works (so a slow answer keeps the others out); it spares them a wasted try,
        while `accept_in`'s compare-and-set in SQL is the fence that keeps a second
        acceptance out even if the lock was lost."""
        name = f"referral:{row.group_id}"
        token = await self.locks.acquire(name, LOCK_SECONDS)
        if token is None:
            raise Conflict("another program is answering this referral right now; try again")
        try:
            async with self.locks.renewing(name, token, LOCK_SECONDS):
                yield
        finally:
            await self.locks.release(name, token)

    async def accept_in(self, session: AsyncSession, row: Referral, hold_id: str,
                        now: datetime, actor_name: str = "system") -> list[Referral]:
        """Within the caller's transaction: accept `row` only if it is still pending
        (compare-and-set), and withdraw the group's other pending referrals; returns those.
        Conflict, with nothing written, when it was answered, withdrawn or expired."""
        accepted = cast(CursorResult[Any], await session.execute(update(Referral).where(
            Referral.id == row.id, Referral.status == PENDING).values(
            status=ACCEPTED, hold_id=hold_id, responded_at=now,
            acknowledged_at=row.acknowledged_at or now)))
        if not accepted.rowcount:
            current = await session.get(Referral, row.id)
            raise Conflict(f"this referral is already {current.status if current else 'gone'}")
        others = (await session.execute(select(Referral).where(
            Referral.group_id == row.group_id, Referral.id != row.id,
            Referral.status == PENDING))).scalars().all()
        if others:
            await session.execute(update(Referral).where(
                Referral.id.in_([o.id for o in others]), Referral.status == PENDING).values(
                status=WITHDRAWN, responded_at=now))
        for other in others:
            other.status, other.responded_at = WITHDRAWN, now
        if row.transition_id:
            await self._record(session, row, timeline.REFERRAL_ACCEPTED, actor_name, now)
            for other in others:
                await self._record(session, other, timeline.REFERRAL_WITHDRAWN, actor_name,
                                   now, why="another program accepted")
        return list(others)

    async def tell_accepted(self, referral_id: str, withdrawn: list[Referral]
                            ) -> dict[str, Any]:
        """Tell the withdrawn programs and the navigator; returns the accepted referral."""
        for other in withdrawn:
            program = await self.directory.program(other.program_id)
            await self._tell_provider(program.organization_id, other)
        accepted = await self._reload(referral_id)
        await self._tell_navigator(accepted)
        return accepted

    async def decline(self, referral_id: str, reason: str, actor: Actor) -> dict[str, Any]:
        if reason not in self.decline_reasons:
            raise Invalid(f"reason must be one of: {', '.join(self.decline_reasons)}")
        row = await self._get_for_provider(referral_id, actor)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(update(Referral).where(
                Referral.id == row.id, Referral.status == PENDING).values(
                status=DECLINED, decline_reason=reason, responded_at=now,
                acknowledged_at=row.acknowledged_at or now)))
            if result.rowcount and row.transition_id:
                await self._record(session, row, timeline.REFERRAL_DECLINED, actor.name, now,
                                   reason=reason)
        if not result.rowcount:
            raise Conflict(f"this referral is already {row.status}")
        declined = await self._reload(row.id)
        await self._tell_navigator(declined)
        return declined

    async def withdraw(self, referral_id: str, actor: Actor) -> dict[str, Any]:
        async with self.sessions() as session, session.begin():
            row = await session.get(Referral, referral_id)
            if row is None or not (actor.role in (ADMIN, SUPERVISOR)
                                   or row.navigator == actor.token_id
                                   or await _leads(session, row, actor)):
                raise NotFound(f"referral {referral_id!r} does not exist")
            if row.status != PENDING:
                raise Conflict(f"this referral is already {row.status}")
            row.status, row.responded_at = WITHDRAWN, self.clock()
            if row.transition_id:
                await self._record(session, row, timeline.REFERRAL_WITHDRAWN, actor.name,
                                   row.responded_at)
        program = await self.directory.program(row.program_id)
        await self._tell_provider(program.organization_id, row)
        return view(row)

    async def expire_due(self) -> int:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            due = (await session.execute(select(Referral).where(
                Referral.status == PENDING, Referral.expires_at <= now))).scalars().all()
            for row in due:
                row.status = EXPIRED
                if row.transition_id:
                    await self._record(session, row, timeline.REFERRAL_EXPIRED,
                                       "system:expiry", now)
        for row in due:
            await self._tell_navigator(view(row))
        return len(due)

    async def purge_client_refs(self, ended_before: datetime) -> int:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Referral).where(Referral.responded_at < ended_before,
                                       Referral.client_ref.is_not(None))
                .values(client_ref=None, note=""))
        return result.rowcount or 0

    async def _record(self, session: AsyncSession, row: Referral, kind: str, actor_name: str,
                      now: datetime, **details: Any) -> None:
        """A line on the referral's transition's timeline, in the caller's transaction."""
        assert row.transition_id is not None
        program = await self.directory.program(row.program_id)
        timeline.append(session, row.transition_id, kind, actor_name, now,
                        referral_id=row.id, program_id=program.id, program=program.name,
                        **details)

    async def _reload(self, referral_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            row = await session.get(Referral, referral_id)
        assert row is not None
        return view(row)

    async def _tell_provider(self, organization_id: str, row: Referral) -> None:
        await self._tell(Audience(organization_id=organization_id), view(row))

    async def _tell_navigator(self, referral: dict[str, Any]) -> None:
        await self._tell(Audience(token_id=referral["navigator"]), referral)

    async def _tell(self, audience: Audience, referral: dict[str, Any]) -> None:
        """A cue after the record is committed: when it cannot be sent the answer still
        stands (pages read referrals on connect), so the caller is not told otherwise."""
        try:
            await self.notifier.send(audience, {"type": "referral",
                                                "referral": _jsonable(referral)})
        except (RedisError, OSError) as error:
            log.warning("referral %s: notification not sent: %s", referral["id"], error)


async def _leads(session: AsyncSession, row: Referral, actor: Actor) -> bool:
    """Whether `actor` now leads the referral's transition (it may have been reassigned
    since the referral was sent)."""
    if row.transition_id is None:
        return False
    transition = await session.get(Transition, row.transition_id)
    return transition is not None and transition.navigator == actor.token_id


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}
