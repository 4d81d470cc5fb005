"""`bedfinder simulate --quick` as CI runs it: it starts its own Bedfinder in simulation mode
(an extra process, hence `slow`), prints the table, writes the plots and updates a document."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from web.cli import app


@pytest.mark.slow
def test_quick_command_writes_table_plots_and_document(tmp_path: Path) -> None:
    doc = tmp_path / "simulation.md"
    doc.write_text("# before\n\n<!-- simulate:results -->\nold\n<!-- /simulate:results -->\n")
    result = CliRunner().invoke(app, [
        "simulate", "--quick", "--seed", "5", "--policy", "daily", "--policy", "live",
        "--out", str(tmp_path / "out"), "--update-doc", str(doc)])
    assert result.exit_code == 0, result.output
    assert "| transitions that lapse (share) |" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "results.md", "runs.json", "simulation_effort.png", "simulation_idle_beds.png",
        "simulation_lapses.png", "simulation_waiting.png"]
    text = doc.read_text()
    assert "old" not in text and "`bedfinder simulate --quick --seed 5 --policy daily --policy live`" in text
    assert text.startswith("# before\n") and text.rstrip().endswith("<!-- /simulate:results -->")


def test_unknown_policy_is_refused_with_the_choices() -> None:
    result = CliRunner().invoke(app, ["simulate", "--quick", "--policy", "weekly"])
    assert result.exit_code == 2
    assert "unknown policy weekly" in result.output and "live-no-alerts" in result.output
