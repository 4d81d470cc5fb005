"""Transitions: a client leaving one program is watched until they land in the next.

A transition is `open` until its hold is admitted (`placed`), the navigator cancels it, or
the discharge passes with no placement (`lapsed`: the gap this product exists to close).
A sending program may mark a client discharge-pending: the transition then waits unclaimed
(`navigator` NULL) in the queue until a connector claims it or a supervisor assigns it. Once
placed, the pathway's next step can be watched as a follow-on transition (`previous_id`).
Every change is a line of its timeline (inventory/timeline.py), written in the same SQL
transaction; who may see a transition is decided in inventory/care_team.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inventory import care_team, timeline
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
from inventory.availability import Clock
from inventory.directory import Directory
from inventory.errors import Conflict, Invalid, NotFound, NotYourUnit
from inventory.holds import ADMITTED, HoldView
from inventory.locks import Locks
from inventory.matcher import Needs
from inventory.privacy import check_client_ref, check_note
from inventory.records import (
    CareTeamMember,
    Hold,
    Referral,
    Token,
    Transition,
    TransitionEvent,
    new_id,
)
from inventory.users import User

OPEN, PLACED, CANCELLED, LAPSED = "open", "placed", "cancelled", "lapsed"
LEADS = frozenset({ADMIN, SUPERVISOR})  # may act on any transition, and exceed a caseload
CASELOAD_LOCK_SECONDS, CASELOAD_LOCK_TRIES, CASELOAD_LOCK_WAIT = 10.0, 100, 0.02


@dataclass(frozen=True, slots=True)
class Policy:
    caseload_limit: int
    at_risk_hours: float
    lapse_grace_hours: float
    pathways: dict[str, list[str]] = field(default_factory=dict)


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
            "at_risk": at_risk, "previous_id": t.previous_id, "claimed": t.navigator is not None}


class Transitions:
    def __init__(self, sessions: async_sessionmaker, directory: Directory, clock: Clock,
                 policy: Policy, locks: Locks | None = None) -> None:
        self.sessions = sessions
        self.directory = directory
        self.clock = clock
        self.policy = policy
        self.locks = locks

    @asynccontextmanager
    async def _caseload_of(self, navigator: str) -> AsyncIterator[None]:
        """One change at a time to a navigator's caseload, across processes: two claims at
        seven open must not both see seven and make nine. Held across the SQL commit; its
        term (CASELOAD_LOCK_SECONDS) bounds a crashed holder. Without locks (unit use) the
        database alone serializes."""
        if self.locks is None:
            yield
            return
        name = f"caseload:{navigator}"
        for _ in range(CASELOAD_LOCK_TRIES):
            token = await self.locks.acquire(name, CASELOAD_LOCK_SECONDS)
            if token is not None:
                break
            await asyncio.sleep(CASELOAD_LOCK_WAIT)
        else:
            raise Conflict("this navigator's caseload is being changed right now; try again")
        try:
            yield
        finally:
            await self.locks.release(name, token)

    # Starting: a navigator's own, or discharge pending from the sending program ------------

    async def register(self, actor: Actor, client_ref: str, from_program_id: str,
                       discharge_at: datetime, needs: dict[str, Any],
                       navigator: str | None = None, force: bool = False,
                       previous_id: str | None = None,
                       race_ethnicity: list[str] | None = None) -> dict[str, Any]:
        """Start watching a pending move; refuses a navigator beyond the balanced caseload
        unless an admin or supervisor forces it. `race_ethnicity` (category codes) only
        where the county opted in; the caller checks that."""
        check_client_ref(client_ref)
        if force and actor.role not in LEADS:
            raise NotYourUnit("only an admin or a supervisor may force a caseload beyond its "
                              "limit")
        navigator = navigator or actor.token_id
        if actor.role == NAVIGATOR and navigator != actor.token_id:
            raise NotYourUnit("a navigator registers transitions for themself")
        program = await self.directory.program(from_program_id)
        now = self.clock()
        async with self._caseload_of(navigator), self.sessions() as session, session.begin():
            await self._check_caseload(session, navigator, force)
            row = Transition(id=new_id("trn"), client_ref=client_ref,
                             from_program_id=program.id, from_level=program.level_of_care,
                             discharge_at=discharge_at, needs=needs, navigator=navigator,
                             status=OPEN, created_at=now, previous_id=previous_id,
                             created_by=actor.token_id, race_ethnicity=race_ethnicity)
            session.add(row)
            timeline.append(session, row.id, timeline.CREATED, actor, now,
                            from_program_id=program.id, from_level=program.level_of_care,
                            ready_by=discharge_at.isoformat(), previous_id=previous_id)
        return view(row, now, self.policy)

    async def discharge_pending(self, actor: Actor, client_ref: str, from_program_id: str,
                                ready_by: datetime, needs: dict[str, Any]) -> dict[str, Any]:
        """A sending program's staff (a provider of its organization), a navigator or an
        admin marks a client ready to move on: an unclaimed transition in the queue, with the
        sending organization on its care team."""
        check_client_ref(client_ref)
        program = await self.directory.program(from_program_id)
        if actor.role == PROVIDER and actor.organization_id != program.organization_id:
            raise NotYourUnit(f"program {program.name!r} belongs to another organization")
        if actor.role not in (PROVIDER, NAVIGATOR, ADMIN, SUPERVISOR):
            raise NotYourUnit("only the sending program's providers, navigators and admins "
                              "mark a client discharge-pending")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = Transition(id=new_id("trn"), client_ref=client_ref,
                             from_program_id=program.id, from_level=program.level_of_care,
                             discharge_at=ready_by, needs=needs, navigator=None,
                             status=OPEN, created_at=now, created_by=actor.token_id)
            session.add(row)
            care_team.add_organization(session, row.id, program.organization_id,
                                       program.name, actor, now)
            timeline.append(session, row.id, timeline.DISCHARGE_PENDING, actor, now,
                            from_program_id=program.id, from_level=program.level_of_care,
                            ready_by=ready_by.isoformat())
        return view(row, now, self.policy)

    # Caseload, queue, claim, assign --------------------------------------------------------

    async def _caseload(self, session: Any, navigator: str) -> int:
        return (await session.execute(select(func.count(Transition.id)).where(
            Transition.navigator == navigator, Transition.status == OPEN))).scalar_one()

    async def _navigator_label(self, session: AsyncSession, navigator: str) -> str:
        """A navigator's display name; Invalid when the id is no navigator's token or person."""
        token = await session.get(Token, navigator)
        if token is not None and token.role == NAVIGATOR and token.revoked_at is None:
            return token.label or navigator
        user = await session.get(User, navigator)
        if user is not None and user.role == NAVIGATOR and user.disabled_at is None:
            return user.display_name or navigator
        raise Invalid(f"navigator {navigator!r} is not a navigator's token id or user id")

    async def _check_caseload(self, session: AsyncSession, navigator: str, force: bool
                              ) -> str:
        label = await self._navigator_label(session, navigator)
        load = await self._caseload(session, navigator)
        if load >= self.policy.caseload_limit and not force:
            raise Conflict(f"navigator {label} already has {load} open transitions, the "
                           f"balanced caseload of {self.policy.caseload_limit}; a supervisor "
                           f"may reassign or force it")
        return label

    async def caseload(self, navigator: str) -> dict[str, int]:
        async with self.sessions() as session:
            return {"open": await self._caseload(session, navigator),
                    "limit": self.policy.caseload_limit}

    async def queue(self, actor: Actor) -> list[dict[str, Any]]:
        """Open transitions nobody has claimed yet, soonest ready-by first."""
        if actor.role not in (NAVIGATOR, ADMIN, SUPERVISOR):
            raise NotYourUnit("only connectors, supervisors and admins see the queue")
        async with self.sessions() as session:
            rows = (await session.execute(select(Transition).where(
                Transition.navigator.is_(None), Transition.status == OPEN).order_by(
                Transition.discharge_at).limit(500))).scalars().all()
        now = self.clock()
        return [view(t, now, self.policy) for t in rows]

    async def claim(self, transition_id: str, actor: Actor) -> dict[str, Any]:
        """A connector takes an unclaimed transition, within their caseload (Conflict, naming
        the limit, beyond it)."""
        if actor.role != NAVIGATOR:
            raise NotYourUnit("only a navigator claims a transition; a supervisor assigns")
        now = self.clock()
        async with self._caseload_of(actor.token_id), self.sessions() as session, \
                session.begin():
            await self._check_caseload(session, actor.token_id, False)
            result = cast(CursorResult[Any], await session.execute(update(Transition).where(
                Transition.id == transition_id, Transition.navigator.is_(None),
                Transition.status == OPEN).values(navigator=actor.token_id)))
            if not result.rowcount:
                row = await session.get(Transition, transition_id)
                if row is None:
                    raise NotFound(f"transition {transition_id!r} does not exist")
                raise Conflict(f"transition {transition_id!r} is already "
                               f"{'claimed' if row.navigator else row.status}")
            timeline.append(session, transition_id, timeline.CLAIMED, actor, now)
            row = await session.get(Transition, transition_id)
        assert row is not None
        return view(row, now, self.policy)

    async def assign(self, transition_id: str, navigator: str, actor: Actor,
                     force: bool = False) -> dict[str, Any]:
        """A supervisor (or admin) gives an open transition to a navigator, beyond their
        caseload only with `force`."""
        if actor.role not in LEADS:
            raise NotYourUnit("only a supervisor or an admin reassigns transitions")
        now = self.clock()
        async with self._caseload_of(navigator), self.sessions() as session, session.begin():
            row = await session.get(Transition, transition_id)
            if row is None:
                raise NotFound(f"transition {transition_id!r} does not exist")
            if row.status != OPEN:
                raise Conflict(f"transition {transition_id!r} is already {row.status}")
            if row.navigator == navigator:
                raise Conflict(f"transition {transition_id!r} is already led by {navigator!r}")
            label = await self._check_caseload(session, navigator, force)
            before, row.navigator = row.navigator, navigator
            timeline.append(session, transition_id, timeline.REASSIGNED, actor, now,
                            to=label, forced=force, was_unclaimed=before is None)
        return view(row, now, self.policy)

    # Reading ---------------------------------------------------------------------------

    async def get(self, transition_id: str, actor: Actor) -> Transition:
        """The transition `actor` leads (or any, for admins and supervisors); NotFound
        otherwise. For changes; reading goes through `visible`."""
        async with self.sessions() as session:
            row = await session.get(Transition, transition_id)
        if row is None or (actor.role not in LEADS and row.navigator != actor.token_id):
            raise NotFound(f"transition {transition_id!r} does not exist")
        return row

    async def visible(self, transition_id: str, actor: Actor) -> Transition:
        async with self.sessions() as session:
            return await care_team.visible(session, transition_id, actor)

    async def detail(self, transition_id: str, actor: Actor) -> dict[str, Any]:
        """One transition as its team sees it: with the team, the lead's caseload, the
        journey's links and what the pathway suggests next."""
        async with self.sessions() as session:
            row = await care_team.visible(session, transition_id, actor)
            data = view(row, self.clock(), self.policy)
            data["team"] = await care_team.team_of(session, row)
            data["caseload"] = ({"open": await self._caseload(session, row.navigator),
                                 "limit": self.policy.caseload_limit}
                                if row.navigator else None)
            data["next_id"] = await session.scalar(select(Transition.id).where(
                Transition.previous_id == row.id).limit(1))
            data["next_levels"] = self.next_levels(row)
            data["member"] = await care_team.is_member(session, row, actor)
            data["referrals"] = await self._referral_statuses(session, row.id)
        return data

    async def _referral_statuses(self, session: AsyncSession, transition_id: str
                                 ) -> list[dict[str, Any]]:
        """What the team sees of the referrals: where to, and how it stands."""
        rows = (await session.execute(select(Referral).where(
            Referral.transition_id == transition_id).order_by(Referral.created_at))).scalars()
        programs = await self.directory.programs()
        return [{"id": r.id, "program_id": r.program_id,
                 "program": programs[r.program_id].name if r.program_id in programs else "",
                 "status": r.status, "decline_reason": r.decline_reason,
                 "responded_at": r.responded_at} for r in rows]

    def next_levels(self, row: Transition) -> list[str]:
        """Where the pathway goes from the level the client was placed in."""
        if row.status != PLACED or row.to_level is None:
            return []
        return list(self.policy.pathways.get(row.to_level, []))

    async def timeline(self, transition_id: str, actor: Actor) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            await care_team.visible(session, transition_id, actor)
            return await timeline.events_of(session, transition_id)

    async def list_for(self, actor: Actor, at_risk: bool = False, status: str | None = None
                       ) -> list[dict[str, Any]]:
        """Those the actor may see (see inventory/care_team.py). Open ones first, at-risk
        ones on top, soonest discharge first."""
        query = select(Transition).where(care_team.visible_to(actor)).order_by(
            Transition.discharge_at).limit(1000)
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

    async def audiences(self, transition_id: str) -> list[Any]:
        async with self.sessions() as session:
            return await care_team.audiences(session, transition_id)

    # Team and notes --------------------------------------------------------------------

    async def invite(self, transition_id: str, member_id: str, release_on_file: bool,
                     actor: Actor) -> dict[str, Any]:
        """The lead (or a supervisor) adds a member; see care_team.invite for the release."""
        row = await self.get(transition_id, actor)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            member = await care_team.invite(session, row, member_id, release_on_file, actor,
                                            now)
            timeline.append(session, row.id, timeline.MEMBER_INVITED, actor, now,
                            member=member.label, organization_id=member.organization_id,
                            release_on_file=member.release_on_file)
            return await care_team.team_of(session, row)

    async def remove_member(self, transition_id: str, member_id: str, actor: Actor
                            ) -> dict[str, Any]:
        row = await self.get(transition_id, actor)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            member = await care_team.remove(session, row.id, member_id, now)
            timeline.append(session, row.id, timeline.MEMBER_REMOVED, actor, now,
                            member=member.label)
            return await care_team.team_of(session, row)

    async def add_note(self, transition_id: str, text: str, actor: Actor) -> dict[str, Any]:
        """A short note from anyone on the team, checked for identifiers first."""
        text = text.strip()
        if not text:
            raise Invalid("a note needs some text")
        check_note(text)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await care_team.visible(session, transition_id, actor)
            if not await care_team.is_member(session, row, actor):
                raise NotYourUnit("only the care team adds notes; a receiving program reads "
                                  "the timeline")
            event = timeline.append(session, row.id, timeline.NOTE, actor, now, text=text)
        return timeline.view(event)

    # Changes that end or continue a transition ----------------------------------------

    async def cancel(self, transition_id: str, actor: Actor) -> dict[str, Any]:
        return await self._end(await self.get(transition_id, actor), CANCELLED, actor)

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
            if not await self.link_in(session, transition_id, hold, actor.name):
                row = await session.get(Transition, transition_id)
                raise Conflict(f"transition {transition_id!r} is already "
                               f"{row.status if row else 'gone'}")

    async def link_in(self, session: AsyncSession, transition_id: str, hold: HoldView,
                      actor_name: str = "system") -> bool:
        """Within the caller's transaction, link the hold if the transition is still open
        (compare-and-set on its status); False when it is not, and nothing is written."""
        program = await self.directory.program(hold.program_id)
        result = cast(CursorResult[Any], await session.execute(update(Transition).where(
            Transition.id == transition_id, Transition.status == OPEN).values(
            hold_id=hold.id, to_level=program.level_of_care)))
        if result.rowcount:
            timeline.append(session, transition_id, timeline.HOLD_PLACED, actor_name,
                            self.clock(), program_id=program.id, program=program.name,
                            expires_at=hold.expires_at.isoformat())
        return bool(result.rowcount)

    async def hold_ended(self, session: AsyncSession, hold: HoldView,
                         actor_name: str = "system") -> None:
        """Follow a hold, inside the transaction that ends it: admitted means placed (and the
        pathway's next step is offered); released or expired means at risk again."""
        row = (await session.execute(select(Transition).where(
            Transition.hold_id == hold.id, Transition.status == OPEN))).scalar_one_or_none()
        if row is None:
            return
        now = self.clock()
        if hold.status == ADMITTED:
            row.status, row.ended_at = PLACED, now
            timeline.append(session, row.id, timeline.ADMITTED, actor_name, now,
                            program_id=hold.program_id, level=row.to_level,
                            next_levels=self.next_levels(row))
        else:
            row.hold_id, row.to_level = None, None
            timeline.append(session, row.id, timeline.HOLD_RELEASED, actor_name, now,
                            program_id=hold.program_id, why=hold.status)

    async def next_step(self, transition_id: str, ready_by: datetime,
                        needs: dict[str, Any] | None, actor: Actor) -> dict[str, Any]:
        """Watch the pathway's next step for a placed client: a follow-on transition from the
        program they were admitted to, same reference, same team, same connector."""
        row = await self.get(transition_id, actor)
        if row.status != PLACED or row.hold_id is None:
            raise Conflict(f"transition {transition_id!r} is {row.status}, not placed: the "
                           f"next step follows an admission")
        async with self.sessions() as session:
            taken = await session.scalar(select(Transition.id).where(
                Transition.previous_id == row.id).limit(1))
        if taken:
            raise Conflict(f"the next step of {transition_id!r} is already watched as "
                           f"{taken!r}")
        if row.client_ref is None:
            raise Conflict("this transition's client reference was purged; start a new one")
        hold = await self._hold_program(row.hold_id)
        lead = row.navigator or actor.token_id
        created = await self.register(actor, row.client_ref,
                                      hold, ready_by, needs if needs is not None else row.needs,
                                      navigator=lead, force=actor.role in LEADS,
                                      previous_id=row.id)
        await self._carry_team(row, created["id"], actor)
        return created

    async def _hold_program(self, hold_id: str) -> str:
        async with self.sessions() as session:
            hold = await session.get(Hold, hold_id)
        assert hold is not None
        return (await self.directory.program_of_unit(hold.unit_id)).id

    async def _carry_team(self, previous: Transition, next_id: str, actor: Actor) -> None:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            members = (await session.execute(select(CareTeamMember).where(
                CareTeamMember.transition_id == previous.id,
                CareTeamMember.removed_at.is_(None)))).scalars().all()
            for m in members:
                session.add(CareTeamMember(
                    transition_id=next_id, member_id=m.member_id,
                    organization_id=m.organization_id, label=m.label,
                    release_on_file=m.release_on_file,
                    release_confirmed_by=m.release_confirmed_by,
                    release_confirmed_at=m.release_confirmed_at, invited_by=m.invited_by,
                    invited_at=m.invited_at))
            timeline.append(session, previous.id, timeline.NEXT_STEP, actor, now,
                            next_id=next_id)

    async def lapse_overdue(self) -> int:
        """Discharged with no placement and no hold: the transition lapsed. Each is ended by
        compare-and-set, so a concurrent run (or a hold placed meanwhile) records no second
        `lapsed` line."""
        now = self.clock()
        cutoff = now - timedelta(hours=self.policy.lapse_grace_hours)
        lapsed = 0
        async with self.sessions() as session, session.begin():
            ids = list((await session.execute(select(Transition.id).where(
                Transition.status == OPEN, Transition.hold_id.is_(None),
                Transition.discharge_at < cutoff))).scalars())
            for transition_id in ids:
                result = cast(CursorResult[Any], await session.execute(
                    update(Transition).where(Transition.id == transition_id,
                                             Transition.status == OPEN,
                                             Transition.hold_id.is_(None))
                    .values(status=LAPSED, ended_at=now)))
                if result.rowcount:
                    lapsed += 1
                    timeline.append(session, transition_id, timeline.LAPSED, "system:watch",
                                    now)
        return lapsed

    async def record(self, transition_id: str, kind: str, actor_name: str,
                     **details: Any) -> None:
        """One timeline event on its own (the watch's at-risk and bed-match findings)."""
        async with self.sessions() as session, session.begin():
            timeline.append(session, transition_id, kind, actor_name, self.clock(), **details)

    async def recorded(self, transition_id: str, kind: str) -> bool:
        async with self.sessions() as session:
            return await session.scalar(select(TransitionEvent.id).where(
                TransitionEvent.transition_id == transition_id,
                TransitionEvent.kind == kind).limit(1)) is not None

    async def _end(self, row: Transition, status: str, actor: Actor) -> dict[str, Any]:
        if row.status != OPEN:
            raise Conflict(f"transition {row.id!r} is already {row.status}")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            result = cast(CursorResult[Any], await session.execute(update(Transition).where(
                Transition.id == row.id, Transition.status == OPEN).values(
                status=status, ended_at=now)))
            if not result.rowcount:
                raise Conflict(f"transition {row.id!r} is no longer open")
            timeline.append(session, row.id, timeline.CANCELLED, actor, now)
        row.status, row.ended_at = status, now
        return view(row, now, self.policy)

    async def purge_client_refs(self, ended_before: datetime) -> int:
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Transition).where(Transition.ended_at < ended_before,
                                         Transition.client_ref.is_not(None))
                .values(client_ref=None))
        return result.rowcount or 0
