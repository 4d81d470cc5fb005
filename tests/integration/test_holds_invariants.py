"""The availability invariants under any sequence of provider updates, capacity changes,
holds, admits, releases and expiries (hypothesis, against real Redis and SQL).

Checked after every step, for every unit (at least the nine Finding A Bed Tonight checks):
 1. available >= 0            2. held >= 0                 3. waitlist >= 0
 4. capacity >= 0             5. available + held <= capacity
 6. held == active holds in Redis   7. held == active holds in SQL
 8. every active hold has exactly one expiry, and no expiry outlives its hold
 9. live counts equal the model's (no bed granted twice, none lost)
10. the last audit row of the unit equals its live counts
11. seqs only grow: each unit's seq <= the global seq, which never decreases
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
)
from sqlalchemy import func, select

from inventory.actors import SYSTEM, Actor
from inventory.errors import Conflict, Invalid, NoCapacity
from inventory.records import AuditEntry, Hold
from inventory.system import System, build_system

NAVIGATOR = Actor(token_id="tok-nav", role="navigator")
UNITS = 2


def machine_for(settings: Any) -> type[RuleBasedStateMachine]:
    class HoldsMachine(RuleBasedStateMachine):
        holds = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.now = datetime(2026, 1, 1, tzinfo=UTC)
            self.svc: System = self.run(build_system(settings, settings.redis_url))
            self.svc.holds.clock = lambda: self.now
            self.svc.availability.clock = lambda: self.now
            self.model: dict[str, dict[str, int]] = {}
            self.active: dict[str, tuple[str, datetime]] = {}
            self.ended: set[str] = set()
            self.last_seq = 0
            self.run(self.setup())

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        async def setup(self) -> None:
            await self.svc.availability.ensure_ready()
            d = self.svc.directory
            org = (await d.create_organization("Org " + secrets.token_hex(3))).id
            program = await d.create_program({
                "organization_id": org, "name": "P", "level_of_care": "shelter",
                "genders": ["female"], "payers": [], "languages": ["en"], "mat": []})
            for capacity in range(2, 2 + UNITS):
                state = await d.create_unit(program.id, SYSTEM, label="u", kind="bed",
                                            capacity=capacity, available=1)
                self.model[state.id] = {"available": 1, "held": 0, "capacity": capacity}

        def teardown(self) -> None:
            self.run(self.svc.close())
            self.loop.close()

        def unit(self, index: int) -> str:
            return sorted(self.model)[index]

        @rule(index=st.integers(0, UNITS - 1), available=st.integers(-1, 5),
              capacity=st.one_of(st.none(), st.integers(0, 5)))
        def provider_sets(self, index: int, available: int, capacity: int | None) -> None:
            unit = self.unit(index)
            m = self.model[unit]
            cap = m["capacity"] if capacity is None else capacity
            allowed = available >= 0 and available + m["held"] <= cap
            try:
                self.run(self.svc.availability.set_availability(
                    unit, SYSTEM, "test", available=max(available, 0) if available >= 0
                    else available, capacity=capacity))
            except (Invalid, NoCapacity):
                assert not allowed
                return
            assert allowed
            m["available"], m["capacity"] = available, cap

        @rule(target=holds, index=st.integers(0, UNITS - 1), minutes=st.integers(1, 30))
        def place(self, index: int, minutes: int) -> Any:
            unit = self.unit(index)
            try:
                hold = self.run(self.svc.holds.place(unit, "ref-" + secrets.token_hex(3),
                                                     NAVIGATOR, minutes))
            except NoCapacity:
                assert self.model[unit]["available"] == 0
                return multiple()
            m = self.model[unit]
            assert m["available"] > 0, "a hold was granted with no bed free"
            m["available"] -= 1
            m["held"] += 1
            self.active[hold.id] = (unit, hold.expires_at)
            return hold.id

        @rule(hold=consumes(holds), op=st.sampled_from(["admit", "release"]))
        def end(self, hold: str, op: str) -> None:
            try:
                self.run(self.svc.holds.end(hold, op, SYSTEM))
            except Conflict:
                assert hold not in self.active
                return
            unit, _ = self.active.pop(hold)
            self.ended.add(hold)
            self.model[unit]["held"] -= 1
            if op == "release":
                self.model[unit]["available"] += 1

        @precondition(lambda self: bool(self.active))
        @rule(minutes=st.integers(0, 31))
        def time_passes(self, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)
            self.run(self.svc.holds.expire_due())
            for hold, (unit, expires) in list(self.active.items()):
                if expires <= self.now:
                    del self.active[hold]
                    self.ended.add(hold)
                    self.model[unit]["held"] -= 1
                    self.model[unit]["available"] += 1

        @invariant()
        def availability_invariants_hold(self) -> None:
            self.run(self.check())

        async def check(self) -> None:
            live = self.svc.live
            states = await live.units(self.model)
            seq = await live.current_seq()
            assert seq >= self.last_seq
            self.last_seq = seq
            async with self.svc.sessions() as session:
                for unit, m in self.model.items():
                    s = states[unit]
                    assert s.available >= 0 and s.held >= 0
                    assert s.waitlist >= 0 and s.capacity >= 0
                    assert s.available + s.held <= s.capacity
                    assert (s.available, s.held, s.capacity) == (
                        m["available"], m["held"], m["capacity"])
                    redis_holds = await live.active_hold_ids(unit)
                    assert len(redis_holds) == s.held
                    sql_holds = (await session.execute(select(func.count(Hold.id)).where(
                        Hold.unit_id == unit, Hold.status == "active"))).scalar_one()
                    assert sql_holds == s.held
                    last = (await session.execute(select(AuditEntry).where(
                        AuditEntry.unit_id == unit).order_by(AuditEntry.seq.desc()).limit(1))
                    ).scalar_one()
                    assert (last.available, last.held, last.capacity, last.seq) == (
                        s.available, s.held, s.capacity, s.seq)
                    assert s.seq <= seq
            ours = {h for unit in self.model for h in await live.active_hold_ids(unit)}
            scores = [await live.redis.zscore(live.keys.hold_expiry, h) for h in ours]
            assert None not in scores
            assert ours == set(self.active)
            for h in self.ended:
                assert await live.redis.zscore(live.keys.hold_expiry, h) is None

    return HoldsMachine


@pytest.mark.slow
def test_availability_invariants_hold_under_any_interleaving(settings: Any) -> None:
    machine = machine_for(settings)
    machine.TestCase.settings = hsettings(
        max_examples=25, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    machine.TestCase().runTest()
