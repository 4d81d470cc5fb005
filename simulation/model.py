"""The SimPy model of one run: one policy, one replication, against a running Bedfinder.

The simulation holds the truth (who is in which bed); the server holds what people can see
(the counts providers sent, holds, referrals, transitions). Providers send counts through
the API on their cadence, connectors search, refer and hold through it, and the measures
come from the simulation's own records of what happened to each person.

Time is in hours from the run's epoch; the server's clock is moved to the simulation's time
before every call (simulation/api_client.py), so a run of weeks takes seconds.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from simulation.api_client import Api
from simulation.policies import Policy
from simulation.scenario import Scenario
from simulation.streams import Arrival, Demand, generators

HOLD_MINUTES = 240
SEEKING = ("waiting", "working", "referred")    # ready, with no bed promised yet
Process = Generator[simpy.Event, Any, None]


class Gauge:
    """A level that changes at events; integrates its value over the measured window."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.value, self.since, self.area = 0.0, 0.0, 0.0

    def set(self, now: float, value: float) -> None:
        lo, hi = max(self.since, self.start), min(now, self.end)
        if hi > lo:
            self.area += self.value * (hi - lo)
        self.value, self.since = value, now

    def mean(self) -> float:
        return self.area / (self.end - self.start)


@dataclass
class Program:
    index: int
    name: str
    level: str
    beds: int
    id: str = ""
    unit_id: str = ""
    org_id: str = ""
    provider: str = ""          # the provider token of its organization
    occupied: int = 0
    held: int = 0               # beds held by the simulation's own holds (mirrors the server)

    @property
    def free(self) -> int:
        return self.beds - self.occupied - self.held


@dataclass
class Person:
    """Someone discharged from a sending level toward the next one: a transition."""
    ref: str
    origin: Program
    level: str
    ready: float
    deadline: float
    next_stay_hours: float
    status: str = "waiting"     # waiting, working, referred, travelling, placed, lapsed
    placed: float | None = None
    calls: int = 0
    referrals: int = 0
    transition_id: str | None = None
    alert: simpy.Event | None = None
    pending: dict[str, str] = field(default_factory=dict)   # program id -> referral id

    @property
    def open(self) -> bool:
        return self.status not in ("placed", "lapsed")


@dataclass
class Stay:
    level: str
    admitted: float
    left: float | None = None
    planned: float = 0.0


class Run:
    """One policy over one replication's demand. `run()` returns its raw records."""

    def __init__(self, scenario: Scenario, policy: Policy, demand: Demand, api: Api,
                 seed: int, replication: int, tag: str) -> None:
        self.scenario, self.policy, self.demand, self.api, self.tag = (
            scenario, policy, demand, api, tag)
        self.replication = replication
        self.rng: dict[str, np.random.Generator] = generators(seed, replication)
        self.env = simpy.Environment()
        self.window = (24.0 * scenario.warmup_days,
                       24.0 * (scenario.warmup_days + scenario.horizon_days))
        self.end = self.window[1] + max(lv.boarding_hours for lv in scenario.levels.values()) + 24
        c = scenario.connectors
        self.connectors = simpy.Resource(self.env, capacity=c.staff)
        self.programs: dict[str, list[Program]] = {
            name: [Program(i, f"{tag} {name} {i + 1}", name, lv.beds_per_program)
                   for i in range(lv.programs)]
            for name, lv in scenario.levels.items()}
        self.people: list[Person] = []
        self.stays: list[Stay] = []
        self.turned_away: dict[str, int] = {name: 0 for name in scenario.levels}
        self.occupancy = {name: Gauge(*self.window) for name in scenario.levels}
        self.idle_waited = {name: Gauge(*self.window) for name in scenario.receiving()}
        self.open_cases = Gauge(*self.window)
        self.waiting: dict[str, list[Person]] = {name: [] for name in scenario.receiving()}
        self.navigator = ""
        self.navigator_id = ""
        self.serial = 0

    # Setup: the directory of this run, created through the API as an admin would.
    def register(self) -> None:
        self.api.at(0.0)
        self.navigator, self.navigator_id = self.api.token("navigator", f"{self.tag} connectors")
        for programs in self.programs.values():
            for p in programs:
                p.org_id = self.api.organization(p.name)
                p.id = self.api.program(p.org_id, p.name, p.level)
                p.unit_id = self.api.unit(p.id, "beds", p.beds, 0)
                p.provider, _ = self.api.token("provider", p.name, p.org_id)

    def run(self) -> Run:
        self.register()
        for name in self.scenario.levels:
            for r in self.demand.residents[name]:
                p = self.programs[name][r.program_index]
                self.admit(p, r.remaining_hours)
            self.env.process(self.arrivals(name, self.demand.arrivals[name]))
        for name in self.scenario.receiving():
            for p in self.programs[name]:
                self.report(p)
            if not self.policy.live_counts:
                self.env.process(self.daily_updates(name))
        self.env.run(until=self.end)
        self.close_open_transitions()
        return self

    # Beds.
    def changed(self, level: str) -> None:
        now = self.env.now
        self.occupancy[level].set(now, sum(p.occupied for p in self.programs[level]))
        if level in self.idle_waited:
            free = sum(p.free for p in self.programs[level])
            waiting = sum(1 for w in self.waiting[level] if w.status in SEEKING)
            self.idle_waited[level].set(now, min(free, waiting))

    def admit(self, program: Program, hours: float, person: Person | None = None) -> None:
        program.occupied += 1
        stay = Stay(program.level, self.env.now, planned=hours)
        self.stays.append(stay)
        self.changed(program.level)
        self.env.process(self.stay(program, hours, stay, person))

    def stay(self, program: Program, hours: float, stay: Stay, person: Person | None) -> Process:
        yield self.env.timeout(hours)
        if person is not None:     # sending level: the person may need the next level
            yield from self.discharge_toward(person)
        stay.left = self.env.now
        program.occupied -= 1
        self.changed(program.level)
        if program.level in self.waiting:
            self.report(program)
            self.bed_opened(program.level)

    def arrivals(self, level: str, people: list[Arrival]) -> Process:
        sending = self.scenario.levels[level].role == "sending"
        for a in people:
            yield self.env.timeout(a.hours - self.env.now)
            open_ = [p for p in self.programs[level] if p.free > 0]
            if not open_:
                self.turned_away[level] += 1
                continue
            program = open_[min(len(open_) - 1, int(a.pick * len(open_)))]
            person = self.new_person(program, a) if sending and a.needs_next else None
            self.admit(program, a.stay_hours, person)
            if not sending:
                self.report(program)

    def new_person(self, program: Program, a: Arrival) -> Person:
        level = self.scenario.levels[program.level]
        assert level.next_level is not None
        self.serial += 1
        return Person(ref=f"C-{self.tag}-{self.serial}", origin=program,
                      level=level.next_level, ready=0.0, deadline=0.0,
                      next_stay_hours=a.next_stay_hours)

    # Providers.
    def report(self, program: Program) -> None:
        """Send the unit's true free beds now, if this policy's providers send every change;
        the daily policy sends only from `daily_updates` (and once at the start)."""
        if self.policy.live_counts or self.env.now == 0.0:
            self.api.at(self.env.now)
            self.api.set_available(program.provider, program.unit_id, max(0, program.free))

    def daily_updates(self, level: str) -> Process:
        hour = self.scenario.providers.daily_update_hour
        for day, offset in enumerate(self.demand.update_offsets):
            at = 24.0 * day + hour + offset
            if at >= self.end:
                return
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            self.api.at(self.env.now)
            for p in self.programs[level]:
                self.api.set_available(p.provider, p.unit_id, max(0, p.free))

    # People between levels.
    def discharge_toward(self, person: Person) -> Process:
        """Ready for the next level: the connector works until placement or the deadline.
        The person keeps the sending bed (boarding) until then."""
        now = self.env.now
        person.ready = now
        person.deadline = now + self.scenario.levels[person.origin.level].boarding_hours
        self.people.append(person)
        self.waiting[person.level].append(person)
        self.open_cases.set(now, self.open_cases.value + 1)
        if self.policy.registers_transitions:
            self.api.at(now)
            person.transition_id = self.api.register_transition(
                self.navigator, person.ref, person.origin.id, person.deadline)
        self.changed(person.level)
        done = self.env.event()
        self.env.process(self.placement(person, done))
        self.env.process(self.lapse_at_deadline(person, done))
        yield done

    def lapse_at_deadline(self, person: Person, done: simpy.Event) -> Process:
        yield self.env.timeout(person.deadline - self.env.now)
        if person.status in SEEKING:
            person.status = "lapsed"
            self.api.at(self.env.now)
            for referral_id in person.pending.values():
                self.api.withdraw(self.navigator, referral_id)
            person.pending.clear()
            self.close(person)
            if not done.triggered:
                done.succeed()

    def close(self, person: Person) -> None:
        self.waiting[person.level].remove(person)
        self.open_cases.set(self.env.now, self.open_cases.value - 1)
        self.changed(person.level)

    def bed_opened(self, level: str) -> None:
        """The transition watch: with alerts, every connector waiting on this level looks
        now instead of at the next scheduled recheck."""
        if not self.policy.alerts:
            return
        for w in self.waiting[level]:
            if w.alert is not None and not w.alert.triggered:
                w.alert.succeed()

    def on_shift(self) -> float:
        """Hours until the connectors' shift starts (0 during the shift)."""
        c = self.scenario.connectors
        hour = self.env.now % 24.0
        if c.shift_start_hour <= hour < c.shift_end_hour:
            return 0.0
        return (c.shift_start_hour - hour) % 24.0

    def placement(self, person: Person, done: simpy.Event) -> Process:
        c = self.scenario.connectors
        while person.status == "waiting":
            wait = self.on_shift()
            if wait:
                yield self.env.timeout(min(wait, max(0.0, person.deadline - self.env.now)))
                continue
            with self.connectors.request() as turn:
                yield turn
                if person.status != "waiting":
                    break
                person.status = "working"
                self.changed(person.level)
                found = yield from self.look(person)
                if person.status == "working":
                    person.status = "waiting"
            if found is not None:
                yield from self.travel(person, *found)
            elif person.status == "referred":
                yield from self.await_answers(person)
            if person.status == "waiting":
                person.alert = self.env.event()
                yield self.env.timeout(c.recheck_hours) | person.alert
                person.alert = None
        if not done.triggered:
            done.succeed()

    def look(self, person: Person) -> Generator[simpy.Event, Any, tuple[Program, str | None] | None]:
        """One round of the connector's work on this person: phone around, or refer."""
        self.api.at(self.env.now)
        listed = self.api.search(self.navigator, person.level, self.policy.live_counts)
        mine = {p.id: p for p in self.programs[person.level]}
        shown = sorted((x for x in listed if x.program_id in mine),
                       key=lambda x: (-x.available, mine[x.program_id].index))
        if self.policy.referrals:
            targets = [mine[x.program_id] for x in shown if x.available > 0][:3]
            if targets:
                yield self.env.timeout(self.scenario.connectors.referral_minutes / 60.0)
                if person.status != "working":
                    return None
                self.api.at(self.env.now)
                person.pending = self.api.refer(self.navigator, person.ref,
                                                [p.id for p in targets], person.transition_id)
                person.referrals += len(targets)
                person.status = "referred"
                for p in targets:
                    self.env.process(self.answer(person, p))
            return None
        return (yield from self.phone(person, [mine[x.program_id] for x in shown]))

    def phone(self, person: Person, programs: list[Program]
              ) -> Generator[simpy.Event, Any, tuple[Program, str | None] | None]:
        """Call programs in the order the counts suggest; the first that answers, has a bed
        and accepts the person says "send them" (no hold: first come at the door)."""
        pr = self.scenario.providers
        for program in programs[:self.scenario.connectors.max_calls_per_round]:
            yield self.env.timeout(self.scenario.connectors.call_minutes / 60.0)
            person.calls += 1
            if person.status != "working":
                return None
            answered = self.rng["answer"].random() < pr.answer_probability
            accepts = self.rng["acceptance"].random() < pr.intake_acceptance
            if answered and program.free > 0 and accepts:
                return program, None
        return None

    def answer(self, person: Person, program: Program) -> Process:
        """A provider answers a referral: accepts (a hold on its bed) if it has a bed and the
        person fits, else declines; the first acceptance withdraws the others."""
        pr = self.scenario.providers
        delay = min(pr.referral_response_max_hours, pr.referral_response_hours * math.exp(
            0.5 * self.rng["response"].standard_normal()))
        accepts = self.rng["acceptance"].random() < pr.intake_acceptance
        yield self.env.timeout(delay)
        referral_id = person.pending.get(program.id)
        if person.status != "referred" or referral_id is None:
            return
        self.api.at(self.env.now)
        if program.free > 0 and accepts:
            hold_id = self.api.accept(program.provider, referral_id, program.unit_id)
            if hold_id is not None:
                program.held += 1
                person.pending.clear()
                person.status = "travelling"
                self.changed(program.level)
                self.env.process(self.travel_held(person, program, hold_id))
                return
        self.api.decline(program.provider, referral_id,
                         "no_bed" if program.free <= 0 else "eligibility")
        del person.pending[program.id]
        if not person.pending:
            person.status = "waiting"
            self.changed(person.level)
            if person.alert is not None and not person.alert.triggered:
                person.alert.succeed()

    def await_answers(self, person: Person) -> Process:
        while person.status == "referred":
            person.alert = self.env.event()
            yield person.alert
            person.alert = None
        while person.status == "travelling":
            yield self.env.timeout(0.25)

    def transport(self) -> float:
        c = self.scenario.connectors
        return min(c.transport_max_hours, c.transport_median_hours * math.exp(
            0.4 * self.rng["transport"].standard_normal()))

    def travel(self, person: Person, program: Program, hold_id: str | None) -> Process:
        """No hold: the person goes, and gets the bed only if it is still free on arrival."""
        person.status = "travelling"
        self.changed(person.level)
        yield self.env.timeout(self.transport())
        if person.status != "travelling":
            return
        if program.free > 0:
            self.land(person, program, hold_id)
        else:
            person.status = "waiting" if self.env.now < person.deadline else "lapsed"
            if person.status == "lapsed":
                self.close(person)
            self.changed(person.level)

    def travel_held(self, person: Person, program: Program, hold_id: str) -> Process:
        yield self.env.timeout(self.transport())
        program.held -= 1
        self.land(person, program, hold_id)
        if person.alert is not None and not person.alert.triggered:
            person.alert.succeed()

    def land(self, person: Person, program: Program, hold_id: str | None) -> None:
        """Admitted: with Bedfinder, the admission is recorded on the server (the hold is
        admitted, which places the transition)."""
        person.status, person.placed = "placed", self.env.now
        self.close(person)
        if self.policy.registers_transitions:
            self.api.at(self.env.now)
            if hold_id is not None:
                self.api.admit(program.provider, hold_id)
            else:   # no hold was placed: the connector records the landing as one admitted
                walked_in = self.api.hold(self.navigator, program.unit_id, person.ref,
                                          person.transition_id, HOLD_MINUTES)
                if walked_in is not None:
                    self.api.admit(self.navigator, walked_in)
        self.admit(program, person.next_stay_hours)
        if not self.policy.holds or hold_id is None:
            self.report(program)

    def close_open_transitions(self) -> None:
        for person in self.people:
            if person.open and person.transition_id:
                self.api.cancel_transition(self.navigator, person.transition_id)
