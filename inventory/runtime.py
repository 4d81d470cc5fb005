"""A System for a command that runs outside the web app (imports, the demo's seeding,
benchmarks): the schema migrated, the configured Redis or an embedded one started, and
everything closed again at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from inventory.config import Settings
from inventory.database import upgrade_database
from inventory.embedded_redis import EmbeddedRedis
from inventory.system import System, build_system, redis_address


@asynccontextmanager
async def running_system(settings: Settings) -> AsyncIterator[System]:
    """The System for `settings`, its live state ready, until the block ends. An embedded
    Redis is started when none is configured, and stopped only if this call started it."""
    await upgrade_database(settings)
    address = redis_address(settings)
    embedded = None if address else EmbeddedRedis(settings.data_dir)
    redis_url = address or embedded.start()  # type: ignore[union-attr]
    try:
        system = await build_system(settings, redis_url)
        try:
            await system.availability.ensure_ready()
            yield system
        finally:
            await system.close()
    finally:
        if embedded is not None:
            embedded.stop()
