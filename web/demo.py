"""The demo system: seeds the fictional directory and, optionally, a provider that moves
counts through the public API now and then so screens show life.

The directory is data, not code: `demo_data/directory.json`, an HSDS 3.1 document (a list of
organizations with their services), loaded through the same HSDS importer as any other
directory, so the demo exercises the real import path.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx

from feeds.directory_sync import SyncReport
from feeds.service import import_hsds
from inventory.clock import utcnow
from inventory.config import Settings
from inventory.system import System, build_system
from inventory.tokens import create_token

DATASET = Path(__file__).parent / "demo_data" / "directory.json"
# The organization the demo's provider token belongs to (README's walkthrough uses it).
PROVIDER_ORGANIZATION = "org-fogline-recovery"


async def seed(settings: Settings) -> dict[str, str]:
    """Load the demo directory unless it is there already; return a new token per role."""
    assert settings.redis_url, "seed runs against the shared Redis"
    svc = await build_system(settings, settings.redis_url)
    try:
        await svc.availability.ensure_ready()
        if not await svc.directory.programs():
            await load_directory(svc)
        tokens = {}
        for role in ("admin", "provider", "navigator", "display"):
            org = PROVIDER_ORGANIZATION if role == "provider" else None
            tokens[role], _ = await create_token(svc.sessions, role, utcnow(), org,
                                                 f"demo {role}")
        return tokens
    finally:
        await svc.close()


async def load_directory(svc: System) -> SyncReport:
    """Import the demo dataset through the HSDS importer. The file ships with the package and
    is checked by its tests, so anything the importer reports about it is a bug: raised, not
    printed."""
    report = await import_hsds(svc, str(DATASET), label="demo")
    problems = report.errors + report.warnings
    if problems:
        raise RuntimeError(f"the demo dataset {DATASET.name} did not import cleanly: "
                           + "; ".join(problems[:5]))
    return report


async def simulate_forever(base_url: str, admin_token: str, every_seconds: float = 4.0) -> None:
    """Act as busy providers: every few seconds one unit's count moves by one."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    rng = random.Random()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        await asyncio.sleep(2)
        while True:
            try:
                programs = (await client.get("/api/v1/programs")).json()["programs"]
                unit = rng.choice([u for p in programs for u in p["units"]])
                room = unit["capacity"] - unit["held"]
                target = max(0, min(room, unit["available"] + rng.choice((-1, 1))))
                await client.put(f"/api/v1/units/{unit['id']}/availability",
                                 json={"available": target, "note": "simulated"})
            except (httpx.HTTPError, KeyError, IndexError):
                pass
            await asyncio.sleep(every_seconds)


def start_in_thread(coro: Coroutine[Any, Any, None]) -> threading.Thread:
    thread = threading.Thread(target=asyncio.run, args=(coro,), daemon=True)
    thread.start()
    return thread
