"""A small hand-built history in a real database (SQLite, or PostgreSQL when configured),
and the demo's simulated history under a running app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.config import Settings
from inventory.database import create_engine, session_factory
from inventory.records import AuditEntry, Organization, Program, Unit
from tests.conftest import Server, serve
from web.demo import seed
from web.demo_history import fill_history

D = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WM, RES = "withdrawal_management", "residential_sud"


def at(hours: float, days: int = 0) -> datetime:
    return D + timedelta(days=days, hours=hours)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


def program(pid: str, level: str, area: str, cadence: int = 60) -> Program:
    return Program(id=pid, organization_id="org", name=pid, description="", level_of_care=level,
                   asam_level=None, area=area, address=None, latitude=37.7, longitude=-122.4,
                   phone=None, genders=[], age_min=0, age_max=120, payers=[], languages=[],
                   mat=[], cadence_minutes=cadence, created_at=D, updated_at=D)


class Log:
    """Audit rows with increasing seqs."""

    def __init__(self) -> None:
        self.rows: list[AuditEntry] = []

    def add(self, unit: str, hours: float, available: int, capacity: int, held: int = 0,
            op: str = "set") -> None:
        self.rows.append(AuditEntry(
            seq=len(self.rows) + 1, unit_id=unit, op=op, at=at(hours), actor="test",
            source="api", available=available, held=held, waitlist=0, capacity=capacity,
            hold_id=None, note=None, detail={}))


@pytest.fixture
async def directory(sessions: async_sessionmaker) -> async_sessionmaker:
    """Withdrawal management: a1 (Mission, 4 beds) and a2 (Bayview, 2 beds); residential:
    b1 (Mission, 10 beds). Counts over the day D, hour by hour (UTC):

        a1: 1 from 00:00, 0 from 02:00, 2 from 06:00
        a2: 0 from 00:00, 1 from 03:30, 0 from 05:00
        b1: 5 from 00:00, 0 from 04:00, 3 from 04:45
    """
    log = Log()
    log.add("a1", 0, 1, 4, op="create")
    log.add("a2", 0, 0, 2, op="create")
    log.add("b1", 0, 5, 10, op="create")
    log.add("a1", 2, 0, 4)
    log.add("a2", 3.5, 1, 2)
    log.add("b1", 4, 0, 10)
    log.add("b1", 4.75, 3, 10)
    log.add("a2", 5, 0, 2)
    log.add("a1", 6, 2, 4)
    async with sessions() as session, session.begin():
        session.add(Organization(id="org", name="Org", created_at=D))
        session.add_all([program("pa1", WM, "Mission"), program("pa2", WM, "Bayview"),
                         program("pb1", RES, "Mission")])
        await session.flush()
        session.add_all([Unit(id="a1", program_id="pa1", label="a1", capacity=4, created_at=D),
                         Unit(id="a2", program_id="pa2", label="a2", capacity=2, created_at=D),
                         Unit(id="b1", program_id="pb1", label="b1", capacity=10,
                              created_at=D)])
        await session.flush()
        session.add_all(log.rows)
    return sessions


@asynccontextmanager
async def demo_with_history(settings: Settings, days: int
                            ) -> AsyncIterator[tuple[Server, dict[str, int] | None]]:
    """The demo directory with `days` of simulated history, then the app serving it: the
    order of `bedfinder demo --history` (the history owns the live state while it runs)."""
    await seed(settings)
    counts = await fill_history(settings, days)
    async for server in serve(settings):
        yield server, counts
