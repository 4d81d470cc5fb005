"""Noticing that Redis came back empty (a restart, FLUSHDB) and rebuilding the live state from
SQL, then telling the stream reader that the state it follows was replaced."""

from __future__ import annotations

import asyncio
import logging

from inventory.availability import Inventory
from inventory.live import LiveStore
from inventory.stream_reader import StreamReader

log = logging.getLogger(__name__)
WATCH_SECONDS = 1.0


async def watch_live_state(live: LiveStore, inventory: Inventory, reader: StreamReader,
                           every: float = WATCH_SECONDS) -> None:
    """Check every `every` seconds until cancelled. Redis or SQL being down is logged and
    checked again (readiness reports it); it does not end the watch."""
    known = None
    while True:
        try:
            epoch = await live.epoch()
            if epoch is None:
                epoch = await inventory.rebuild()
            if known is not None and epoch != known:
                reader.replaced(epoch)
            known = epoch
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - Redis or SQL down: readiness says so
            log.warning("live state check failed: %s", error)
        await asyncio.sleep(every)
