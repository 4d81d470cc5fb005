"""Making the records alerts are about: people, a transition, its care team and timeline
events (written as the connector's flows write them, then published as they publish)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from inventory.actors import Actor
from inventory.alert_store import CareTeamMember, TransitionEvent
from inventory.clock import utcnow
from inventory.notify import Audience
from inventory.records import Transition
from inventory.users import User
from tests.conftest import Server

# Until the connector's migration is on this branch (then these tables exist already).
SHIM = (
    "CREATE TABLE IF NOT EXISTS transition_events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "transition_id VARCHAR(64) NOT NULL, at DATETIME NOT NULL, kind VARCHAR(32) NOT NULL, "
    "actor VARCHAR(100) NOT NULL, details JSON NOT NULL)",
    "CREATE TABLE IF NOT EXISTS care_team (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "transition_id VARCHAR(64) NOT NULL, member_id VARCHAR(64), organization_id VARCHAR(64), "
    "label VARCHAR(100), release_on_file BOOLEAN, release_confirmed_by VARCHAR(100), "
    "release_confirmed_at DATETIME, invited_by VARCHAR(100), invited_at DATETIME, "
    "removed_at DATETIME)",
)


async def ensure_timeline(server: Server) -> None:
    async with server.svc.engine.begin() as conn:
        for statement in SHIM:
            await conn.execute(text(statement))


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
            from_level="withdrawal_management", discharge_at=utcnow() + timedelta(hours=6),
            needs={}, navigator=navigator, status="open", created_at=utcnow()))
    return transition_id


async def member(server: Server, transition_id: str, member_id: str) -> None:
    async with server.svc.sessions() as session, session.begin():
        await session.execute(insert(CareTeamMember).values(
            transition_id=transition_id, member_id=member_id))


async def event(server: Server, transition_id: str, kind: str, **details: Any) -> int:
    """One timeline event, committed, then published to the team as the connector does."""
    async with server.svc.sessions() as session, session.begin():
        result = await session.execute(insert(TransitionEvent).values(
            transition_id=transition_id, at=utcnow(), kind=kind, actor="system",
            details=details).returning(TransitionEvent.c.id))
        event_id = int(result.scalar_one())
    await server.svc.notifier.send(Audience(role="supervisor"), {
        "type": "transition_event", "transition_id": transition_id,
        "event": {"id": event_id, "kind": kind}})
    return event_id
