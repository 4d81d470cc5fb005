"""Bearer tokens on requests and websockets; roles decide who may read and who may write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from web.rate_limits import client_address

bearer = HTTPBearer(auto_error=False, description="A Bedfinder token: `Bearer bf_...`")
ANONYMOUS = Actor(token_id="public", role="public", label="public")
Credentials = HTTPAuthorizationCredentials | None


async def actor_for(conn: Request | WebSocket, token: str | None) -> Actor | None:
    """The token's actor, or None. An address that sent too many unknown, revoked or expired
    tokens gets 429 before any lookup (web/rate_limits.py), so guessing costs no SQL."""
    if not token:
        return None
    services = conn.app.state.services
    limits = services.rate_limits
    address = client_address(conn.scope, limits.trusted) if limits else ""
    if limits is not None and (wait := await limits.invalid_wait(address)):
        raise HTTPException(429, f"too many invalid tokens from this address; try again in "
                                 f"{wait} s", headers={"Retry-After": str(wait)})
    actor = await services.tokens.actor(token)
    if actor is None and limits is not None:
        await limits.count_invalid(address)
    return actor


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def require(*roles: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting only tokens with one of `roles` (401 without, 403 wrong role)."""

    async def check(request: Request, credentials: Credentials = Depends(bearer)) -> Actor:
        actor = await actor_for(request, credentials.credentials if credentials else None)
        if actor is None:
            raise unauthorized("a valid token is required: Authorization: Bearer <token>")
        if actor.role not in roles:
            raise HTTPException(403, f"this needs a {' or '.join(roles)} token; "
                                     f"yours is a {actor.role} token")
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


admin_only = require(ADMIN)
writers = require(ADMIN, PROVIDER)
navigators = require(ADMIN, NAVIGATOR)
