"""Who is asking: a bearer token, or a signed-in person's session cookie (web/people.py);
roles decide who may read and who may write.

A bearer token wins when both are sent. A write carried by the session cookie must repeat
the session's CSRF token in `X-CSRF-Token` (web/web_sessions.py); bearer requests need none,
since no browser attaches a bearer token by itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from web.rate_limits import client_address
from web.web_sessions import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE

bearer = HTTPBearer(auto_error=False, description="A Bedfinder token: `Bearer bf_...`")
ANONYMOUS = Actor(token_id="public", role="public", label="public")
Credentials = HTTPAuthorizationCredentials | None


async def actor_for(conn: Request | WebSocket, token: str | None) -> Actor | None:
    """The token's actor (a bearer token wins), else the signed-in person's, else None.
    An address that sent too many unknown, revoked or expired tokens gets 429 before any
    lookup (web/rate_limits.py), so guessing costs no SQL."""
    if token:
        return await token_actor(conn, token)
    return await session_actor(conn)


async def token_actor(conn: Request | WebSocket, token: str) -> Actor | None:
    """A token found valid moments ago costs no round trip (the invalid-token budget guards
    the SQL lookup, which a cached valid answer does not make)."""
    services = conn.app.state.services
    if (known := services.tokens.known(token)) is not None:
        return known
    limits = services.rate_limits
    address = client_address(conn.scope, limits.trusted) if limits else ""
    if limits is not None and (wait := await limits.invalid_wait(address)):
        raise HTTPException(429, f"too many invalid tokens from this address; try again in "
                                 f"{wait} s", headers={"Retry-After": str(wait)})
    actor = await services.tokens.actor(token)
    if actor is None and limits is not None:
        await limits.count_invalid(address)
    return actor


async def session_actor(conn: Request | WebSocket) -> Actor | None:
    """The signed-in person behind the session cookie, if any. Raises 403 for a write
    without the session's CSRF token (websockets are guarded by their Origin check)."""
    people = getattr(conn.app.state, "people", None)
    session_id = conn.cookies.get(SESSION_COOKIE)
    if people is None or not session_id:
        return None
    actor, record = await people.session_actor(session_id)
    if (actor is not None and record is not None and isinstance(conn, Request)
            and conn.method not in SAFE_METHODS
            and not record.csrf_matches(conn.headers.get(CSRF_HEADER))):
        raise HTTPException(403, "this change came without the page's CSRF token "
                                 "(X-CSRF-Token); reload the page and try again")
    return actor


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def require(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting only tokens with one of `roles` (401 without, 403 wrong role)."""

    async def check(request: Request, credentials: Credentials = Depends(bearer)) -> Actor:
        actor = await actor_for(request, credentials.credentials if credentials else None)
        if actor is None:
            raise unauthorized("sign in, or send a valid token: Authorization: Bearer <token>")
        if actor.role not in roles:
            kind = "sign-in" if actor.person else "token"
            raise HTTPException(403, f"this needs a {' or '.join(roles)} {kind}; "
                                     f"yours is a {actor.role} {kind}")
        return actor

    return check


async def reader(request: Request, credentials: Credentials = Depends(bearer)) -> Actor:
    """Any valid token may read live counts; none is needed when `public_read` is on."""
    token = credentials.credentials if credentials else None
    actor = await actor_for(request, token)
    if actor is not None:
        return actor
    if token:
        raise unauthorized("this token is not valid (unknown or revoked)")
    if request.app.state.services.settings.public_read:
        return ANONYMOUS
    raise unauthorized("a token is required to read availability")


WRITER_ROLES = (ADMIN, PROVIDER)
admin_only = require(ADMIN)
writers = require(*WRITER_ROLES)
navigators = require(ADMIN, NAVIGATOR)
