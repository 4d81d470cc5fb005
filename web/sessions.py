"""Open websockets by token, so revoking a token closes its connections at once (not at the
next request), in every process: a revocation arrives here from `web/notifications.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


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
