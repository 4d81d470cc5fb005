"""A scenario: the programs, demand, providers and connectors of one simulated city, read from
a YAML file whose every number names its source or says it is an assumption."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT = Path(__file__).resolve().parent / "scenarios" / "mid_size_city.yaml"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(Frozen):
    """One level of care: several programs of equal size. Sending levels take arrivals from
    the community and discharge some people toward `next_level`; receiving levels take those
    people and direct admissions from elsewhere."""
    role: Literal["sending", "receiving"]
    programs: int = Field(ge=1)
    beds_per_program: int = Field(ge=1)
    los_median_days: float = Field(gt=0)
    los_sigma: float = Field(ge=0)
    arrivals_per_day: float = Field(default=0.0, ge=0)
    boarding_hours: float = Field(default=0.0, ge=0)
    next_level: str | None = None
    next_level_share: float = Field(default=0.0, ge=0, le=1)
    direct_admissions_per_day: float = Field(default=0.0, ge=0)


class Providers(Frozen):
    daily_update_hour: float = Field(ge=0, lt=24)
    daily_update_jitter_hours: float = Field(ge=0)
    intake_acceptance: float = Field(ge=0, le=1)
    answer_probability: float = Field(gt=0, le=1)
    referral_response_hours: float = Field(gt=0)
    referral_response_max_hours: float = Field(gt=0)


class Connectors(Frozen):
    staff: int = Field(ge=1)
    shift_start_hour: float = Field(ge=0, lt=24)
    shift_end_hour: float = Field(gt=0, le=24)
    call_minutes: float = Field(gt=0)
    referral_minutes: float = Field(gt=0)
    recheck_hours: float = Field(gt=0)
    max_calls_per_round: int = Field(ge=1)
    transport_median_hours: float = Field(gt=0)
    transport_max_hours: float = Field(gt=0)


class Scenario(Frozen):
    name: str
    start: datetime
    warmup_days: float = Field(ge=0)
    horizon_days: float = Field(gt=0)
    replications: int = Field(ge=1)
    sources: dict[str, str]
    levels: dict[str, Level]
    initial_occupancy: float = Field(ge=0, le=1)
    providers: Providers
    connectors: Connectors

    def receiving(self) -> list[str]:
        return [name for name, level in self.levels.items() if level.role == "receiving"]

    def quick(self) -> Scenario:
        """The CI run: one replication of a short window (about half a minute)."""
        return self.model_copy(update={"warmup_days": 4.0, "horizon_days": 4.0,
                                       "replications": 1})


def load(path: Path | None = None) -> Scenario:
    """The scenario in `path` (default: the mid-size city shipped with the package); a
    receiving level every sending level points at must exist."""
    data = yaml.safe_load((path or DEFAULT).read_text())
    scenario = Scenario.model_validate(data)
    for name, level in scenario.levels.items():
        if level.role == "sending" and level.next_level not in scenario.receiving():
            raise ValueError(f"level {name} steps down to {level.next_level!r}, which is not "
                             f"a receiving level of the scenario {scenario.name!r}")
    return scenario
