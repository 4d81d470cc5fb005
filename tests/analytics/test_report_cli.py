"""`bedfinder report` writes the same CSV as the API, with a progress bar on stderr."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory.measures import answer
from tests.analytics.test_measures import ask
from web.api.reports import to_csv


async def report(database_url: str, *args: str) -> tuple[int, str]:
    env = dict(os.environ, BEDFINDER_DATABASE_URL=database_url, COLUMNS="100")
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "bedfinder"), "report", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, (out + err).decode()


async def test_report_writes_the_measure_as_csv(directory: async_sessionmaker,
                                                database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "zero.csv"
    code, said = await report(database_url, "zero_hours", "--from", "2026-03-02T00:00:00Z",
                              "--to", "2026-03-02T08:00:00Z", "--out", str(target))
    assert code == 0, said
    assert "rolling up history" in said and "wrote 2 rows of zero_hours" in said
    expected = to_csv(await answer("zero_hours", directory, ask()))
    assert target.read_bytes().decode() == expected  # CRLF rows, as the API sends
    assert "withdrawal_management,all,2.5" in expected


async def test_report_refuses_an_unknown_measure_and_a_bad_date(
        database_url: str, tmp_path: Path) -> None:
    code, said = await report(database_url, "sleepiness", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "unknown measure" in said
    code, said = await report(database_url, "holds", "--from", "yesterday")
    assert code == 2 and "from must be a date" in said
    assert not (tmp_path / "x.csv").exists()
