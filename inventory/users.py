"""People who sign in with the county's identity provider: one row per (issuer, subject).

A person's role and organization come from their provider's claims at sign-in; when the
provider sends none, the role an admin assigned here is used. A person disabled here is
refused at their next request, whatever the provider says. Only what staff need to see who
did what is kept: display name, e-mail, organization, role and when they were last seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from inventory.actors import PROVIDER, ROLES, Actor
from inventory.errors import Invalid, NotFound
from inventory.records import Base, Organization, new_id

PERSON_PREFIX = "usr-"  # a person's id, and so their actor's `token_id`


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    # The assignment an admin made in Bedfinder; claims from the provider take precedence.
    organization_id: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class Claims:
    """What the identity provider said about a person at sign-in or at a recheck."""

    issuer: str
    subject: str
    display_name: str
    email: str | None
    role: str | None
    organization_id: str | None


@dataclass(frozen=True, slots=True)
class Person:
    """A person as Bedfinder sees them now: `role` is None when nobody gave them one."""

    id: str
    display_name: str
    email: str | None
    role: str | None
    organization_id: str | None
    disabled: bool

    def actor(self) -> Actor | None:
        """The actor for this person's requests; None when they may not act at all."""
        if self.disabled or self.role not in ROLES:
            return None
        if self.role == PROVIDER and not self.organization_id:
            return None  # a provider without an organization could change nothing
        return Actor(token_id=self.id, role=self.role, person=self.display_name,
                     label=self.display_name,
                     organization_id=self.organization_id if self.role == PROVIDER else None)


def _name(claims: Claims) -> str:
    return (claims.display_name or claims.email or claims.subject)[:200]


class Users:
    """The users table, and how claims and an admin's assignment combine into a role."""

    def __init__(self, sessions: async_sessionmaker) -> None:
        self.sessions = sessions

    async def signed_in(self, claims: Claims, now: datetime) -> Person:
        """Record a sign-in or recheck (creating the person on first sight) and answer who
        they are now: the provider's role and organization if it sent them, else the
        admin's assignment."""
        async with self.sessions() as session, session.begin():
            row = (await session.execute(select(User).where(
                User.issuer == claims.issuer, User.subject == claims.subject))).scalar_one_or_none()
            if row is None:
                row = User(id=new_id("usr"), issuer=claims.issuer, subject=claims.subject,
                           created_at=now)
                session.add(row)
            row.display_name = _name(claims)
            row.email = claims.email
            row.last_seen_at = now
        return self._person(row, claims)

    @staticmethod
    def _person(row: User, claims: Claims | None = None) -> Person:
        role = (claims.role if claims and claims.role else None) or row.role
        org = (claims.organization_id if claims and claims.organization_id else None) \
            or row.organization_id
        return Person(id=row.id, display_name=row.display_name, email=row.email, role=role,
                      organization_id=org, disabled=row.disabled_at is not None)

    async def subject_of(self, user_id: str) -> str:
        async with self.sessions() as session:
            row = await session.get(User, user_id)
        return row.subject if row is not None else ""

    async def is_disabled(self, user_id: str) -> bool:
        async with self.sessions() as session:
            row = await session.get(User, user_id)
        return row is None or row.disabled_at is not None

    async def no_longer_active(self, user_ids: set[str]) -> set[str]:
        """Those of these people who are gone or disabled here: the websocket sweep closes
        their connections (a person's websockets are keyed by their user id)."""
        if not user_ids:
            return set()
        async with self.sessions() as session:
            active = set((await session.execute(
                select(User.id).where(User.id.in_(user_ids), User.disabled_at.is_(None))
            )).scalars())
        return user_ids - active

    async def list(self) -> list[User]:
        async with self.sessions() as session:
            return list((await session.execute(
                select(User).order_by(User.display_name, User.id))).scalars())

    async def assign(self, user_id: str, now: datetime, *, role: str | None = None,
                     organization_id: str | None = None, disabled: bool | None = None,
                     clear_role: bool = False) -> User:
        """An admin's assignment: a role (and organization) used when the provider sends
        none, and disabling, which refuses the person at their next request."""
        if role is not None and role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        async with self.sessions() as session, session.begin():
            row = await session.get(User, user_id)
            if row is None:
                raise NotFound(f"no person with id {user_id!r}")
            if organization_id is not None:
                if await session.get(Organization, organization_id) is None:
                    raise NotFound(f"organization {organization_id!r} does not exist")
                row.organization_id = organization_id
            if role is not None or clear_role:
                row.role = role
            if disabled is not None:
                row.disabled_at = now if disabled else None
        return row

    async def token_owner(self, owner_id: str) -> str:
        """How a token's owner is recorded, from a person's or an organization's id: a person
        as their writes are named (`Name (usr-...)`), an organization by its id. Refuses an
        id that names neither, and a disabled person (they answer for nothing any more)."""
        async with self.sessions() as session:
            if owner_id.startswith(PERSON_PREFIX):
                row = await session.get(User, owner_id)
                if row is None:
                    raise NotFound(f"owner: no person with id {owner_id!r}")
                if row.disabled_at is not None:
                    raise Invalid(f"owner: {row.display_name} ({owner_id}) is disabled")
                return Actor(token_id=row.id, role="", person=row.display_name).name
            if await session.get(Organization, owner_id) is None:
                raise NotFound(f"owner: no person (usr-...) or organization with id "
                               f"{owner_id!r}")
            return owner_id

    async def names(self, user_ids: set[str]) -> dict[str, str]:
        """Display names of these user ids (ids that are not people are left out)."""
        wanted = {i for i in user_ids if i.startswith(PERSON_PREFIX)}
        if not wanted:
            return {}
        async with self.sessions() as session:
            rows = await session.execute(select(User.id, User.display_name)
                                         .where(User.id.in_(wanted)))
        return {i: n for i, n in rows}
