"""A transition's care team, and who may see a transition at all.

The team is the lead connector (`Transition.navigator`) plus members: a person (`usr-...`)
or a token invited by id, or a whole organization (the sending program's providers, who
marked the client discharge-pending). Beside the team, the providers of a program that has a
referral or the hold for a transition see it too, read-only: the sending and the accepting
program look at the same timeline. Admins and supervisors see every transition.

Anyone else is told the transition does not exist (NotFound, never "forbidden"): an id proves
nothing, and a refusal would confirm that a client of that reference is moving.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
from inventory.errors import Conflict, Invalid, NotFound
from inventory.notify import Audience
from inventory.records import CareTeamMember, Hold, Program, Referral, Token, Transition, Unit
from inventory.users import User

SEE_ALL = frozenset({ADMIN, SUPERVISOR})


def _active() -> ColumnElement[bool]:
    return CareTeamMember.removed_at.is_(None)


def _receiving_programs(organization_id: str) -> Any:
    return select(Program.id).where(Program.organization_id == organization_id)


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition on `Transition`: the ones `actor` may see."""
    if actor.role in SEE_ALL:
        return true()
    conditions: list[ColumnElement[bool]] = [
        Transition.navigator == actor.token_id,
        Transition.id.in_(select(CareTeamMember.transition_id).where(
            CareTeamMember.member_id == actor.token_id, _active()))]
    org = actor.organization_id
    if org and actor.role in (PROVIDER, NAVIGATOR):
        conditions.append(Transition.id.in_(select(CareTeamMember.transition_id).where(
            CareTeamMember.member_id.is_(None), CareTeamMember.organization_id == org,
            _active())))
    if org and actor.role == PROVIDER:
        conditions.append(Transition.id.in_(select(Referral.transition_id).where(
            Referral.program_id.in_(_receiving_programs(org)))))
        conditions.append(Transition.hold_id.in_(select(Hold.id).join(
            Unit, Unit.id == Hold.unit_id).where(Unit.program_id.in_(
                _receiving_programs(org)))))
    return or_(*conditions)


async def visible(session: AsyncSession, transition_id: str, actor: Actor) -> Transition:
    """The transition if `actor` may see it; NotFound (as for an unknown id) otherwise."""
    row = (await session.execute(select(Transition).where(
        Transition.id == transition_id, visible_to(actor)))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"transition {transition_id!r} does not exist")
    return row


async def is_member(session: AsyncSession, transition: Transition, actor: Actor) -> bool:
    """Whether `actor` is on the team (lead, invited member, or of a member organization):
    those may add notes; receiving programs only read."""
    if actor.role in SEE_ALL or transition.navigator == actor.token_id:
        return True
    query = select(CareTeamMember.id).where(
        CareTeamMember.transition_id == transition.id, _active(),
        or_(CareTeamMember.member_id == actor.token_id,
            (CareTeamMember.member_id.is_(None))
            & (CareTeamMember.organization_id == (actor.organization_id or "\0none"))))
    return await session.scalar(query.limit(1)) is not None


async def audiences(session: AsyncSession, transition_id: str) -> list[Audience]:
    """Everyone who sees this transition live: lead, members, member and receiving
    organizations, and supervisors."""
    row = await session.get(Transition, transition_id)
    if row is None:
        return []
    found: list[Audience] = [Audience(role=SUPERVISOR)]
    if row.navigator:
        found.append(Audience(token_id=row.navigator))
    members = (await session.execute(select(CareTeamMember).where(
        CareTeamMember.transition_id == transition_id, _active()))).scalars()
    orgs: set[str] = set()
    for m in members:
        if m.member_id:
            found.append(Audience(token_id=m.member_id))
        elif m.organization_id:
            orgs.add(m.organization_id)
    orgs.update(await session.scalars(select(Program.organization_id).join(
        Referral, Referral.program_id == Program.id).where(
        Referral.transition_id == transition_id)))
    found.extend(Audience(organization_id=o) for o in sorted(orgs))
    return found


async def organization_of(session: AsyncSession, member_id: str) -> tuple[str | None, str]:
    """The organization and a display label of a person (`usr-...`) or token; Invalid when
    neither exists."""
    user = await session.get(User, member_id)
    if user is not None and user.disabled_at is None:
        return user.organization_id, user.display_name or member_id
    token = await session.get(Token, member_id)
    if token is not None and token.revoked_at is None:
        return token.organization_id, token.label or f"{token.role}:{token.id}"
    raise Invalid(f"member {member_id!r} is neither a person's user id nor a token id")


async def invite(session: AsyncSession, transition: Transition, member_id: str,
                 release_on_file: bool, actor: Actor, now: datetime) -> CareTeamMember:
    """Add a member in the caller's transaction. Across organizations (the member's differs
    from the lead's) a release of information must be confirmed on file: Invalid otherwise."""
    member_org, label = await organization_of(session, member_id)
    lead_org = (await organization_of(session, transition.navigator))[0] \
        if transition.navigator else actor.organization_id
    if member_org != lead_org and not release_on_file:
        raise Invalid(f"{label} is of another organization ({member_org or 'none'}) than the "
                      f"lead connector ({lead_org or 'none'}): confirm that a release of "
                      f"information is on file (release_on_file: true)")
    existing = await session.scalar(select(CareTeamMember).where(
        CareTeamMember.transition_id == transition.id, CareTeamMember.member_id == member_id,
        _active()))
    if existing is not None or member_id == transition.navigator:
        raise Conflict(f"{label} is already on this transition's care team")
    crossing = member_org != lead_org
    row = CareTeamMember(
        transition_id=transition.id, member_id=member_id, organization_id=member_org,
        label=label[:100], release_on_file=crossing,
        release_confirmed_by=actor.name if crossing else None,
        release_confirmed_at=now if crossing else None, invited_by=actor.name,
        invited_at=now)
    session.add(row)
    return row


def add_organization(session: AsyncSession, transition_id: str, organization_id: str,
                     label: str, actor: Actor, now: datetime) -> None:
    """Make a whole organization a member (the sending program that created the transition:
    the information is its own, so no release is asked)."""
    session.add(CareTeamMember(transition_id=transition_id, member_id=None,
                               organization_id=organization_id, label=label[:100],
                               release_on_file=False, invited_by=actor.name, invited_at=now))


async def remove(session: AsyncSession, transition_id: str, member_id: str, now: datetime
                 ) -> CareTeamMember:
    row = await session.scalar(select(CareTeamMember).where(
        CareTeamMember.transition_id == transition_id, CareTeamMember.member_id == member_id,
        _active()))
    if row is None:
        raise NotFound(f"{member_id!r} is not on this transition's care team")
    row.removed_at = now
    return row


def member_view(m: CareTeamMember) -> dict[str, Any]:
    return {"member_id": m.member_id, "organization_id": m.organization_id, "label": m.label,
            "release_on_file": m.release_on_file,
            "release_confirmed_by": m.release_confirmed_by,
            "release_confirmed_at": m.release_confirmed_at, "invited_by": m.invited_by,
            "invited_at": m.invited_at}


async def team_of(session: AsyncSession, transition: Transition) -> dict[str, Any]:
    members = (await session.execute(select(CareTeamMember).where(
        CareTeamMember.transition_id == transition.id, _active()).order_by(
        CareTeamMember.id))).scalars()
    return {"lead": transition.navigator, "members": [member_view(m) for m in members]}
