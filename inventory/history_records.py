"""SQL tables of the analytics history: hourly roll-ups, unit snapshots and the demand log.

The audit log stays the source of truth; these tables are derived from it (roll-ups,
snapshots) or are anonymous counts (demand), so month-long questions read a few thousand rows
instead of replaying every change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.records import Base, Hold, Referral, Transition

ALL_AREAS = "*"


class AvailabilityHour(Base):
    """One level of care in one area (or `*`, all areas) during one UTC hour: integrals of
    beds over time, so sums over hours, levels and areas stay exact."""

    __tablename__ = "availability_hours"

    hour: Mapped[datetime] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(100), primary_key=True)
    available_seconds: Mapped[float] = mapped_column(Float)
    held_seconds: Mapped[float] = mapped_column(Float)
    capacity_seconds: Mapped[float] = mapped_column(Float)
    zero_seconds: Mapped[float] = mapped_column(Float)
    observed_seconds: Mapped[float] = mapped_column(Float)


class UnitSnapshot(Base):
    """Every unit's counts at one instant (an hour boundary), where replay can start."""

    __tablename__ = "unit_snapshots"

    taken_at: Mapped[datetime] = mapped_column(primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    available: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)


class DemandEntry(Base):
    """One level of care asked for by one search or match request, and whether anything
    with a bed was shown. Never who asked, for whom, or where exactly: only the area."""

    __tablename__ = "demand_log"
    __table_args__ = (Index("ix_demand_log_at_level", "at", "level"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(100))
    matched: Mapped[int] = mapped_column(Integer)
    found: Mapped[bool] = mapped_column(Boolean)
    filters: Mapped[dict] = mapped_column(default=dict)



# Measures read holds, transitions and referrals by when they started (migration 0003).
Index("ix_holds_created_at", Hold.created_at)
Index("ix_transitions_created_at", Transition.created_at)
Index("ix_referrals_created_at", Referral.created_at)
