"""`bedfinder demo --history 30d`: a realistic month of activity on the demo directory.

Simulated, deterministic in what it decides (seeded) and fictional: providers report counts
at their cadence (some late), beds free up in the morning and fill by night, the tightest
levels (residential SUD, withdrawal management, crisis residential) run out most nights and
worst in the third week; navigators search, hold, register transitions (some lapse when the
next level is full) and send referrals that programs acknowledge, accept or decline.

Nothing is written by hand: every change is a call to the domain services, as the API would
make it, with the services reading a simulated clock. Providers' counts go through
`Availability`; holds through `Holds` (placed, admitted, released, and expired by `expire_due`);
transitions through `Transitions` (registered, linked to a hold, placed when its hold is
admitted, cancelled, lapsed by `lapse_overdue`); referrals through `Referrals` (sent,
acknowledged, accepted with a hold, declined, expired by `expire_due`); searches and match
requests through `search`/`rank` and the demand recorder. Then the history is rolled up.

It runs only on a database without history, and before the app serves it: while it runs it
owns the live state (a running app's expiry job would end its holds at today's time).

Speed: the domain records each change in its own SQL transaction (~2.5 ms one after the
other). So the simulation decides in time order against its own model of the counts
(`UnitSim`), and runs the domain calls in `Lanes`: calls about one unit, transition or
referral group run in time order, calls about different ones concurrently, and the audit log
group-commits them. Each call runs in its own task at its own simulated time (`SimClock`).
A call the domain refuses means the model and the domain disagreed: it is counted in
`refused` (zero in a correct run) and the simulation goes on.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import func, select

from inventory import demand, history
from inventory.actors import NAVIGATOR, PROVIDER, Actor
from inventory.clock import utcnow
from inventory.config import Settings
from inventory.directory import ProgramInfo
from inventory.errors import InventoryError
from inventory.flows import accept_referral as accept_flow
from inventory.flows import hold_for_transition as hold_flow
from inventory.holds import HoldView
from inventory.matcher import Needs, rank
from inventory.model import UnitState
from inventory.records import AuditEntry, Hold, Referral, Transition
from inventory.search import Filters, search
from inventory.system import System, build_system
from inventory.tokens import create_token

log = logging.getLogger(__name__)
T = TypeVar("T")
LOCAL = ZoneInfo("America/Los_Angeles")
# Share of beds free at midday (before the evening fills them), by level of care.
FREE_AT_NOON = {"residential_sud": 0.08, "withdrawal_management": 0.17,
                "crisis_residential": 0.2, "psychiatric_inpatient": 0.14, "shelter": 0.14,
                "crisis_stabilization": 0.3, "sobering_center": 0.35,
                "recovery_residence": 0.2, "intensive_outpatient": 0.3, "outpatient": 0.4,
                "opioid_treatment_program": 0.25, "peer_center": 0.5,
                "mental_health_residential": 0.08, "board_and_care": 0.06,
                "transitional_housing": 0.07, "full_service_partnership": 0.06}
DAY_SWING = {"residential_sud": 0.09, "withdrawal_management": 0.1, "crisis_residential": 0.1,
             "psychiatric_inpatient": 0.08, "shelter": 0.1}
DEMAND = {"withdrawal_management": 5, "residential_sud": 5, "shelter": 4,
          "crisis_residential": 3, "recovery_residence": 3, "psychiatric_inpatient": 2,
          "crisis_stabilization": 2, "sobering_center": 1, "intensive_outpatient": 2,
          "outpatient": 1, "opioid_treatment_program": 2}
NAVIGATORS = 5
REASONS = (["no_bed"] * 5 + ["eligibility"] * 2 + ["clinical_needs"] * 2 + ["payer"]
           + ["client_declined", "other"])
# Calls started and not finished, at most: bounds memory, and is plenty for group commits.
IN_FLIGHT = 400
SERIAL = "serial"
DUE = timedelta(seconds=1)  # a sweep runs this long after what it sweeps fell due


class SimClock:
    """Simulated time, per task: a call sees the time it was started for, however late it
    actually runs (a context variable, which every asyncio task copies when created)."""

    def __init__(self, start: datetime) -> None:
        self._now: ContextVar[datetime] = ContextVar("simulated_now", default=start)

    def __call__(self) -> datetime:
        return self._now.get()

    def set(self, when: datetime) -> None:
        self._now.set(when)


class Lanes:
    """Domain calls in time order per key (a unit, a transition, a referral group) and
    concurrently across keys. A call waits for the last call on each of its keys."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.tails: dict[str, asyncio.Task[Any]] = {}
        self.running: set[asyncio.Task[Any]] = set()
        self.refused: list[str] = []
        self.failed: list[BaseException] = []
        self.calls = 0
        self._room: asyncio.Future[None] | None = None
        self._limit = 0

    def run(self, keys: Iterable[str], when: datetime, call: Callable[[], Awaitable[T]],
            serial: bool = True) -> asyncio.Task[T | None]:
        """Start `call` at simulated time `when` after the last call on each of `keys`;
        `serial` calls also run one at a time among themselves (the SQL they write would
        otherwise contend for SQLite's one writer, and sweeps must see what came before)."""
        keys = list(dict.fromkeys([*keys, SERIAL] if serial else keys))
        before = [self.tails[k] for k in keys if k in self.tails]

        async def step() -> T | None:
            if before:
                await asyncio.wait(before)
            self.clock.set(when)
            try:
                return await call()
            except InventoryError as error:
                self.refused.append(f"{when:%Y-%m-%d %H:%M} {keys[0]}: {error}")
                return None

        task = asyncio.create_task(step())
        self.calls += 1
        for key in keys:
            self.tails[key] = task
        self.running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failed.append(task.exception())  # type: ignore[arg-type]
        room = self._room
        if room is not None and not room.done() and len(self.running) <= self._limit:
            room.set_result(None)

    async def settle(self, limit: int = 0) -> None:
        """Wait until at most `limit` calls are running; raise the first call that broke."""
        if len(self.running) > limit:
            self._room, self._limit = asyncio.get_running_loop().create_future(), limit
            await self._room
            self._room = None
        if self.failed:
            raise self.failed[0]


@dataclass
class UnitSim:
    """The simulation's model of one unit, which its decisions read."""

    id: str
    program_id: str
    organization_id: str
    level: str
    capacity: int
    every: timedelta
    available: int = 0
    held: int = 0
    updated_at: datetime | None = None


@dataclass
class TransitionSim:
    key: str  # its navigator's lane: a caseload is counted across their transitions
    program_id: str
    level: str
    area: str
    discharge_at: datetime
    navigator: Actor
    client_ref: str
    registered: asyncio.Task[dict[str, Any] | None]
    status: str = "open"
    hold: HoldSim | None = None
    accepted: bool = False  # a referral of its group was accepted

    def id(self) -> str | None:
        view = self.registered.result()
        return view["id"] if view else None


@dataclass
class HoldSim:
    unit: UnitSim
    navigator: Actor
    expires_at: datetime
    placed: asyncio.Task[HoldView | None]
    transition: TransitionSim | None = None
    active: bool = True
    ended: asyncio.Task[Any] | None = None

    def settled(self) -> bool:
        """Ended, in the model and in the domain."""
        return not self.active and self.ended is not None and self.ended.done()

    def lane_keys(self) -> list[str]:
        return [self.unit.id] + ([self.transition.key] if self.transition else [])


@dataclass
class World:
    """The simulated system: services, the model of counts, and the events to come."""

    svc: System
    lanes: Lanes
    rng: random.Random
    start: datetime
    end: datetime
    units: dict[str, UnitSim]
    programs: dict[str, ProgramInfo]
    base_states: dict[str, UnitState]
    navigators: list[Actor]
    providers: dict[str, Actor]
    queue: list[tuple[datetime, int, str, Any]] = field(default_factory=list)
    order: int = 0
    noise: dict[tuple[str, int], float] = field(default_factory=dict)
    holds: list[HoldSim] = field(default_factory=list)
    transitions: list[TransitionSim] = field(default_factory=list)
    pending_groups: dict[str, datetime] = field(default_factory=dict)  # key -> expiry
    clients: int = 0
    centres: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.centres = demand.area_centres(self.programs)

    def at(self, when: datetime, kind: str, payload: Any = None) -> None:
        if when < self.end:
            self.order += 1
            heapq.heappush(self.queue, (when, self.order, kind, payload))

    def client_ref(self) -> str:
        self.clients += 1
        return f"demo-case-{self.clients:05d}"

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

    def at_level(self, level: str) -> tuple[list[ProgramInfo], dict[str, UnitState]]:
        """The programs at `level`, and the model's counts of their units as the live states
        search and ranking read."""
        programs = [p for p in self.programs.values() if p.level_of_care == level]
        units = (self.units[u.id] for p in programs for u in p.units)
        return programs, {u.id: replace(self.base_states[u.id], available=u.available,
                                        held=u.held, updated_at=u.updated_at) for u in units}

    def open_transitions(self, navigator: Actor | None = None) -> list[TransitionSim]:
        return [t for t in self.transitions if t.status == "open"
                and (navigator is None or t.navigator is navigator)]


def report(world: World, unit: UnitSim, when: datetime) -> None:
    """A provider update: today's count from the simulated census (never more than free),
    or now and then a 'no change'."""
    svc, provider = world.svc, world.providers[unit.organization_id]
    share = world.free_share(unit.level, when) + world.rng.gauss(0, 0.04)
    target = max(0, min(unit.capacity - unit.held, round(unit.capacity * share)))
    lazy = world.rng.random() < 0.04
    if world.rng.random() < 0.1:
        call = partial(svc.availability.attest, unit.id, provider, "api", note="simulated")
    else:
        unit.available = target
        call = partial(svc.availability.set_availability, unit.id, provider, "api",
                       available=target, note="simulated")
    unit.updated_at = when
    world.lanes.run([unit.id], when, call, serial=False)
    wait = unit.every * world.rng.uniform(0.6, 1.2) * (4 if lazy else 1)
    world.at(when + wait, "update", unit.id)


def place_hold(world: World, unit: UnitSim, when: datetime, navigator: Actor,
               transition: TransitionSim | None = None) -> HoldSim:
    """A navigator holds a bed; a transition's hold is linked to it and ends in admission."""
    svc = world.svc
    unit.available -= 1
    unit.held += 1
    client = transition.client_ref if transition else world.client_ref()

    async def place() -> HoldView | None:
        transition_id = transition.id() if transition is not None else None
        return await hold_flow.place_hold(svc.holds, svc.transitions, navigator, unit.id, client,
                                transition_id=transition_id)

    hold = HoldSim(unit, navigator, when + timedelta(minutes=svc.settings.hold_minutes),
                   world.lanes.run([unit.id] + ([transition.key] if transition else []), when,
                                   place), transition)
    if transition is not None:
        transition.hold = hold
    world.holds.append(hold)
    roll = world.rng.random()
    if transition is not None or roll < 0.68:
        world.at(when + timedelta(minutes=world.rng.uniform(25, 110)), "hold_end",
                 (hold, "admit"))
    elif roll < 0.84:
        world.at(when + timedelta(minutes=world.rng.uniform(10, 90)), "hold_end",
                 (hold, "release"))
    else:
        world.at(hold.expires_at + DUE, "hold_end", (hold, "expire"))
    return hold


def end_hold(world: World, when: datetime, hold: HoldSim, outcome: str) -> None:
    if not hold.active:
        return
    # Whatever the expiry sweep might touch: holds not yet ended in the domain.
    unsettled = [h for h in world.holds if not h.settled()]
    hold.active = False
    hold.unit.held -= 1
    if outcome != "admit":
        hold.unit.available += 1
    transition = hold.transition
    if transition is not None and transition.status == "open":
        if outcome == "admit":
            transition.status = "placed"
        else:
            transition.hold = None
    holds = world.svc.holds
    if outcome == "expire":  # the expiry job's sweep: after every hold that may be due
        hold.ended = world.lanes.run([k for h in unsettled for k in h.lane_keys()], when,
                                     holds.expire_due)
        return

    async def end() -> HoldView | None:
        placed = hold.placed.result()
        return None if placed is None else await holds.end(placed.id, outcome, hold.navigator)

    hold.ended = world.lanes.run(hold.lane_keys(), when, end)


def near_area(world: World, area: str) -> tuple[float, float] | None:
    return world.centres.get(area)


def note_search(world: World, when: datetime, level: str, area: str) -> bool:
    """A navigator's search at one level near one area, recorded as the API records it;
    True when a program there has a bed."""
    svc = world.svc
    filters = Filters(level_of_care=(level,), near=near_area(world, area))
    programs, states = world.at_level(level)
    results = search(programs, states, filters, when, svc.settings.default_cadence_minutes)
    demand.note_search(svc.demand, filters, results, when)
    return any(r.available > 0 for r in results)


def note_match(world: World, when: datetime, level: str, area: str) -> bool:
    svc = world.svc
    near = near_area(world, area)
    programs, states = world.at_level(level)
    options = rank(programs, states, Needs(near=near), [level], when, when,
                   svc.settings.default_cadence_minutes)
    needs = {"location": {"lat": near[0], "lon": near[1]}} if near else {}
    demand.note_match(svc.demand, [level], options, needs, when)
    return any(o.available_now > 0 for o in options)


def look(world: World, when: datetime) -> None:
    """A navigator looks for a bed: sometimes a hold follows, sometimes nothing is free."""
    level = world.rng.choices(list(DEMAND), weights=list(DEMAND.values()))[0]
    area = world.rng.choice(sorted(world.centres))
    asks = note_search if world.rng.random() < 0.75 else note_match
    if asks(world, when, level, area) and world.rng.random() < 0.45:
        free = [u for u in world.by_level(level) if u.available > 0]
        if free:
            place_hold(world, world.rng.choice(free), when, world.rng.choice(world.navigators))
    world.at(when + timedelta(minutes=world.rng.expovariate(1 / 25)), "look")


def new_transition(world: World, when: datetime) -> None:
    # Most watched moves are out of detox, the step most often followed by a wait.
    svc, pathways = world.svc, world.svc.settings.pathways
    world.at(when + timedelta(hours=world.rng.expovariate(1 / 3.2)), "transition")
    choices = [p for p in world.programs.values() if pathways.get(p.level_of_care)]
    weights = [4 if p.level_of_care == "withdrawal_management" else 1 for p in choices]
    program = world.rng.choices(choices, weights=weights)[0]
    discharge = when + timedelta(hours=world.rng.uniform(8, 60))
    free = [n for n in world.navigators
            if len(world.open_transitions(n)) < svc.settings.caseload_limit]
    if not free:
        return  # every navigator at the balanced caseload: this move goes unwatched
    navigator, client = world.rng.choice(free), world.client_ref()
    key = f"navigator:{navigator.token_id}"
    registered = world.lanes.run([key], when, partial(
        svc.transitions.register, navigator, client, program.id, discharge, {}))
    t = TransitionSim(key, program.id, program.level_of_care,
                      program.area or history.NO_AREA, discharge, navigator, client, registered)
    world.transitions.append(t)
    if world.rng.random() < 0.05:
        world.at(when + timedelta(hours=world.rng.uniform(1, 8)), "cancel", t)
    else:
        world.at(when + timedelta(minutes=30), "try_place", t)
        send_referrals(world, t, when)


def cancel(world: World, when: datetime, t: TransitionSim) -> None:
    if t.status != "open" or t.hold is not None:
        return
    t.status = "cancelled"

    async def call() -> dict[str, Any] | None:
        tid = t.id()
        return None if tid is None else await world.svc.transitions.cancel(tid, t.navigator)

    world.lanes.run([t.key], when, call)


def try_place(world: World, when: datetime, t: TransitionSim) -> None:
    """Look for the next level every two hours until the discharge (plus grace) has passed."""
    if t.status != "open" or t.hold is not None:
        return
    settings = world.svc.settings
    nxt = settings.pathways[t.level][0]
    note_match(world, when, nxt, t.area)
    free = [u for u in world.by_level(nxt) if u.available > 0]
    ready = when >= t.discharge_at - timedelta(hours=12)
    working = 8 <= when.astimezone(LOCAL).hour < 19  # navigators place by day
    if free and ready and working and world.rng.random() < 0.6:
        place_hold(world, world.rng.choice(free), when, t.navigator, t)
    elif when > t.discharge_at + timedelta(hours=settings.lapse_grace_hours):
        lapse(world, when)
    else:
        world.at(when + timedelta(hours=2), "try_place", t)


def lapse(world: World, when: datetime) -> None:
    """The lapse job's sweep: every open transition discharged past the grace with no hold."""
    cutoff = when - timedelta(hours=world.svc.settings.lapse_grace_hours)
    waiting = world.open_transitions()
    for t in waiting:
        if t.hold is None and t.discharge_at < cutoff:
            t.status = "lapsed"
    world.lanes.run([t.key for t in waiting], when, world.svc.transitions.lapse_overdue)


def send_referrals(world: World, t: TransitionSim, when: datetime) -> None:
    """Ask one to three programs at the next level; each answers in its own time (or not)."""
    svc = world.svc
    nxt = svc.settings.pathways[t.level][0]
    targets = sorted(p.id for p in world.programs.values() if p.level_of_care == nxt)
    if not targets:
        return  # no program of the next level in this directory: nobody to refer to
    picked = world.rng.sample(targets, min(len(targets), world.rng.randint(1, 3)))
    group = f"referrals:{t.client_ref}"

    async def send() -> list[dict[str, Any]] | None:
        tid = t.id()
        return None if tid is None else await svc.referrals.send(
            t.navigator, t.client_ref, picked, {}, transition_id=tid)

    sent = world.lanes.run([t.key, group], when, send)
    expires = when + timedelta(minutes=svc.settings.referral_expiry_minutes)
    world.pending_groups[group] = expires
    world.at(expires + DUE, "expire_referrals", group)
    for index, program_id in enumerate(picked):
        if world.rng.random() >= 0.85:
            continue  # never answered: it expires
        ack = when + timedelta(minutes=world.rng.choice(
            [world.rng.uniform(2, 29)] * 3 + [world.rng.uniform(31, 180)]))
        answer = ack + timedelta(minutes=world.rng.uniform(5, 200))
        if ack < expires:
            world.at(ack, "acknowledge", (t, group, sent, index, program_id))
        if answer < expires:
            world.at(answer, "answer", (t, group, sent, index, program_id))


def referral_id(sent: asyncio.Task[list[dict[str, Any]] | None], index: int) -> str | None:
    rows = sent.result()
    return rows[index]["id"] if rows else None


def acknowledge(world: World, when: datetime, payload: tuple[Any, ...]) -> None:
    t, group, sent, index, program_id = payload
    if group not in world.pending_groups or t.accepted:
        return
    provider = world.providers[world.programs[program_id].organization_id]

    async def call() -> dict[str, Any] | None:
        rid = referral_id(sent, index)
        return None if rid is None else await world.svc.referrals.acknowledge(rid, provider)

    world.lanes.run([group], when, call)


def answer(world: World, when: datetime, payload: tuple[Any, ...]) -> None:
    """The program answers: accepts (a hold for the client, linked to the transition) while
    it has a bed and the client still needs one, else declines with a reason."""
    t, group, sent, index, program_id = payload
    if group not in world.pending_groups or t.accepted:
        return  # expired, or withdrawn when another program accepted
    svc, program = world.svc, world.programs[program_id]
    provider = world.providers[program.organization_id]
    free = [world.units[u.id] for u in program.units if world.units[u.id].available > 0]
    wanted = t.status == "open" and t.hold is None
    if world.rng.random() < 0.45 and free and wanted:
        t.accepted = True
        accept_referral(world, when, t, group, sent, index, world.rng.choice(free), provider)
        return
    reason = "no_bed" if not free else ("client_declined" if not wanted
                                        else world.rng.choice(REASONS))

    async def decline() -> dict[str, Any] | None:
        rid = referral_id(sent, index)
        return None if rid is None else await svc.referrals.decline(rid, reason, provider)

    world.lanes.run([group], when, decline)


def accept_referral(world: World, when: datetime, t: TransitionSim, group: str,
                    sent: asyncio.Task[Any], index: int, unit: UnitSim, provider: Actor
                    ) -> None:
    svc = world.svc
    unit.available -= 1
    unit.held += 1

    async def accept() -> HoldView | None:
        rid, tid = referral_id(sent, index), t.id()
        if rid is None or tid is None:
            return None
        # The accept flow links the hold to the referral's transition itself.
        accepted = await accept_flow.accept_referral(svc.referrals, svc.holds, svc.transitions, rid,
                                         unit.id, provider)
        return await svc.holds.get(accepted["hold_id"])

    placed = world.lanes.run([unit.id, group, t.key], when, accept)
    hold = HoldSim(unit, t.navigator, when + timedelta(minutes=svc.settings.hold_minutes),
                   placed, t)
    t.hold = hold
    world.holds.append(hold)
    world.at(when + timedelta(minutes=world.rng.uniform(25, 110)), "hold_end", (hold, "admit"))


def expire_referrals(world: World, when: datetime, group: str) -> None:
    """The referral expiry job's sweep, after every group that may have one due."""
    keys = [g for g, expires in world.pending_groups.items() if expires <= when]
    for g in keys:
        del world.pending_groups[g]
    world.lanes.run(keys, when, world.svc.referrals.expire_due)


def final_word(world: World) -> None:
    """Holds still running at the end are let go, as expiry would be; then every unit's
    provider confirms its count, so the last row of each unit is the latest in time too
    (the directory's own `create` rows were written today, after the history's start)."""
    for hold in world.holds:
        if hold.active:
            end_hold(world, world.end, hold, "release")
    for unit in world.units.values():
        world.lanes.run([unit.id], world.end, partial(
            world.svc.availability.set_availability, unit.id,
            world.providers[unit.organization_id], "api", available=unit.available,
            note="simulated"), serial=False)


async def simulate(world: World) -> None:
    for unit in world.units.values():
        report(world, unit, world.start + timedelta(minutes=world.rng.uniform(0, 5)))
    world.at(world.start + timedelta(minutes=20), "look")
    world.at(world.start + timedelta(hours=1), "transition")
    handlers: dict[str, Callable[[datetime, Any], None]] = {
        "update": lambda when, p: report(world, world.units[p], when),
        "hold_end": lambda when, p: end_hold(world, when, *p),
        "look": lambda when, p: look(world, when),
        "transition": lambda when, p: new_transition(world, when),
        "cancel": lambda when, p: cancel(world, when, p),
        "try_place": lambda when, p: try_place(world, when, p),
        "acknowledge": lambda when, p: acknowledge(world, when, p),
        "answer": lambda when, p: answer(world, when, p),
        "expire_referrals": lambda when, p: expire_referrals(world, when, p),
    }
    while world.queue:
        when, _, kind, payload = heapq.heappop(world.queue)
        handlers[kind](when, payload)
        if len(world.lanes.running) > IN_FLIGHT:
            await world.lanes.settle(IN_FLIGHT // 2)
    final_word(world)
    await world.lanes.settle()


async def fill_history(settings: Settings, days: int, seed: int = 7) -> dict[str, int] | None:
    """Simulate `days` of activity ending now through the domain services, against the
    database and Redis of `settings`, with no app serving them; None when history exists
    already. The demo directory (or any directory) must be loaded first."""
    assert settings.redis_url, "the demo history runs against the shared Redis"
    now = utcnow()
    start = now - timedelta(days=days)
    clock = SimClock(start)
    svc = await build_system(settings, settings.redis_url, clock=clock)
    try:
        await svc.availability.ensure_ready()
        async with svc.sessions() as session:
            oldest = (await session.execute(select(func.min(AuditEntry.at)))).scalar()
            top = (await session.execute(select(func.max(AuditEntry.seq)))).scalar() or 0
        if oldest is not None and oldest < now - timedelta(hours=12):
            return None
        world = await _world(svc, clock, start, now, seed)
        await simulate(world)
        await svc.demand.settle()  # every search recorded is in Redis, ready to drain
        searches = await demand.drain(svc.redis, settings.redis_prefix, svc.sessions,
                                      world.programs)
        await history.forget_from(svc.sessions, start)
        await history.roll_up(svc.sessions, utcnow())
        counts = await _counts(svc, top)
    finally:
        await svc.close()
    counts["searches"] = searches
    if world.lanes.refused:
        counts["refused"] = len(world.lanes.refused)
        log.warning("demo history: %d calls refused, e.g. %s", len(world.lanes.refused),
                    world.lanes.refused[:3])
    return counts


async def _world(svc: System, clock: SimClock, start: datetime, end: datetime,
                 seed: int) -> World:
    programs = await svc.directory.programs()
    base = await svc.live.units(u.id for p in programs.values() for u in p.units)
    units = {u.id: UnitSim(u.id, p.id, p.organization_id, p.level_of_care, u.capacity,
                           timedelta(minutes=svc.cadence(p.cadence_minutes)),
                           base[u.id].available, base[u.id].held)
             for p in programs.values() for u in p.units}
    navigators = []
    for i in range(NAVIGATORS):
        _, row = await create_token(svc.sessions, NAVIGATOR, start, None,
                                    f"demo navigator {i + 1}")
        navigators.append(Actor(row.id, NAVIGATOR, label=row.label))
    providers = {}
    for org_id in sorted({p.organization_id for p in programs.values()}):
        _, row = await create_token(svc.sessions, PROVIDER, start, org_id, "demo provider")
        providers[org_id] = Actor(row.id, PROVIDER, org_id, row.label)
    return World(svc, Lanes(clock), random.Random(seed), start, end, units, programs, base,
                 navigators, providers)


async def _counts(svc: System, top: int) -> dict[str, int]:
    async with svc.sessions() as session:
        def count(query: Any) -> Awaitable[Any]:
            return session.scalar(query)

        return {
            "changes": await count(select(func.count()).where(AuditEntry.seq > top)),
            "holds": await count(select(func.count(Hold.id))),
            "transitions": await count(select(func.count(Transition.id))),
            "lapsed": await count(select(func.count(Transition.id)).where(
                Transition.status == "lapsed")),
            "referrals": await count(select(func.count(Referral.id))),
        }


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
    days = parse_span(span)
    counts = await fill_history(settings, days)
    assert settings.redis_url, "the demo history runs against the shared Redis"
    svc = await build_system(settings, settings.redis_url)
    try:
        token = await analyst_token(svc)
    finally:
        await svc.close()
    done = (f"history: {days} days simulated: {counts_line(counts)}" if counts
            else "history: the database already has history; nothing added")
    return f"{done}\nanalyst token: {token}  (page: /analytics)"
