"""SQL tables: the system of record (directory, tokens, holds) and the append-only audit log.

Redis holds the live counts; every accepted change is also an `AuditEntry`, so the live state
can always be rebuilt from here.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC time")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict: JSON, list: JSON}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    programs: Mapped[list[Program]] = relationship(back_populates="organization")


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    level_of_care: Mapped[str] = mapped_column(String(64), index=True)
    asam_level: Mapped[str | None] = mapped_column(String(16))
    area: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    phone: Mapped[str | None] = mapped_column(String(40))
    genders: Mapped[list] = mapped_column(default=list)
    age_min: Mapped[int] = mapped_column(Integer, default=0)
    age_max: Mapped[int] = mapped_column(Integer, default=120)
    payers: Mapped[list] = mapped_column(default=list)
    languages: Mapped[list] = mapped_column(default=list)
    mat: Mapped[list] = mapped_column(default=list)
    wheelchair: Mapped[bool] = mapped_column(Boolean, default=False)
    pets: Mapped[bool] = mapped_column(Boolean, default=False)
    co_occurring: Mapped[bool] = mapped_column(Boolean, default=False)
    involuntary: Mapped[bool] = mapped_column(Boolean, default=False)
    secure: Mapped[bool] = mapped_column(Boolean, default=False)
    harm_reduction: Mapped[bool] = mapped_column(Boolean, default=False)
    telehealth: Mapped[bool] = mapped_column(Boolean, default=False)
    reentry: Mapped[bool] = mapped_column(Boolean, default=False)
    homeless_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[dict | None] = mapped_column(JSON, default=None)  # inventory/hours.py
    cadence_minutes: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    organization: Mapped[Organization] = relationship(back_populates="programs")
    units: Mapped[list[Unit]] = relationship(back_populates="program", order_by="Unit.id")


class Unit(Base):
    """A pool of beds or treatment slots of one program; its live counts are in Redis."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8), default="bed")
    capacity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    # The unit's own population (inventory/eligibility.py): each only narrows its program's
    # eligibility; NULL inherits the program's value.
    genders: Mapped[list | None] = mapped_column(JSON, default=None)
    age_min: Mapped[int | None] = mapped_column(Integer, default=None)
    age_max: Mapped[int | None] = mapped_column(Integer, default=None)
    wheelchair: Mapped[bool | None] = mapped_column(Boolean, default=None)
    involuntary: Mapped[bool | None] = mapped_column(Boolean, default=None)
    secure: Mapped[bool | None] = mapped_column(Boolean, default=None)

    program: Mapped[Program] = relationship(back_populates="units")


class AuditEntry(Base):
    """One accepted change, exactly as it was applied; rows are only ever inserted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_unit_seq", "unit_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(40))
    available: Mapped[int]
    held: Mapped[int]
    waitlist: Mapped[int]
    capacity: Mapped[int]
    hold_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(default=dict)


class Token(Base):
    """An API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    # Who answers for it: the person who issued it, or the organization it names.
    owner: Mapped[str | None] = mapped_column(String(300))


class Hold(Base):
    """A bed kept for a client on the way; `client_ref` is the navigator's opaque reference."""

    __tablename__ = "holds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    client_ref: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Transition(Base):
    """A pending move out of a program, watched until the client lands somewhere safe."""

    __tablename__ = "transitions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_ref: Mapped[str | None] = mapped_column(String(64))
    from_program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    from_level: Mapped[str] = mapped_column(String(64))
    discharge_at: Mapped[datetime] = mapped_column(index=True)
    needs: Mapped[dict] = mapped_column(default=dict)
    # NULL while a discharge-pending transition waits in the queue for a connector to claim.
    navigator: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    hold_id: Mapped[str | None] = mapped_column(String(64))
    to_level: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The step of the journey this one follows (admitted there, now leaving it).
    previous_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Who created it: a navigator starting one, or a sending program's provider marking
    # discharge pending (then `created_by_org` is a member of its care team).
    created_by: Mapped[str | None] = mapped_column(String(64))
    # OMB SPD 15 (2024) minimum category codes, only where the county opts in
    # (analytics.record_race_ethnicity); NULL when not recorded (migration 0009).
    race_ethnicity: Mapped[list | None] = mapped_column(JSON, default=None)


class Referral(Base):
    """One program asked to take a client; referrals sent together share a `group_id`."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), index=True)
    client_ref: Mapped[str | None] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    navigator: Mapped[str] = mapped_column(String(64), index=True)
    needs: Mapped[dict] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    decline_reason: Mapped[str | None] = mapped_column(String(64))
    hold_id: Mapped[str | None] = mapped_column(String(64))
    transition_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]


class TransitionEvent(Base):
    """One line of a transition's timeline; rows are only ever inserted, and `id` is the
    cursor readers (alerts) follow. `details` never carries client identifiers."""

    __tablename__ = "transition_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    transition_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict] = mapped_column(default=dict)


class CareTeamMember(Base):
    """Someone who follows a transition beside its lead connector: a person (`usr-...`) or a
    token, or a whole organization (`member_id` NULL: the sending program's providers).
    Across organizations a release of information is on file: recorded as who confirmed it
    and when, never the document."""

    __tablename__ = "care_team"
    __table_args__ = (Index("ix_care_team_member", "member_id", "removed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    transition_id: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    release_on_file: Mapped[bool] = mapped_column(Boolean, default=False)
    release_confirmed_by: Mapped[str | None] = mapped_column(String(100))
    release_confirmed_at: Mapped[datetime | None]
    invited_by: Mapped[str] = mapped_column(String(100))
    invited_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
