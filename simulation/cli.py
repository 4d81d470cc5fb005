"""`bedfinder simulate`: run the policies side by side and print (and optionally write) the
table and plots of docs/simulation.md. The simulation's modules (SimPy, numpy, matplotlib,
the SQL and Redis clients of its own server) are imported inside the command, so the
`bedfinder` command starts as fast without them."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from simulation.server import Server

console = Console(stderr=True)
BLOCK = re.compile(r"(<!-- simulate:results -->\n).*?(<!-- /simulate:results -->)", re.DOTALL)


def simulate(
    quick: Annotated[bool, typer.Option(help="One short replication (CI: under a minute).")]
    = False,
    seed: Annotated[int, typer.Option(help="Seed of every random stream.")] = 7,
    replications: Annotated[int | None, typer.Option(
        min=1, help="Replications (default: the scenario's).")] = None,
    policy: Annotated[list[str] | None, typer.Option(
        help="daily, live, live-no-holds, live-no-alerts (repeat; default all).")] = None,
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario YAML (default: the shipped mid-size city).")] = None,
    url: Annotated[str | None, typer.Option(
        help="A running Bedfinder in simulation mode (default: start one).")] = None,
    token: Annotated[str | None, typer.Option(help="Admin token for --url.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for results.md and the PNG plots.")] = None,
    update_doc: Annotated[Path | None, typer.Option(
        help="Markdown file whose simulate:results block is replaced.")] = None,
) -> None:
    """Simulate the city's system of care under each policy, through the real API."""
    from contextlib import nullcontext

    from simulation.experiment import run_experiment
    from simulation.policies import chosen
    from simulation.report import report
    from simulation.results import plot, summarize
    from simulation.scenario import load
    from simulation.server import Server, own_server

    chosen_scenario = load(scenario)
    if quick:
        chosen_scenario = chosen_scenario.quick()
    if replications:
        chosen_scenario = chosen_scenario.model_copy(update={"replications": replications})
    try:
        policies = chosen(policy)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if url and not token:
        raise typer.BadParameter("--url needs --token (an admin token of that server)")
    if update_doc and not BLOCK.search(update_doc.read_text()):
        raise typer.BadParameter(f"{update_doc} has no <!-- simulate:results --> block")
    server: AbstractContextManager[Server] = (
        nullcontext(Server(url, token or "")) if url else own_server())
    with server as running:
        experiment = run_experiment(chosen_scenario, policies, seed, running.url,
                                    running.admin_token, progress=console.print)
    command = " ".join(["bedfinder simulate", *(["--quick"] if quick else []), f"--seed {seed}",
                        *([f"--replications {replications}"] if replications else []),
                        *(f"--policy {p}" for p in policy or []),
                        *([f"--scenario {scenario}"] if scenario else [])])
    text = report(experiment, command)
    print(text)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(text + "\n")
        (out / "runs.json").write_text(json.dumps(
            [asdict(r) for r in experiment.runs], indent=1) + "\n")
        for path in plot(summarize(experiment.runs), out):
            console.print(f"wrote {path}")
    if update_doc:
        update_doc.write_text(BLOCK.sub(lambda m: m.group(1) + text + "\n" + m.group(2),
                                        update_doc.read_text()))
