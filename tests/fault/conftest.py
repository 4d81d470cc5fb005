"""Fault tests run real processes they start and kill themselves, never shared services."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory.config import Settings, load_settings
from inventory.keys import tagged_prefix
from inventory.tokens import create_token
from tests.conftest import free_port
from tests.processes import RedisServer


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def fault_settings(tmp_path: Path, own_redis: RedisServer, database_url: str) -> Settings:
    return load_settings(data_dir=tmp_path, redis_url=own_redis.url,
                         database_url=database_url,
                         redis_prefix=tagged_prefix(f"f{secrets.token_hex(4)}"),
                         token_cache_seconds=0.0, heartbeat_seconds=1.0,
                         rate_limit_writes="", rate_limit_reads="",
                         rate_limit_invalid_tokens="", max_websockets_per_token=100_000,
                         max_websockets_per_address=100_000)


async def admin_token(settings: Settings) -> str:
    from inventory.clock import utcnow
    from inventory.database import create_engine, session_factory

    engine = create_engine(settings.sqlalchemy_url())
    try:
        token, _ = await create_token(session_factory(engine), "admin", utcnow())
        return token
    finally:
        await engine.dispose()

