"""`bedfinder demo --history 30d`: a realistic month of activity on the demo directory.

Simulated, deterministic (seeded) and fictional: providers report counts at their cadence
(some late), beds free up in the morning and fill by night, the tightest levels (residential
SUD, withdrawal management, crisis residential) run out most nights and worst in the third
week; navigators search, hold, register transitions (some lapse when the next level is full)
and send referrals that programs acknowledge, accept or decline. Rows go straight into SQL
with past times, then the live state is rebuilt from them and the history rolled up. It runs
only on a database without history, so it never mixes with real records.
"""

from __future__ import annotations

import heapq
import math
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import func, insert, select

from inventory import history
from inventory.clock import utcnow
from inventory.config import Settings
from inventory.history_records import DemandEntry
from inventory.records import AuditEntry, Hold, Referral, Token, Transition, new_id
from inventory.system import System
from inventory.tokens import create_token, digest

LOCAL = ZoneInfo("America/Los_Angeles")
# Share of beds free at midday (before the evening fills them), by level of care.
FREE_AT_NOON = {"residential_sud": 0.08, "withdrawal_management": 0.17,
                "crisis_residential": 0.2, "psychiatric_inpatient": 0.14, "shelter": 0.14,
                "crisis_stabilization": 0.3, "sobering_center": 0.35,
                "recovery_residence": 0.2, "intensive_outpatient": 0.3, "outpatient": 0.4,
                "opioid_treatment_program": 0.25}
DAY_SWING = {"residential_sud": 0.09, "withdrawal_management": 0.1, "crisis_residential": 0.1,
             "psychiatric_inpatient": 0.08, "shelter": 0.1}
DEMAND = {"withdrawal_management": 5, "residential_sud": 5, "shelter": 4,
          "crisis_residential": 3, "recovery_residence": 3, "psychiatric_inpatient": 2,
          "crisis_stabilization": 2, "sobering_center": 1, "intensive_outpatient": 2,
          "outpatient": 1, "opioid_treatment_program": 2}
NAVIGATORS = 5
REASONS = (["no_bed"] * 5 + ["eligibility"] * 2 + ["clinical_needs"] * 2 + ["payer"]
           + ["client_declined", "other"])


@dataclass
class UnitSim:
    id: str
    program_id: str
    level: str
    capacity: int
    every: timedelta
    available: int = 0
    held: int = 0


@dataclass
class World:
    """The simulated system: units' counts, and the rows it writes."""

    rng: random.Random
    start: datetime
    end: datetime
    units: dict[str, UnitSim]
    pathways: dict[str, list[str]]
    seq: int
    navigators: list[str]
    audit: list[AuditEntry] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    referrals: list[Referral] = field(default_factory=list)
    demand: list[DemandEntry] = field(default_factory=list)
    queue: list[tuple[datetime, int, str, Any]] = field(default_factory=list)
    order: int = 0
    noise: dict[tuple[str, int], float] = field(default_factory=dict)

    def at(self, when: datetime, kind: str, payload: Any = None) -> None:
        if when < self.end:
            self.order += 1
            heapq.heappush(self.queue, (when, self.order, kind, payload))

    def by_level(self, level: str) -> list[UnitSim]:
        return [u for u in self.units.values() if u.level == level]

    def free_share(self, level: str, when: datetime) -> float:
        """Beds free as a share of capacity: a daily wave, a level-wide random drift, and a
        hard third week for the tightest levels."""
        local = when.astimezone(LOCAL)
        hour = local.hour + local.minute / 60
        wave = math.cos((hour - 12.5) / 24 * 2 * math.pi)
        day = (when - self.start).days
        crunch = 0.05 if 14 <= day < 21 and level in DAY_SWING else 0.0
        key = (level, int((when - self.start).total_seconds() // 10800))
        if key not in self.noise:
            previous = self.noise.get((level, key[1] - 1), 0.0)
            self.noise[key] = 0.6 * previous + self.rng.gauss(0, 0.035)
        return FREE_AT_NOON[level] + DAY_SWING.get(level, 0.05) * (wave - 1) - crunch \
            + self.noise[key]

    def record(self, unit: UnitSim, when: datetime, op: str, actor: str, source: str,
               hold_id: str | None = None, note: str | None = None) -> None:
        self.seq += 1
        self.audit.append(AuditEntry(
            seq=self.seq, unit_id=unit.id, op=op, at=when, actor=actor, source=source,
            available=unit.available, held=unit.held, waitlist=0, capacity=unit.capacity,
            hold_id=hold_id, note=note, detail={}))

    def level_free(self, level: str) -> int:
        return sum(u.available for u in self.by_level(level))

    def note_demand(self, when: datetime, kind: str, level: str, area: str) -> bool:
        free = self.level_free(level)
        self.demand.append(DemandEntry(at=when, kind=kind, request_id=secrets.token_hex(8),
                                       level=level, area=area, matched=len(self.by_level(level)),
                                       found=free > 0, filters={}))
        return free > 0


def report(world: World, unit: UnitSim, when: datetime) -> None:
    """A provider update: today's count from the simulated census (never more than free)."""
    share = world.free_share(unit.level, when) + world.rng.gauss(0, 0.04)
    unit.available = max(0, min(unit.capacity - unit.held, round(unit.capacity * share)))
    lazy = world.rng.random() < 0.04
    world.record(unit, when, "attest" if world.rng.random() < 0.1 else "set",
                 f"provider:demo-{unit.program_id[4:20]}", "api", note="simulated")
    wait = unit.every * world.rng.uniform(0.6, 1.2) * (4 if lazy else 1)
    world.at(when + wait, "update", unit.id)


def place_hold(world: World, unit: UnitSim, when: datetime, navigator: str,
               transition: Transition | None = None) -> Hold:
    unit.available -= 1
    unit.held += 1
    hold = Hold(id=new_id("hold"), unit_id=unit.id, client_ref=None, status="active",
                created_by=navigator, created_at=when, expires_at=when + timedelta(hours=2))
    world.holds.append(hold)
    world.record(unit, when, "hold", f"navigator:{navigator}", "hold", hold.id)
    roll = world.rng.random()
    if transition is not None or roll < 0.68:
        outcome, ends = "admit", when + timedelta(minutes=world.rng.uniform(25, 110))
    elif roll < 0.84:
        outcome, ends = "release", when + timedelta(minutes=world.rng.uniform(10, 90))
    else:
        outcome, ends = "expire", hold.expires_at
    world.at(ends, "hold_end", (hold, outcome, transition))
    return hold


def end_hold(world: World, when: datetime, hold: Hold, outcome: str,
             transition: Transition | None) -> None:
    unit = world.units[hold.unit_id]
    unit.held -= 1
    if outcome != "admit":
        unit.available += 1
    hold.status = {"admit": "admitted", "release": "released", "expire": "expired"}[outcome]
    hold.ended_at = when
    if transition is not None and outcome != "admit":
        transition.hold_id = transition.to_level = None
    world.record(unit, when, outcome, "system:expiry" if outcome == "expire"
                 else f"navigator:{hold.created_by}", "hold", hold.id)
    if transition is not None and outcome == "admit":
        transition.status, transition.ended_at = "placed", when


def search(world: World, when: datetime, areas: dict[str, str]) -> None:
    """A navigator looks for a bed: sometimes a hold follows, sometimes nothing is free."""
    level = world.rng.choices(list(DEMAND), weights=list(DEMAND.values()))[0]
    area = world.rng.choice(list(set(areas.values())))
    kind = "search" if world.rng.random() < 0.75 else "match"
    if world.note_demand(when, kind, level, area) and world.rng.random() < 0.45:
        free = [u for u in world.by_level(level) if u.available > 0]
        place_hold(world, world.rng.choice(free), when, world.rng.choice(world.navigators))
    world.at(when + timedelta(minutes=world.rng.expovariate(1 / 25)), "search")


def new_transition(world: World, when: datetime, programs: dict[str, tuple[str, str]]) -> None:
    # Most watched moves are out of detox, the step most often followed by a wait.
    choices = [p for p, (lv, _) in programs.items() if world.pathways.get(lv)]
    weights = [4 if programs[p][0] == "withdrawal_management" else 1 for p in choices]
    program_id = world.rng.choices(choices, weights=weights)[0]
    level = programs[program_id][0]
    discharge = when + timedelta(hours=world.rng.uniform(8, 60))
    t = Transition(id=new_id("trn"), client_ref=None, from_program_id=program_id,
                   from_level=level, discharge_at=discharge, needs={},
                   navigator=world.rng.choice(world.navigators), status="open",
                   created_at=when)
    world.transitions.append(t)
    if world.rng.random() < 0.05:
        t.status, t.ended_at = "cancelled", when + timedelta(hours=world.rng.uniform(1, 8))
    else:
        world.at(when + timedelta(minutes=30), "try_place", t)
        send_referrals(world, t, when, programs)
    world.at(when + timedelta(hours=world.rng.expovariate(1 / 3.2)), "transition")


def try_place(world: World, when: datetime, t: Transition, areas: dict[str, str]) -> None:
    """Look for the next level every two hours until the discharge (plus grace) has passed."""
    if t.status != "open":
        return
    nxt = world.pathways[t.from_level][0]
    area = areas[t.from_program_id]
    free = [u for u in world.by_level(nxt) if u.available > 0]
    world.note_demand(when, "match", nxt, area)
    ready = when >= t.discharge_at - timedelta(hours=12)
    working = 8 <= when.astimezone(LOCAL).hour < 19  # navigators place by day
    if free and ready and working and world.rng.random() < 0.6:
        hold = place_hold(world, world.rng.choice(free), when, t.navigator, t)
        t.hold_id, t.to_level = hold.id, nxt
    elif when > t.discharge_at + timedelta(hours=2):
        t.status, t.ended_at = "lapsed", when
    else:
        world.at(when + timedelta(hours=2), "try_place", t)


def send_referrals(world: World, t: Transition, when: datetime,
                   programs: dict[str, tuple[str, str]]) -> None:
    nxt = world.pathways[t.from_level][0]
    targets = [p for p, (lv, _) in programs.items() if lv == nxt]
    group = new_id("grp")
    picked = world.rng.sample(targets, min(len(targets), world.rng.randint(1, 3)))
    accepted = False
    for program_id in picked:
        ack = when + timedelta(minutes=world.rng.choice(
            [world.rng.uniform(2, 29)] * 3 + [world.rng.uniform(31, 180)]))
        roll = world.rng.random()
        full = world.level_free(nxt) == 0
        status, reason = "expired", None
        if roll < 0.45 and not accepted and not full:
            status, accepted = "accepted", True
        elif roll < 0.85:
            status, reason = "declined", "no_bed" if full else world.rng.choice(REASONS)
        responded = None if status == "expired" else ack + timedelta(
            minutes=world.rng.uniform(5, 200))
        world.referrals.append(Referral(
            id=new_id("ref"), group_id=group, client_ref=None, program_id=program_id,
            navigator=t.navigator, needs={}, note="", status=status, decline_reason=reason,
            transition_id=t.id, created_at=when, expires_at=when + timedelta(hours=4),
            acknowledged_at=ack if status != "expired" else None, responded_at=responded))


def simulate(world: World, programs: dict[str, tuple[str, str]]) -> None:
    areas = {pid: area for pid, (_, area) in programs.items()}
    for unit in world.units.values():
        report(world, unit, world.start + timedelta(minutes=world.rng.uniform(0, 5)))
    world.at(world.start + timedelta(minutes=20), "search")
    world.at(world.start + timedelta(hours=1), "transition")
    handlers = {
        "update": lambda when, p: report(world, world.units[p], when),
        "hold_end": lambda when, p: end_hold(world, when, *p),
        "search": lambda when, p: search(world, when, areas),
        "transition": lambda when, p: new_transition(world, when, programs),
        "try_place": lambda when, p: try_place(world, when, p, areas),
    }
    while world.queue:
        when, _, kind, payload = heapq.heappop(world.queue)
        handlers[kind](when, payload)
    linked = {t.hold_id: t for t in world.transitions if t.hold_id}
    for hold in world.holds:  # still running at the end: let them go, as expiry would
        if hold.status == "active":
            end_hold(world, world.end, hold, "release", linked.get(hold.id))
    for unit in world.units.values():  # the final word, after the directory's own rows
        world.record(unit, world.end, "set", "provider:demo", "api", note="simulated")


async def fill_history(svc: System, days: int, seed: int = 7) -> dict[str, int] | None:
    """Write `days` of simulated history ending now; None when history exists already."""
    now = utcnow()
    start = now - timedelta(days=days)
    async with svc.sessions() as session:
        oldest = (await session.execute(select(func.min(AuditEntry.at)))).scalar()
        top = (await session.execute(select(func.max(AuditEntry.seq)))).scalar() or 0
    if oldest is not None and oldest < now - timedelta(hours=12):
        return None
    programs_info = await svc.directory.programs()
    programs = {p.id: (p.level_of_care, p.area or history.NO_AREA)
                for p in programs_info.values()}
    units = {u.id: UnitSim(u.id, p.id, p.level_of_care, u.capacity,
                           timedelta(minutes=svc.cadence(p.cadence_minutes)))
             for p in programs_info.values() for u in p.units}
    navigators = [new_id("tok") for _ in range(NAVIGATORS)]
    world = World(random.Random(seed), start, now, units, svc.settings.pathways, top,
                  navigators)
    simulate(world, programs)
    tokens = [Token(id=n, token_hash=digest(secrets.token_urlsafe(32)), role="navigator",
                    label=f"demo navigator {i + 1}", created_at=start)
              for i, n in enumerate(navigators)]
    async with svc.sessions() as session, session.begin():
        session.add_all(tokens)
        await session.flush()
        await session.execute(insert(AuditEntry), [_values(e) for e in world.audit])
        await session.execute(insert(DemandEntry), [_values(e) for e in world.demand])
        session.add_all(world.holds)
        session.add_all(world.transitions)
        session.add_all(world.referrals)
    await svc.redis.delete(svc.live.keys.epoch)  # the live state follows the new records
    await svc.inventory.rebuild()
    await history.forget_from(svc.sessions, start)
    await history.roll_up(svc.sessions, utcnow())
    return {"changes": len(world.audit), "holds": len(world.holds),
            "transitions": len(world.transitions),
            "lapsed": sum(1 for t in world.transitions if t.status == "lapsed"),
            "referrals": len(world.referrals), "searches": len(world.demand)}


def _values(row: AuditEntry | DemandEntry) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id"}


async def analyst_token(svc: System) -> str:
    token, _ = await create_token(svc.sessions, "analyst", utcnow(), None, "demo analyst")
    return token


def counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def parse_span(text: str) -> int:
    """Days from `30d`, `4w` or a bare number of days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text)
    if not match or int(match.group(1)) < 1:
        raise typer.BadParameter(f"history must look like 30d or 4w, got {text!r}")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days > 400:
        raise typer.BadParameter("history may span at most 400 days")
    return days


async def run_history(settings: Settings, span: str) -> str:
    """For the demo command: fill the history, and say what happened."""
    from inventory.system import build_system

    days = parse_span(span)
    assert settings.redis_url, "the demo history runs against the shared Redis"
    svc = await build_system(settings, settings.redis_url)
    try:
        counts = await fill_history(svc, days)
        token = await analyst_token(svc)
    finally:
        await svc.close()
    done = (f"history: {days} days simulated: {counts_line(counts)}" if counts
            else "history: the database already has history; nothing added")
    return f"{done}\nanalyst token: {token}  (page: /analytics)"
