"""The demo system: seeds the fictional directory and, optionally, a provider that moves
counts through the public API now and then so screens show life."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Coroutine
from typing import Any

import httpx

from inventory.actors import SYSTEM
from inventory.config import Settings
from inventory.errors import Conflict
from inventory.system import build_system
from inventory.tokens import create_token
from web.demo_directory import ORGANIZATIONS, PROGRAMS
from web.services import utcnow

PROGRAM_KEYS = ("organization_id", "name", "description", "level_of_care", "asam_level",
                "area", "address", "latitude", "longitude", "phone", "genders", "age_min",
                "age_max", "payers", "languages", "mat", "wheelchair", "pets", "co_occurring",
                "involuntary", "secure", "cadence_minutes")


async def seed(settings: Settings) -> dict[str, str]:
    """Load the demo directory unless it is there already; return a new token per role."""
    assert settings.redis_url, "seed runs against the shared Redis"
    svc = await build_system(settings, settings.redis_url)
    try:
        await svc.inventory.ensure_ready()
        if not await svc.directory.programs():
            await load_directory(svc)
        first_org = ORGANIZATIONS[0]["id"]
        tokens = {}
        for role in ("admin", "provider", "navigator", "display"):
            org = first_org if role == "provider" else None
            tokens[role], _ = await create_token(svc.sessions, role, utcnow(), org,
                                                 f"demo {role}")
        return tokens
    finally:
        await svc.close()


async def load_directory(svc: Any) -> None:
    for org in ORGANIZATIONS:
        try:
            await svc.directory.create_organization(org["name"], org["id"])
        except Conflict:
            pass
    for p in PROGRAMS:
        await svc.directory.create_program({k: p[k] for k in PROGRAM_KEYS}, p["id"])
        for u in p["units"]:
            await svc.directory.create_unit(
                p["id"], SYSTEM, label=u["label"], kind=u["kind"], capacity=u["capacity"],
                available=u["available"], waitlist=u["waitlist"], unit_id=u["id"])


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
