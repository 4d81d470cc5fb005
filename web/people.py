"""The people side of one app process: the users table, sign-in sessions, the identity
provider (None without `oidc_issuer`) and the access log, built once in the lifespan
(web/app.py) and kept on `app.state.people`.

`session_actor` is how a request carried by a session cookie becomes an `Actor`: the session
must be live, the person not disabled in Bedfinder, and, once `session_recheck_minutes` have
passed, still accepted by the provider. Disabling a person here closes all their websockets
on every process (registered under their user id); a session that fails its recheck closes
its own (registered under `socket_key`). `no_longer_granted` is the websocket sweep's check,
so a person who makes no request still loses an open websocket (web/sessions.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from inventory.access_log import AccessLog
from inventory.actors import Actor
from inventory.clock import Clock
from inventory.config import Settings
from inventory.notify import Notifier
from inventory.system import System
from inventory.users import Users
from web.oidc import Provider, SignInRefused
from web.web_sessions import WebSession, WebSessions, digest_of, socket_key

log = logging.getLogger(__name__)


@dataclass
class People:
    settings: Settings
    users: Users
    sessions: WebSessions
    access_log: AccessLog
    provider: Provider | None
    clock: Clock
    notifier: Notifier

    async def session_actor(self, session_id: str) -> tuple[Actor | None, WebSession | None]:
        """The actor of a live session (from its cookie's id) and its record, or (None, None)
        when the session is unknown, timed out, its person disabled here or refused by the
        provider. A request restarts the session's idle clock."""
        return await self.actor_of(digest_of(session_id), touch=True)

    async def actor_of(self, digest: str, touch: bool
                       ) -> tuple[Actor | None, WebSession | None]:
        now = self.clock()
        record = await self.sessions.get(digest, now, touch)
        if record is None:
            return None, None
        if await self.users.is_disabled(record.user_id):
            await self.sessions.end(digest)
            await self.notifier.revoked(record.user_id)
            return None, None
        if (self.provider is not None and self.sessions.due_for_recheck(record, now)
                and await self.sessions.claim_recheck(digest)):
            try:
                claims, refresh = await self.provider.recheck(
                    await self.users.subject_of(record.user_id), record.refresh_token)
            except SignInRefused as refused:
                log.info("session of %s ended at recheck: %s", record.user_id, refused)
                await self.sessions.end(digest)
                await self.notifier.revoked(socket_key(digest))
                return None, None
            finally:
                await self.sessions.release_recheck(digest)
            person = await self.users.signed_in(claims, now)
            record = self.sessions.rechecked(record, person, now, refresh)
            await self.sessions.save(digest, record, existing=True)
            if person.actor() is None:  # e.g. the role was taken away at the provider
                await self.sessions.end(digest)
                await self.notifier.revoked(socket_key(digest))
                return None, None
        return record.person().actor(), record

    async def no_longer_granted(self, digests: set[str]) -> set[str]:
        """Of these sessions (with open websockets here), those that no longer grant access:
        ended, timed out, their person disabled, or refused at a recheck that was due. The
        sweep asks without restarting the idle clock: an open page is not a person using
        it."""
        return {d for d in digests if (await self.actor_of(d, touch=False))[0] is None}

def build_people(system: System) -> People:
    settings = system.settings
    return People(
        settings=settings, users=Users(system.sessions),
        sessions=WebSessions(system.redis, system.live.keys, settings.session_idle_minutes,
                             settings.session_absolute_hours, settings.session_recheck_minutes),
        access_log=AccessLog(system.sessions, settings.access_log_days),
        provider=Provider(settings) if settings.oidc_issuer else None,
        clock=lambda: system.clock(), notifier=system.notifier)
