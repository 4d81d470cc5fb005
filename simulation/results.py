"""What a run measured, the same measures over replications with 95% confidence intervals,
the table of docs/simulation.md and its plots."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from simulation.model import Run

# Two-sided 95% Student t quantiles by degrees of freedom (1-30); normal beyond.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
       2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
       2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

MEASURES: dict[str, str] = {
    "lapse_share": "transitions that lapse (share)",
    "wait_median_h": "hours ready to placed, median",
    "wait_p90_h": "hours ready to placed, p90",
    "idle_bed_hours_per_day": "bed-hours idle while someone waited, per day",
    "referrals_per_placement": "referrals per placement",
    "calls_per_placement": "phone calls per placement",
    "caseload": "open transitions per connector",
}


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Measured:
    """One run's measures, over the transitions whose person became ready in the window."""
    policy: str
    replication: int
    values: dict[str, float]
    transitions: int
    api_calls: int


def measure(run: Run) -> Measured:
    start, end = run.window
    days = (end - start) / 24.0
    people = [p for p in run.people if start <= p.ready < end]
    placed = [p for p in people if p.placed is not None]
    lapsed = [p for p in people if p.status == "lapsed"]
    waits = [p.placed - p.ready for p in placed if p.placed is not None]
    ended = len(placed) + len(lapsed)
    staff = run.scenario.connectors.staff
    values = {
        "lapse_share": len(lapsed) / ended if ended else math.nan,
        "wait_median_h": quantile(waits, 0.5),
        "wait_p90_h": quantile(waits, 0.9),
        "idle_bed_hours_per_day": sum(g.area for g in run.idle_waited.values()) / days,
        "referrals_per_placement": (sum(p.referrals for p in people) / len(placed)
                                    if placed else math.nan),
        "calls_per_placement": sum(p.calls for p in people) / len(placed) if placed else math.nan,
        "caseload": run.open_cases.mean() / staff,
    }
    return Measured(run.policy.name, run.replication, values, len(people), run.api.stats.total)


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    half_width: float   # NaN with one replication
    n: int

    def text(self, digits: int) -> str:
        if math.isnan(self.mean):
            return "n/a"
        if math.isnan(self.half_width):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f}"


def estimate(values: list[float]) -> Estimate:
    """Mean over replications and the half-width of its 95% t interval."""
    xs = [v for v in values if not math.isnan(v)]
    if not xs:
        return Estimate(math.nan, math.nan, 0)
    if len(xs) == 1:
        return Estimate(xs[0], math.nan, 1)
    t = T95[len(xs) - 2] if len(xs) - 1 <= len(T95) else 1.96
    return Estimate(statistics.fmean(xs), t * statistics.stdev(xs) / math.sqrt(len(xs)), len(xs))


def summarize(runs: list[Measured]) -> dict[str, dict[str, Estimate]]:
    """policy -> measure -> estimate, policies in the order first seen."""
    policies = list(dict.fromkeys(r.policy for r in runs))
    return {policy: {m: estimate([r.values[m] for r in runs if r.policy == policy])
                     for m in MEASURES} for policy in policies}


DIGITS = {"lapse_share": 3, "wait_median_h": 1, "wait_p90_h": 1, "idle_bed_hours_per_day": 1,
          "referrals_per_placement": 2, "calls_per_placement": 2, "caseload": 2}


def table(summary: dict[str, dict[str, Estimate]], column: str = "`{}`") -> str:
    """A Markdown table: one row per measure, one column per policy (mean ± 95% CI)."""
    policies = list(summary)
    lines = ["| measure | " + " | ".join(column.format(p) for p in policies) + " |",
             "| --- |" + " ---: |" * len(policies)]
    for key, label in MEASURES.items():
        cells = [summary[p][key].text(DIGITS[key]) for p in policies]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def differences(runs: list[Measured], baseline: str) -> dict[str, dict[str, Estimate]]:
    """policy -> measure -> the mean difference from `baseline` over replications, paired by
    replication: both saw the same people (common random numbers), so the interval is
    narrower than the two intervals of the table suggest."""
    base = {r.replication: r.values for r in runs if r.policy == baseline}
    policies = [p for p in dict.fromkeys(r.policy for r in runs) if p != baseline]
    return {policy: {m: estimate([r.values[m] - base[r.replication][m] for r in runs
                                  if r.policy == policy and r.replication in base])
                     for m in MEASURES} for policy in policies}


def plot(summary: dict[str, dict[str, Estimate]], out: Path) -> list[Path]:
    """Bar charts with 95% intervals: lapses, waiting, idle beds and effort per placement."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    policies = list(summary)
    groups = [("lapses", ["lapse_share"]), ("waiting", ["wait_median_h", "wait_p90_h"]),
              ("idle_beds", ["idle_bed_hours_per_day"]),
              ("effort", ["calls_per_placement", "referrals_per_placement", "caseload"])]
    written = []
    for name, keys in groups:
        fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
        for ax, key in zip(axes[0], keys):
            means = [summary[p][key].mean for p in policies]
            errs = [0.0 if math.isnan(summary[p][key].half_width) else summary[p][key].half_width
                    for p in policies]
            ax.bar(policies, means, yerr=errs, capsize=4,
                   color=["#9a6b3f", "#2f6f9f", "#6a9fc5", "#a9c6dd"][:len(policies)])
            ax.set_title(MEASURES[key], fontsize=9)
            ax.tick_params(axis="x", labelsize=8, rotation=15)
        fig.tight_layout()
        path = out / f"simulation_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def littles_law(run: Run, level: str) -> tuple[float, float]:
    """(L, lambda * W) for one level over the window: the time-averaged occupancy, and the
    admissions per hour in the window times their mean length of stay (a stay still going
    at the end of the run counts its planned length)."""
    start, end = run.window
    stays = [s for s in run.stays if s.level == level and start <= s.admitted < end]
    if not stays:
        return math.nan, math.nan
    lengths = [(s.left if s.left is not None else s.admitted + s.planned) - s.admitted
               for s in stays]
    rate = len(stays) / (end - start)
    return run.occupancy[level].mean(), rate * statistics.fmean(lengths)
