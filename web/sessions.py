"""Open websockets by token, so revoking a token closes its connections at once (not at the
next request), in every process.

A revocation reaches this process two ways: a message over Redis pub/sub (from the API or
`bedfinder token revoke`, through `web/notifications.py`), at once; and `sweep`, which checks
every open websocket's token against SQL every `token_sweep_seconds`, so a revocation whose
message this process missed (Redis down or failing over, the process restarting its
listener, a revocation written straight to the database) still closes its websockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Invalid = Callable[[set[str]], Awaitable[set[str]]]


class TokenSessions:
    """For each token id, one event per open websocket, set when that token is revoked."""

    def __init__(self) -> None:
        self.open: dict[str, set[asyncio.Event]] = {}
        self.on_revoke: list[Callable[[str], None]] = []  # e.g. forget a cached token

    def session(self, token_id: str) -> asyncio.Event:
        """An event set when `token_id` is revoked; release it with `end_session`."""
        revoked = asyncio.Event()
        self.open.setdefault(token_id, set()).add(revoked)
        return revoked

    def end_session(self, token_id: str, revoked: asyncio.Event) -> None:
        events = self.open.get(token_id)
        if events is not None:
            events.discard(revoked)
            if not events:
                del self.open[token_id]

    def revoke(self, token_id: str) -> None:
        for listener in self.on_revoke:
            listener(token_id)
        for revoked in self.open.get(token_id, ()):
            revoked.set()

    async def sweep(self, invalid: Invalid, every: float) -> None:
        """Until cancelled: every `every` seconds, revoke here each open token that `invalid`
        (the SQL check) says is no longer valid. A failing check (SQL down) raises, and the
        supervisor restarts the sweep."""
        while True:
            await asyncio.sleep(every)
            for token_id in await invalid(set(self.open)):
                log.warning("token %s is no longer valid; closing its websockets", token_id)
                self.revoke(token_id)
