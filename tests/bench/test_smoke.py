"""The benchmarks in smoke mode: each runs end to end on the embedded defaults, loses
nothing and exits 0. Performance itself is never asserted here (see docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def smoke(module: str) -> str:
    done = subprocess.run([sys.executable, "-m", module, "--smoke"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{module} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def test_broadcast_delivers_every_update_to_every_subscriber_of_app_and_baseline() -> None:
    out = smoke("bench.broadcast")
    app = next(line for line in out.splitlines() if line.strip().startswith("app:"))
    bare = next(line for line in out.splitlines() if line.strip().startswith("baseline:"))
    for line in (app, bare):
        assert "lost 0," in line and "unacknowledged 0," in line and "out of order 0," in line
    assert "ratio:" in out


def test_ingest_finds_every_acknowledged_update_in_the_audit_log() -> None:
    """Single updates and batches, after the bare FastAPI baseline of the same run."""
    out = smoke("bench.ingest")
    found, acked = out.split("in the audit log: ")[1].split()[0].split("/")
    assert int(acked) > 0 and found == acked
    assert "x the bare app" in out and "batches of 10" in out


def test_hold_burst_grants_exactly_the_free_beds() -> None:
    out = smoke("bench.holds")
    assert "granted 5, refused 55" in out
    assert "live state and SQL agree: yes" in out


@pytest.mark.parametrize("module", ["bench.search"])
def test_search_benchmark_runs(module: str) -> None:
    out = smoke(module)
    assert "filtered search" in out and "matcher full ranking" in out


def test_search_cpu_benchmark_runs() -> None:
    out = smoke("bench.search_cpu")
    assert "search + views + JSON (20)" in out and "matcher ranking (10)" in out


def test_write_cpu_benchmark_runs() -> None:
    out = smoke("bench.write_cpu")
    assert "Bedfinder, one unit per PUT, 200 requests x 1: CPU per request" in out
