"""CPU time of the search and matcher's own work, in process, without HTTP.

    python -m bench.search_cpu --programs 10000 --units-per-program 3 --queries 500

Builds the same directory and queries as `bench.search`, loads the live state from Redis
once, and times with `time.process_time` what a request does after its Redis round trips:
the search, the views of the first 100 programs through the audience table and their JSON;
the matcher's ranking of its pathway's levels. On a shared machine this moves far less with
the neighbours' load than wall-clock latency does, so it is the figure to compare commits by.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import typer

from bench.common import bench_settings, percentiles
from bench.directory import build
from bench.search import match_body, search_params
from inventory.levels import Levels
from inventory.matcher import Words, rank, target_levels
from inventory.search import Filters, search
from inventory.system import build_system
from inventory.transitions import needs_of
from web.api.programs import parse_near
from web.audiences import STAFF, program_for, program_view

FLAGS = ("wheelchair", "harm_reduction", "telehealth", "reentry", "homeless_priority")


def filters_of(params: dict[str, Any]) -> Filters:
    """The Filters `GET /api/v1/programs` makes of these query parameters."""
    given: dict[str, Any] = {k: v for k, v in params.items()
                             if k not in ("level_of_care", "near", "available_only", *FLAGS)}
    given.update({k: True for k in FLAGS if k in params})
    return Filters(level_of_care=tuple(params["level_of_care"]),
                   near=parse_near(params.get("near")),
                   available_only="available_only" in params, **given)


async def measure(programs: int, units_per_program: int, queries: int, seed: int) -> None:
    rng = random.Random(seed)
    with bench_settings() as settings:
        await build(settings, programs, units_per_program)
        system = await build_system(settings, settings.redis_url or "")
        try:
            await system.availability.rebuild()
            directory = system.directory
            every = await directory.programs()
            states = await system.live.units(u.id for p in every.values() for u in p.units)
            now, cadence = datetime.now(UTC), settings.default_cadence_minutes
            search_ms = []
            for _ in range(queries):
                f = filters_of(search_params(rng))
                candidates = await directory.at_levels(f.level_of_care)
                start = time.process_time()
                found = search(candidates, states, f, now, cadence)
                orjson.dumps([program_for(program_view(r, now, cadence), STAFF)
                              for r in found[:100]])
                search_ms.append((time.process_time() - start) * 1000)
            names = Levels(settings.levels_of_care, settings.pathways).names("en")
            match_ms = []
            for _ in range(queries // 2):
                body: dict[str, Any] = match_body(rng)
                levels = target_levels(body["from_level"], settings.pathways,
                                       list(settings.levels_of_care))
                candidates = await directory.at_levels(tuple(levels))
                start = time.process_time()
                rank(candidates, states, needs_of(body["needs"]), levels,
                     now + timedelta(hours=18), now, cadence, 10, Words(names))
                match_ms.append((time.process_time() - start) * 1000)
        finally:
            await system.close()
    for name, samples in (("search + views + JSON", search_ms), ("matcher ranking", match_ms)):
        p = percentiles(samples)
        print(f"{name} ({len(samples)}): CPU mean {p['mean']:.2f} ms, p50 {p['p50']:.2f} ms, "
              f"p99 {p['p99']:.2f} ms")


def main(programs: int = 10_000, units_per_program: int = 3, queries: int = 500,
         seed: int = 11,
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs.")) -> None:
    if smoke:
        programs, queries = 200, 20
    asyncio.run(measure(programs, units_per_program, queries, seed))


if __name__ == "__main__":
    typer.run(main)
