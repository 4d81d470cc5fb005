"""`bedfinder import hsds|csv` against the embedded defaults (a fresh data folder); the
census applies after a restart, so it also shows the directory survived in SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.feeds.hsds_schemas import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
CAPACITY = "8896b788-7b3e-11ef-8db9-7f3d040352b3"


def bedfinder(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"BEDFINDER_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from web.cli import app; app()", *args],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
                          check=False)


@pytest.mark.slow  # starts extra processes
def test_cli_imports_a_directory_then_a_census_for_one_organization(tmp_path):
    imported = bedfinder(tmp_path, "import", "hsds", str(EXAMPLES / "service_full.json"),
                         "--level-of-care", "residential_sud")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert '"created": 3' in imported.stdout  # organization, program, unit
    census = tmp_path / "census.csv"
    census.write_text(f"unit,available,waitlist\n{CAPACITY},5,2\n")
    applied = bedfinder(tmp_path, "import", "csv", str(census), "--org",
                        "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610")
    assert applied.returncode == 0 and "applied 1 row" in applied.stdout, applied.stdout
