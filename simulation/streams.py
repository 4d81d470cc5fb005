"""Common random numbers: one seeded stream per purpose, and the demand of a run drawn from
them before the run starts, so every policy of a replication sees the same people arriving
at the same times with the same stays and the same needs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulation.scenario import Level, Scenario

# Demand streams (identical across policies) and behaviour streams (policies consume them
# differently, but each purpose keeps its own, so one policy's extra phone call does not
# shift another purpose's draws).
PURPOSES = ("arrivals", "los", "pathway", "cadence", "initial",
            "answer", "acceptance", "transport", "response")


def generators(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One independent generator per purpose for (seed, replication)."""
    children = np.random.SeedSequence([seed, replication]).spawn(len(PURPOSES))
    return {name: np.random.default_rng(child) for name, child in zip(PURPOSES, children)}


@dataclass(frozen=True, slots=True)
class Arrival:
    """One person arriving at a level: when (hours), which program (a uniform draw, used
    among the programs with a free bed), how long they stay there, whether they need the
    next level and how long they would stay there."""
    hours: float
    pick: float
    stay_hours: float
    needs_next: bool
    next_stay_hours: float


@dataclass(frozen=True, slots=True)
class Resident:
    """Someone already in a bed when the run starts, and the hours they have left."""
    program_index: int
    remaining_hours: float


@dataclass(frozen=True, slots=True)
class Demand:
    arrivals: dict[str, list[Arrival]]
    residents: dict[str, list[Resident]]
    update_offsets: list[float]    # per day: hours after the update hour (jitter)


def stay_hours(rng: np.random.Generator, level: Level) -> float:
    """A lognormal length of stay with the level's median and spread, in hours."""
    return float(24.0 * level.los_median_days * math.exp(level.los_sigma * rng.standard_normal()))


def draw(scenario: Scenario, seed: int, replication: int, run_hours: float) -> Demand:
    """Everything about demand for one replication, before any policy acts."""
    rng = generators(seed, replication)
    arrivals: dict[str, list[Arrival]] = {}
    residents: dict[str, list[Resident]] = {}
    for name, level in scenario.levels.items():
        rate = level.arrivals_per_day if level.role == "sending" else \
            level.direct_admissions_per_day
        nxt = scenario.levels[level.next_level] if level.next_level else None
        people, t = [], 0.0
        while rate > 0:
            t += float(rng["arrivals"].exponential(24.0 / rate))
            if t >= run_hours:
                break
            people.append(Arrival(
                hours=t, pick=float(rng["arrivals"].random()),
                stay_hours=stay_hours(rng["los"], level),
                needs_next=bool(rng["pathway"].random() < level.next_level_share),
                next_stay_hours=stay_hours(rng["los"], nxt) if nxt else 0.0))
        arrivals[name] = people
        full = round(scenario.initial_occupancy * level.beds_per_program)
        residents[name] = [
            Resident(i, float(rng["initial"].random()) * stay_hours(rng["initial"], level))
            for i in range(level.programs) for _ in range(full)]
    jitter = scenario.providers.daily_update_jitter_hours
    days = int(run_hours // 24) + 2
    offsets = [float(rng["cadence"].uniform(-jitter, jitter)) for _ in range(days)]
    return Demand(arrivals, residents, offsets)
