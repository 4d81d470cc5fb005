"""`bedfinder import ...`: bring directories and availability in from standard formats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from inventory.actors import SYSTEM, Actor
from inventory.errors import InventoryError

app = typer.Typer(help="Import directories and availability (HSDS, EDXL-HAVE, CSV).",
                  no_args_is_help=True)
console = Console()
T = TypeVar("T")


async def with_services(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(svc)` against the configured (or embedded) Redis and database."""
    from inventory.config import load_settings
    from web.app import build_services
    from web.cli import upgrade_database
    from web.embedded_redis import EmbeddedRedis

    settings = load_settings()
    await upgrade_database(settings)
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
    svc = await build_services(settings, redis_url)
    try:
        await svc.inventory.ensure_ready()
        return await work(svc)
    finally:
        await svc.redis.aclose()
        await svc.engine.dispose()
        if embedded is not None:
            embedded.stop()  # only stops a server this command started itself


def run(work: Callable[[Any], Awaitable[Any]]) -> Any:
    try:
        return asyncio.run(with_services(work))
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

    report = run(lambda svc: service.import_hsds(svc, source, level_of_care))
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
        states = run(lambda svc: service.import_census(svc, file.read_bytes(), actor, org))
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
    result = run(lambda svc: service.import_edxl(svc, data))
    console.print(json.dumps(result, indent=2))
