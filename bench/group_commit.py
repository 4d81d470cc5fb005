"""A prototype, for measurement only: the app with audit-log writes group-committed.

    python -m bench.ingest --group-commit

Concurrent requests in one process hand their audit rows to one writer, which inserts
everything waiting in one transaction and then answers each request; a failed batch is
retried row set by row set, so one bad change cannot fail the others. Acknowledgement still
follows the commit, so "nothing acknowledged is lost" holds. Not wired into the app: this
shows what the change would buy (docs/benchmarks.md); adopting it is the lead's call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI

Record = Callable[[Any, Sequence[Any]], Awaitable[None]]


class GroupCommit:
    def __init__(self, record: Record) -> None:
        self.record_one = record
        self.pending: list[tuple[Any, Sequence[Any], asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def record(self, sessions: Any, rows: Sequence[Any]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((sessions, rows, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._write())
        await future

    async def _write(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                await self.record_one(batch[0][0], [r for _, rows, _ in batch for r in rows])
            except Exception:  # noqa: BLE001 (retried one by one below)
                for sessions, rows, future in batch:
                    try:
                        await self.record_one(sessions, rows)
                        future.set_result(None)
                    except Exception as error:  # noqa: BLE001 (given to its caller)
                        future.set_exception(error)
                continue
            for _, _, future in batch:
                future.set_result(None)


def app_factory() -> FastAPI:
    from inventory import audit
    from web.app import app_factory as real

    audit.record = GroupCommit(audit.record).record  # type: ignore[method-assign]
    return real()
