"""aiosqlite's close() after stop() (what SQLAlchemy does when a task is cancelled while it
closes an invalidated connection) must end, on the connections our engine makes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inventory.database import create_engine


async def test_a_close_racing_a_forced_stop_still_ends(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'close.db'}")
    try:
        raw = await engine.raw_connection()  # checked out: the pool leaves it alone
        driver = raw.driver_connection
        assert driver is not None
        graceful = asyncio.ensure_future(driver.close())  # SQLAlchemy's shielded close
        await asyncio.sleep(0)  # it has queued its close on the worker thread
        driver.stop()  # the force close that follows a cancellation
        done, _ = await asyncio.wait({graceful}, timeout=5)
        assert done, "close() after stop() never finished"
        assert driver._connection is None
        raw.invalidate()  # closed already: the pool only forgets it
    finally:
        await engine.dispose()
