"""`bedfinder report MEASURE`: export an analytics measure as CSV; `bedfinder report
--packet 2026Q3`: the quarterly packet as one self-contained HTML page (web/packet.py).

    bedfinder report zero_hours --from 2026-10-01 --to 2026-10-31 --out october.csv
    bedfinder report --packet 2026Q3 --tz America/Los_Angeles

Reads the configured database directly (no server needed). The progress bar follows the two
slow parts of a long range: rolling up hours of history not rolled up yet, and computing the
measure; the CSV is the same as `GET /api/v1/reports/{measure}.csv` with the same parameters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from fastapi import HTTPException
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory import history
from inventory.clock import utcnow
from inventory.config import Settings, load_settings
from inventory.database import create_engine, session_factory
from inventory.errors import InventoryError
from inventory.measures import MEASURES, answer
from web import packet
from web.api.reports import question, to_csv

app = typer.Typer(help="Export analytics measures as CSV.", no_args_is_help=True,
                  context_settings={"allow_interspersed_args": True})
console = Console(stderr=True)


async def roll_up_with_progress(sessions: async_sessionmaker, progress: Progress) -> None:
    """Roll up history a week at a time so the bar moves on a long backlog."""
    now = utcnow()
    async with sessions() as session:
        cursor = await history.rolled_until(session) or await history.first_change(session)
    hours = int((now - cursor) / history.HOUR) if cursor else 0
    task = progress.add_task("rolling up history", total=max(hours, 1))
    done = 0
    while True:
        step = await history.roll_up(sessions, min(now, (cursor or now) + timedelta(
            hours=done + history.CHUNK_HOURS)))
        done += step
        progress.update(task, completed=min(done, hours))
        if step == 0:
            break
    progress.update(task, completed=max(hours, 1))


@asynccontextmanager
async def rolled_up(settings: Settings) -> AsyncIterator[tuple[async_sessionmaker, Progress]]:
    """The database's sessions with the history rolled up to now, and the progress display the
    caller adds its own steps to; the engine is disposed after."""
    engine = create_engine(settings.sqlalchemy_url())
    sessions = session_factory(engine)
    columns = (TextColumn("{task.description:<20}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            await roll_up_with_progress(sessions, progress)
            yield sessions, progress
    finally:
        await engine.dispose()


async def write_packet(quarter_text: str, tz: str, out: Path) -> int:
    """The quarter's packet; returns how many cells were suppressed."""
    settings = load_settings()
    quarter = packet.parse_quarter(quarter_text)
    now = utcnow()
    q = question(settings, now, quarter.first.isoformat(), quarter.last.isoformat(), [], None,
                 False, "week", tz)
    async with rolled_up(settings) as (sessions, progress):
        task = progress.add_task("computing measures", total=1)
        tables = await packet.gather(sessions, q)
        progress.update(task, completed=1)
        out.write_text(packet.render(quarter, q, tables, settings, now), encoding="utf-8")
    return tables["outcomes"].suppressed + tables["unmet_by_need"].suppressed


async def export(measure: str, start: str | None, end: str | None, levels: list[str],
                 area: str | None, bucket: str, tz: str, out: Path) -> int:
    settings = load_settings()
    q = question(settings, utcnow(), start, end, levels, area, False, bucket, tz)
    async with rolled_up(settings) as (sessions, progress):
        task = progress.add_task(f"computing {measure}", total=1)
        table = await answer(measure, sessions, q)
        progress.update(task, completed=1)
        write = progress.add_task("writing CSV", total=1)
        out.write_text(to_csv(table), encoding="utf-8", newline="")  # CRLF as written
        progress.update(write, completed=1)
    return len(table.rows)


@app.callback(invoke_without_command=True)
def report(
    measure: Annotated[str | None, typer.Argument(help=f"One of: {', '.join(MEASURES)}.")]
    = None,
    packet_quarter: Annotated[str | None, typer.Option("--packet", help=(
        "Write the quarterly packet (HTML) for a quarter such as 2026Q3 instead of one "
        "measure."))] = None,
    start: Annotated[str | None, typer.Option("--from", help=(
        "Start: a date (midnight in --tz) or an ISO time; default 30 days before --to."))] = None,
    end: Annotated[str | None, typer.Option("--to", help=(
        "End: a date (included) or an ISO time; default now."))] = None,
    out: Annotated[Path | None, typer.Option("--out", help=(
        "The file to write (default report.csv, or packet-QUARTER.html)."))] = None,
    level: Annotated[list[str] | None, typer.Option("--level", help="A level of care "
                                                     "(repeatable).")] = None,
    area: Annotated[str | None, typer.Option(help="One area (a program's neighbourhood).")]
    = None,
    bucket: Annotated[str, typer.Option(help="hour, day or week.")] = "day",
    tz: Annotated[str, typer.Option(help="IANA time zone for days and hours.")] = "UTC",
) -> None:
    """Write one measure over a date range as CSV, or a quarter's packet as HTML
    (measures: docs/measures.md)."""
    if packet_quarter:
        target = out or Path(f"packet-{packet_quarter.strip().upper()}.html")
        try:
            withheld = asyncio.run(write_packet(packet_quarter, tz, target))
        except (HTTPException, InventoryError) as error:
            detail = error.detail if isinstance(error, HTTPException) else str(error)
            console.print(f"[red]error:[/] {detail}")
            raise typer.Exit(2) from None
        console.print(f"wrote the {packet_quarter.upper()} packet to {target} "
                      f"({withheld} cells suppressed)")
        return
    if measure is None:
        raise typer.BadParameter("name a measure, or ask for --packet QUARTER")
    out = out or Path("report.csv")
    if measure not in MEASURES:
        raise typer.BadParameter(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")
    if bucket not in ("hour", "day", "week"):
        raise typer.BadParameter(f"bucket must be hour, day or week, got {bucket!r}")
    try:
        rows = asyncio.run(export(measure, start, end, level or [], area, bucket, tz, out))
    except HTTPException as error:
        console.print(f"[red]error:[/] {error.detail}")
        raise typer.Exit(2) from None
    except InventoryError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from None
    console.print(f"wrote {rows} rows of {measure} to {out}")
