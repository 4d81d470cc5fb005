"""Bearer tokens on requests and websockets; roles decide who may read and who may write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor

bearer = HTTPBearer(auto_error=False, description="A Bedfinder token: `Bearer bf_...`")
ANONYMOUS = Actor(token_id="public", role="public", label="public")
Credentials = HTTPAuthorizationCredentials | None


async def actor_for(conn: Request | WebSocket, token: str | None) -> Actor | None:
    if not token:
        return None
    return await conn.app.state.services.tokens.actor(token)


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
