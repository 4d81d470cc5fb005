"""The SQL engine and sessions, and schema migration by Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from inventory.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def json_text(value: object) -> str:
    """JSON columns through orjson: the standard library's encoder was the largest single
    cost of recording a batch's audit rows (one `detail` per row)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str) -> AsyncEngine:
    """An engine; SQLite gets WAL and a busy timeout so several processes can share the file.
    The pool keeps SQLAlchemy's default size: a pool of 32 (tried for the write path) left
    connections whose close, at event-loop shutdown, never finished (docs/decisions.md)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30},
                                     json_serializer=json_text,
                                     json_deserializer=orjson.loads)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            stop_once(dbapi_conn.driver_connection)
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               json_serializer=json_text, json_deserializer=orjson.loads)


def stop_once(connection: Any) -> None:
    """Make an aiosqlite connection's `stop()` act once. aiosqlite 0.22.1's `close()` ends by
    calling `stop()` and awaiting it; if `stop()` was already called, the worker thread has
    left at the first stop and the second is never answered, so `close()` waits forever.
    SQLAlchemy does exactly that when a task is cancelled while it closes a connection it
    invalidated (the graceful close goes on under `asyncio.shield`, the force close calls
    `stop()`): the task that hung test teardowns (tests/unit/test_sqlite_close.py)."""
    stop = connection.stop
    stopped = False

    def once() -> Any:
        nonlocal stopped
        if stopped:
            return None  # close() then has nothing to await: the thread stops anyway
        stopped = True
        return stop()

    connection.stop = once


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` on this engine's database."""

    def upgrade(connection) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)


async def upgrade_database(settings: Settings) -> None:
    """Create the data folder and bring the configured database to the latest schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.sqlalchemy_url())
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
