"""The results block of docs/simulation.md: the command that made it, the table of each
policy, the differences paired by replication, and the load the run put on the server."""

from __future__ import annotations

import statistics

from simulation.experiment import Experiment
from simulation.results import differences, quantile, summarize, table


def report(experiment: Experiment, command: str) -> str:
    """The results block: the command that made it, the table, and the load it put on the
    server."""
    s = experiment.scenario
    latencies = [v for values in experiment.calls.seconds.values() for v in values]
    load_line = (f"{experiment.calls.total} API calls, median "
                 f"{1000 * statistics.median(latencies):.1f} ms, p99 "
                 f"{1000 * quantile(latencies, 0.99):.1f} ms" if latencies else "no API calls")
    return "\n".join([
        (f"Made by `{command}` in {experiment.seconds:.0f} s: scenario *{s.name}*, "
        f"{s.replications} replication(s) of {s.horizon_days:g} measured days after "
        f"{s.warmup_days:g} days of warm-up, seed {experiment.seed}. Mean ± half-width of the "
        "95% confidence interval over replications."), "",
        table(summarize(experiment.runs)), "", *paired(experiment),
        f"Load on the server: {load_line}."])


def paired(experiment: Experiment) -> list[str]:
    """The differences from the first policy, paired by replication, when there are two or
    more replications and two or more policies."""
    first = experiment.policies[0].name
    if experiment.scenario.replications < 2 or len(experiment.policies) < 2:
        return []
    return [f"Difference from `{first}` on the same people (paired by replication, 95% CI):",
            "", table(differences(experiment.runs, first),
                                  column="`{}` − `" + first + "`"), ""]
