"""An experiment: every chosen policy over N replications, each replication's demand drawn
once and shared by the policies (common random numbers), run one after another against one
Bedfinder whose simulated clock only moves forward."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from simulation.api_client import Api, CallStats
from simulation.model import Run
from simulation.policies import Policy
from simulation.results import Measured, measure
from simulation.scenario import Scenario
from simulation.streams import draw

WEEK = timedelta(days=7)


@dataclass
class Experiment:
    scenario: Scenario
    policies: list[Policy]
    seed: int
    runs: list[Measured] = field(default_factory=list)
    raw: list[Run] = field(default_factory=list)
    calls: CallStats = field(default_factory=CallStats)
    seconds: float = 0.0


def server_now(url: str, token: str) -> datetime:
    response = httpx.get(f"{url}/api/v1/simulation/clock",
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if response.status_code == 404:
        raise RuntimeError(f"{url} is not in simulation mode (no /api/v1/simulation/clock); "
                           "start it with BEDFINDER_SIMULATION_MODE=true")
    response.raise_for_status()
    return datetime.fromisoformat(response.json()["now"])


def epochs(scenario: Scenario, now: datetime) -> Callable[[int], datetime]:
    """The start of the k-th run: whole weeks after the scenario's start (the same weekday
    and hour every run) and after the server's clock, since that clock never goes back."""
    run_days = scenario.warmup_days + scenario.horizon_days + 5
    per_run = WEEK * math.ceil(run_days / 7)
    base = scenario.start
    if now > base:
        base += WEEK * math.ceil((now - base) / WEEK)
    return lambda k: base + per_run * k


def run_experiment(scenario: Scenario, policies: list[Policy], seed: int, url: str,
                   token: str, keep_raw: bool = False,
                   progress: Callable[[str], None] = lambda _: None) -> Experiment:
    started = time.perf_counter()
    experiment = Experiment(scenario, policies, seed)
    epoch = epochs(scenario, server_now(url, token))
    run_hours = 24.0 * (scenario.warmup_days + scenario.horizon_days + 4)
    k = 0
    for replication in range(scenario.replications):
        demand = draw(scenario, seed, replication, run_hours)
        for policy in policies:
            api = Api(url, token, epoch(k))
            try:
                run = Run(scenario, policy, demand, api, seed, replication,
                          tag=f"s{seed}r{replication}{policy.name}").run()
            finally:
                api.close()
            for kind, values in api.stats.seconds.items():
                experiment.calls.seconds[kind].extend(values)
            measured = measure(run)
            experiment.runs.append(measured)
            if keep_raw:
                experiment.raw.append(run)
            progress(f"replication {replication + 1}/{scenario.replications} {policy.name}: "
                     f"{measured.transitions} transitions, {measured.api_calls} API calls")
            k += 1
    experiment.seconds = time.perf_counter() - started
    return experiment
