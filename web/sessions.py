"""Open websockets by token, so revoking a token closes its connections at once (not at the
next request), in every process. A signed-in person's websocket is registered under two
names: their user id (disabling them here closes all their sockets) and their session's
(`ses-<digest>`, web/web_sessions.py: a session that ends or fails its recheck closes only
its own).

A revocation reaches this process two ways: a message over Redis pub/sub (from the API or
`bedfinder token revoke`, through `web/notifications.py`), at once; and `sweep`, which checks
every open websocket's token against SQL every `token_sweep_seconds`, so a revocation whose
message this process missed (Redis down or failing over, the process restarting its
listener, a revocation written straight to the database) still closes its websockets. The
same sweep rechecks the sessions of open websockets (web/people.py), so a person disabled at
the identity provider loses their websocket within `session_recheck_minutes` plus one sweep,
even if they make no request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Invalid = Callable[[set[str]], Awaitable[set[str]]]


class TokenSessions:
    """For each name (a token id, a user id, a session's), one event per open websocket
    registered under it, set when that name is revoked."""

    def __init__(self) -> None:
        self.open: dict[str, set[asyncio.Event]] = {}
        self.on_revoke: list[Callable[[str], None]] = []  # e.g. forget a cached token

    def session(self, *names: str) -> asyncio.Event:
        """An event set when any of `names` is revoked; release it with `end_session`."""
        revoked = asyncio.Event()
        for name in names:
            self.open.setdefault(name, set()).add(revoked)
        return revoked

    def end_session(self, revoked: asyncio.Event, *names: str) -> None:
        for name in names:
            events = self.open.get(name)
            if events is not None:
                events.discard(revoked)
                if not events:
                    del self.open[name]

    def revoke(self, token_id: str) -> None:
        for listener in self.on_revoke:
            listener(token_id)
        for revoked in self.open.get(token_id, ()):
            revoked.set()

    async def sweep(self, invalid: Invalid, every: float) -> None:
        """Until cancelled: every `every` seconds, revoke here each open name that `invalid`
        (SQL for tokens and people, Redis and the provider for sessions) says no longer
        grants access. A failing check (SQL down) raises, and the
        supervisor restarts the sweep."""
        while True:
            await asyncio.sleep(every)
            for name in await invalid(set(self.open)):
                log.warning("%s no longer grants access; closing its websockets", name)
                self.revoke(name)
