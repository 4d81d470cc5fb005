"""`bedfinder import ...`: bring directories and availability in from standard formats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from inventory.actors import SYSTEM, Actor
from inventory.config import load_settings
from inventory.errors import InventoryError
from inventory.runtime import running_system
from inventory.system import System

app = typer.Typer(help="Import directories and availability (HSDS, EDXL-HAVE, CSV).",
                  no_args_is_help=True)
console = Console()
T = TypeVar("T")


async def with_system(work: Callable[[System], Awaitable[T]]) -> T:
    """Run `work(system)` against the configured (or embedded) Redis and database."""
    async with running_system(load_settings()) as system:
        return await work(system)


def run(work: Callable[[System], Awaitable[T]]) -> T:
    try:
        return asyncio.run(with_system(work))
    except InventoryError as error:
        console.print(f"[red]error:[/] {error}")
        for line in getattr(error, "problems", []):
            console.print(f"  {line.as_dict() if hasattr(line, 'as_dict') else line}")
        raise typer.Exit(2) from None


@app.command("hsds")
def import_hsds(
    source: Annotated[str, typer.Argument(help="HSDS JSON file, datapackage folder, or URL.")],
    level_of_care: Annotated[str, typer.Option(
        help="Level of care for services that do not say.")] = "outpatient",
) -> None:
    """Import an HSDS 3.1 directory; a second import of the same data changes nothing."""
    from feeds import service

    report = run(lambda system: service.import_hsds(system, source, level_of_care))
    summary = {k: len(v) for k, v in report.as_dict().items()}
    console.print(json.dumps(summary))
    for name in ("warnings", "errors", "missing"):
        for line in getattr(report, name):
            console.print(f"{name[:-1] if name != 'missing' else 'missing'}: {line}")
    if report.errors:
        raise typer.Exit(1)


@app.command("csv")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Census CSV.")],
    org: Annotated[str | None, typer.Option(
        help="Only this organization's units may appear (as its provider would upload).")] = None,
) -> None:
    """Apply a census CSV: every row is checked first; a bad row changes nothing."""
    from feeds import census_csv, service

    actor = Actor(token_id="cli", role="provider", organization_id=org) if org else SYSTEM
    try:
        states = run(lambda system: service.import_census(system, file.read_bytes(), actor, org))
    except census_csv.CensusRejected as error:
        console.print(f"[red]error:[/] {error}")
        for problem in error.problems:
            console.print(f"  row {problem.line}: {'; '.join(problem.errors)}")
        raise typer.Exit(2) from None
    console.print(f"applied {len(states)} row(s)")


@app.command("edxl")
def import_edxl(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="EDXL-HAVE XML document.")],
) -> None:
    """Apply hospital bed availability through the `edxl_hospitals` mapping."""
    from feeds import edxl_have, service

    data = file.read_bytes()
    try:
        edxl_have.parse(data)  # refuse malformed or hostile XML before touching any store
    except InventoryError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None
    result = run(lambda system: service.import_edxl(system, data))
    console.print(json.dumps(result, indent=2))
