"""The people side of one app process: the users table, sign-in sessions, the identity
provider (None without `oidc_issuer`) and the access log, built once in the lifespan
(web/app.py) and kept on `app.state.people`.

`session_actor` is how a request carried by a session cookie becomes an `Actor`: the session
must be live, the person not disabled in Bedfinder, and, once `session_recheck_minutes` have
passed, still accepted by the provider; a failed recheck ends the session and closes the
person's websockets on every process (they are keyed by the person's user id).
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
from web.web_sessions import WebSession, WebSessions

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
        """The actor of a live session and its record, or (None, None) when the session is
        unknown, timed out, its person disabled here or refused by the provider."""
        now = self.clock()
        record = await self.sessions.get(session_id, now)
        if record is None:
            return None, None
        if await self.users.is_disabled(record.user_id):
            await self.sessions.end(session_id)
            await self.notifier.revoked(record.user_id)
            return None, None
        if (self.provider is not None and self.sessions.due_for_recheck(record, now)
                and await self.sessions.claim_recheck(session_id)):
            try:
                claims, refresh = await self.provider.recheck(
                    await self.users.subject_of(record.user_id), record.refresh_token)
            except SignInRefused as refused:
                log.info("session of %s ended at recheck: %s", record.user_id, refused)
                await self.sessions.end(session_id)
                await self.notifier.revoked(record.user_id)
                return None, None
            finally:
                await self.sessions.release_recheck(session_id)
            person = await self.users.signed_in(claims, now)
            await self.sessions.save(session_id,
                                     self.sessions.rechecked(record, person, now, refresh),
                                     existing=True)
        return record.person().actor(), record


def build_people(system: System) -> People:
    settings = system.settings
    return People(
        settings=settings, users=Users(system.sessions),
        sessions=WebSessions(system.redis, settings.redis_prefix, settings.session_idle_minutes,
                             settings.session_absolute_hours, settings.session_recheck_minutes),
        access_log=AccessLog(system.sessions, settings.access_log_days),
        provider=Provider(settings) if settings.oidc_issuer else None,
        clock=lambda: system.clock(), notifier=system.notifier)
