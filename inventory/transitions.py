"""Transitions: a client leaving one program is watched until they land in the next.

A transition is `open` until its hold is admitted (`placed`), the navigator cancels it, or
the discharge passes with no placement (`lapsed`: the gap this product exists to close).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory.actors import ADMIN, NAVIGATOR, Actor
from inventory.availability import Clock
from inventory.directory import Directory
from inventory.errors import Conflict, Invalid, NotFound, NotYourUnit
from inventory.holds import ADMITTED, HoldView
from inventory.matcher import Needs
from inventory.privacy import check_client_ref
from inventory.records import Token, Transition, new_id

OPEN, PLACED, CANCELLED, LAPSED = "open", "placed", "cancelled", "lapsed"


@dataclass(frozen=True, slots=True)
class Policy:
    caseload_limit: int
    at_risk_hours: float
    lapse_grace_hours: float


def needs_of(data: dict[str, Any]) -> Needs:
    values = {k: v for k, v in data.items() if k in Needs.__dataclass_fields__ and k != "near"}
    loc = data.get("location") or data.get("near")
    near = (loc["lat"], loc["lon"]) if isinstance(loc, dict) else (tuple(loc) if loc else None)
    return Needs(**values, near=near)  # type: ignore[arg-type]


def view(t: Transition, now: datetime, policy: Policy) -> dict[str, Any]:
    at_risk = (t.status == OPEN and t.hold_id is None
               and t.discharge_at <= now + timedelta(hours=policy.at_risk_hours))
    return {"id": t.id, "client_ref": t.client_ref, "from_program_id": t.from_program_id,
            "from_level": t.from_level, "discharge_at": t.discharge_at, "needs": t.needs,
            "navigator": t.navigator, "status": t.status, "hold_id": t.hold_id,
            "to_level": t.to_level, "created_at": t.created_at, "ended_at": t.ended_at,
            "at_risk": at_risk}


class Transitions:
    def __init__(self, sessions: async_sessionmaker, directory: Directory, clock: Clock,
                 policy: Policy) -> None:
        self.sessions = sessions
        self.directory = directory
        self.clock = clock
        self.policy = policy

    async def register(self, actor: Actor, client_ref: str, from_program_id: str,
                       discharge_at: datetime, needs: dict[str, Any],
                       navigator: str | None = None, force: bool = False,
                       race_ethnicity: list[str] | None = None) -> dict[str, Any]:
        """Start watching a pending move; refuses a navigator beyond the balanced caseload
        unless an admin forces it. `race_ethnicity` (category codes) only where the county
        opted in; the caller checks that."""
        check_client_ref(client_ref)
        if force and actor.role != ADMIN:
            raise NotYourUnit("only an admin may force a caseload beyond its limit")
        navigator = navigator or actor.token_id
        if actor.role == NAVIGATOR and navigator != actor.token_id:
            raise NotYourUnit("a navigator registers transitions for themself")
        program = await self.directory.program(from_program_id)
        async with self.sessions() as session, session.begin():
            token = await session.get(Token, navigator)
            if token is None or token.role != NAVIGATOR:
                raise Invalid(f"navigator {navigator!r} is not a navigator's token id")
            load = await self._caseload(session, navigator)
            if load >= self.policy.caseload_limit and not force:
                raise Conflict(f"navigator {token.label or navigator} already has {load} open "
                               f"transitions, the balanced caseload of "
                               f"{self.policy.caseload_limit}; an admin may force it")
            row = Transition(id=new_id("trn"), client_ref=client_ref,
                             from_program_id=program.id, from_level=program.level_of_care,
                             discharge_at=discharge_at, needs=needs, navigator=navigator,
                             status=OPEN, created_at=self.clock(),
                             race_ethnicity=race_ethnicity)
            session.add(row)
        return view(row, self.clock(), self.policy)

    async def _caseload(self, session: Any, navigator: str) -> int:
        return (await session.execute(select(func.count(Transition.id)).where(
            Transition.navigator == navigator, Transition.status == OPEN))).scalar_one()

    async def caseload(self, navigator: str) -> dict[str, int]:
        async with self.sessions() as session:
            return {"open": await self._caseload(session, navigator),
                    "limit": self.policy.caseload_limit}

    async def get(self, transition_id: str, actor: Actor) -> Transition:
        async with self.sessions() as session:
            row = await session.get(Transition, transition_id)
        if row is None or (actor.role != ADMIN and row.navigator != actor.token_id):
            raise NotFound(f"transition {transition_id!r} does not exist")
        return row

    async def list_for(self, actor: Actor, at_risk: bool = False, status: str | None = None
                       ) -> list[dict[str, Any]]:
        """Open ones first, at-risk ones on top, soonest discharge first."""
        query = select(Transition).order_by(Transition.discharge_at).limit(1000)
        if actor.role != ADMIN:
            query = query.where(Transition.navigator == actor.token_id)
        if status:
            query = query.where(Transition.status == status)
        async with self.sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        now = self.clock()
        views = [view(t, now, self.policy) for t in rows]
        if at_risk:
            views = [v for v in views if v["at_risk"]]
        views.sort(key=lambda v: (not v["at_risk"], v["status"] != OPEN, v["discharge_at"]))
        return views

    async def open_ones(self) -> list[Transition]:
        async with self.sessions() as session:
            return list((await session.execute(
                select(Transition).where(Transition.status == OPEN))).scalars().all())

    async def cancel(self, transition_id: str, actor: Actor) -> dict[str, Any]:
        return await self._end(await self.get(transition_id, actor), CANCELLED)

    async def check_open(self, transition_id: str, actor: Actor) -> Transition:
        """The actor's transition, refused unless it is still open; changes nothing."""
        row = await self.get(transition_id, actor)
        if row.status != OPEN:
            raise Conflict(f"transition {transition_id!r} is already {row.status}")
        return row

    async def link_hold(self, transition_id: str, hold: HoldView, actor: Actor) -> None:
        """Point an open transition at the hold that is its landing; Conflict (and nothing
        written) if it is no longer open, even when it was cancelled a moment ago."""
        await self.check_open(transition_id, actor)
        async with self.sessions() as session, session.begin():
            if not await self.link_in(session, transition_id, hold):
                row = await session.get(Transition, transition_id)
                raise Conflict(f"transition {transition_id!r} is already "
                               f"{row.status if row else 'gone'}")

    async def link_in(self, session: AsyncSession, transition_id: str, hold: HoldView) -> bool:
        """Within the caller's transaction, link the hold if the transition is still open
        (compare-and-set on its status); False when it is not, and nothing is written."""
        program = await self.directory.program(hold.program_id)
        result = cast(CursorResult[Any], await session.execute(update(Transition).where(
            Transition.id == transition_id, Transition.status == OPEN).values(
            hold_id=hold.id, to_level=program.level_of_care)))
        return bool(result.rowcount)

    async def hold_ended(self, session: AsyncSession, hold: HoldView) -> None:
        """Follow a hold, inside the transaction that ends it: admitted means placed;
        released or expired means at risk again."""
        row = (await session.execute(select(Transition).where(
            Transition.hold_id == hold.id, Transition.status == OPEN))).scalar_one_or_none()
        if row is None:
            return
        if hold.status == ADMITTED:
            row.status, row.ended_at = PLACED, self.clock()
        else:
            row.hold_id, row.to_level = None, None

    async def lapse_overdue(self) -> int:
        """Discharged with no placement and no hold: the transition lapsed."""
        cutoff = self.clock() - timedelta(hours=self.policy.lapse_grace_hours)
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Transition).where(Transition.status == OPEN,
                                         Transition.hold_id.is_(None),
                                         Transition.discharge_at < cutoff)
                .values(status=LAPSED, ended_at=self.clock()))
        return result.rowcount or 0

    async def _end(self, row: Transition, status: str) -> dict[str, Any]:
        if row.status != OPEN:
            raise Conflict(f"transition {row.id!r} is already {row.status}")
        async with self.sessions() as session, session.begin():
            await session.execute(update(Transition).where(Transition.id == row.id).values(
                status=status, ended_at=self.clock()))
        row.status, row.ended_at = status, self.clock()
        return view(row, self.clock(), self.policy)

    async def purge_client_refs(self, ended_before: datetime) -> int:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Transition).where(Transition.ended_at < ended_before,
                                         Transition.client_ref.is_not(None))
                .values(client_ref=None))
        return result.rowcount or 0
