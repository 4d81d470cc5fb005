"""Making the records alerts are about: people, a transition, its care team and timeline
events (written as the connector's flows write them, then published as they publish)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from inventory import timeline
from inventory.actors import SYSTEM, Actor
from inventory.clock import utcnow
from inventory.records import CareTeamMember, Transition
from inventory.users import User
from tests.conftest import Server


async def person(server: Server, role: str, email: str | None) -> Actor:
    """A signed-in person with an e-mail address, as the users table keeps them."""
    user_id = f"usr-{secrets.token_hex(6)}"
    async with server.svc.sessions() as session, session.begin():
        session.add(User(id=user_id, issuer="https://idp.example.org", subject=user_id,
                         display_name=f"Staff {user_id[-4:]}", email=email, role=role,
                         created_at=utcnow()))
    return Actor(token_id=user_id, role=role, person=f"Staff {user_id[-4:]}")


async def transition(server: Server, navigator: str | None, client_ref: str = "C-1042") -> str:
    org = await server.org("Sending Detox")
    program = await server.program(org, level_of_care="withdrawal_management")
    transition_id = f"trn-{secrets.token_hex(6)}"
    async with server.svc.sessions() as session, session.begin():
        session.add(Transition(
            id=transition_id, client_ref=client_ref, from_program_id=program,
            # Far off: the connector's watch does not flag it at risk while a test runs.
            from_level="withdrawal_management", discharge_at=utcnow() + timedelta(days=30),
            needs={}, navigator=navigator, status="open", created_at=utcnow()))
    return transition_id


async def member(server: Server, transition_id: str, member_id: str) -> None:
    async with server.svc.sessions() as session, session.begin():
        session.add(CareTeamMember(transition_id=transition_id, member_id=member_id,
                                   label="member", invited_by="test", invited_at=utcnow()))


async def event(server: Server, transition_id: str, kind: str, **details: Any) -> int:
    """One timeline event, written as the connector's flows write them (inventory/timeline.py:
    in a transaction, published to the team once it commits)."""
    async with server.svc.sessions() as session, session.begin():
        row = timeline.append(session, transition_id, kind, SYSTEM, **details)
        await session.flush()
        return row.id
