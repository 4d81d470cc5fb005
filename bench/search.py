"""Search and matcher latency on a large directory, through the real HTTP API.

    python -m bench.search --programs 10000 --units-per-program 3 --queries 500

Prints p50/p99/max in milliseconds for filtered searches and full matcher rankings, and the
server's CPU time per request (user + system, from /proc): on a shared machine the wall-clock
percentiles move with the neighbours' load, the CPU time much less. Units serve mixed
populations (bench/directory.py), so the unit-level eligibility rule is applied to every unit
of every candidate program.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import typer

from bench.common import bench_settings, percentiles, running_app
from bench.directory import BENCH_TOKEN, LEVELS, build_sync

PATHWAY_FROM = ["withdrawal_management", "psychiatric_inpatient", "crisis_stabilization",
                "residential_sud", "sobering_center", "crisis_residential",
                "mental_health_residential"]
ATTRIBUTES = ["harm_reduction", "telehealth", "reentry", "homeless_priority", "wheelchair"]


def search_params(rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {"level_of_care": rng.sample(LEVELS, rng.randint(1, 2)),
                                 "age": rng.randint(16, 70)}
    if rng.random() < 0.7:
        params["gender"] = rng.choice(["female", "male", "nonbinary"])
    if rng.random() < 0.7:
        params["payer"] = rng.choice(["medi-cal", "medicare", "private", "county"])
    if rng.random() < 0.5:
        params.update(near=f"{37.6 + rng.random() * 0.4:.4f},{-122.55 + rng.random() * 0.4:.4f}",
                      within_km=rng.choice([2, 5, 10]), sort="distance")
    if rng.random() < 0.5:
        params["available_only"] = "true"
    if rng.random() < 0.3:
        params["mat"] = rng.choice(["buprenorphine", "methadone"])
    if rng.random() < 0.3:
        params[rng.choice(ATTRIBUTES)] = "true"
    return params


def match_body(rng: random.Random) -> dict[str, object]:
    return {"from_level": rng.choice(PATHWAY_FROM), "limit": 10,
            "ready_at": (datetime.now(UTC) + timedelta(hours=18)).isoformat(),
            "needs": {"age": rng.randint(18, 64), "gender": rng.choice(["female", "male"]),
                      "payer": "medi-cal", "language": rng.choice(["en", "es", "zh"]),
                      "location": {"lat": 37.77, "lon": -122.42}}}


def timed(client: httpx.Client, method: str, url: str, **kw: object) -> tuple[float, dict]:
    start = time.perf_counter()
    reply = client.request(method, url, **kw)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - start) * 1000
    reply.raise_for_status()
    return elapsed, reply.json()


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) the process `pid` has used so far, in milliseconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def main(programs: int = 10_000, units_per_program: int = 3, queries: int = 500,
         seed: int = 11,
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs.")) -> None:
    if smoke:
        programs, queries = 200, 20
    rng = random.Random(seed)
    with bench_settings() as settings:
        started = time.perf_counter()
        build_sync(settings, programs, units_per_program)
        backend = settings.sqlalchemy_url().split(":")[0]
        print(f"directory: {programs} programs, {programs * units_per_program} units "
              f"(built in {time.perf_counter() - started:.1f} s) on {backend}")
        with running_app(settings) as (base, pid):
            headers = {"Authorization": f"Bearer {BENCH_TOKEN}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                for _ in range(20):  # warm the directory cache and mirror
                    client.get("/api/v1/programs", params=search_params(rng))
                search_ms, counts = [], []
                cpu_start = cpu_ms(pid)
                for _ in range(queries):
                    ms, body = timed(client, "GET", "/api/v1/programs",
                                     params=search_params(rng))
                    search_ms.append(ms)
                    counts.append(body["count"])
                search_cpu = (cpu_ms(pid) - cpu_start) / queries
                cpu_start = cpu_ms(pid)
                match_ms = [timed(client, "POST", "/api/v1/match", json=match_body(rng))[0]
                            for _ in range(queries // 2)]
                match_cpu = (cpu_ms(pid) - cpu_start) / len(match_ms)
    s, m = percentiles(search_ms), percentiles(match_ms)
    print(f"filtered search ({queries} queries, median {sorted(counts)[len(counts) // 2]} "
          f"matches): p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms; "
          f"server CPU {search_cpu:.1f} ms/request")
    print(f"matcher full ranking ({len(match_ms)} requests): p50 {m['p50']:.1f} ms, "
          f"p99 {m['p99']:.1f} ms, max {m['max']:.1f} ms; server CPU {match_cpu:.1f} ms/request")
    print(f"targets: search p99 < 20 ms: {'met' if s['p99'] < 20 else 'NOT met'}; "
          f"matcher p99 < 50 ms: {'met' if m['p99'] < 50 else 'NOT met'}")


if __name__ == "__main__":
    typer.run(main)
