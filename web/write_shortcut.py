"""A unit's count update (`PUT /api/v1/units/{id}/availability`) by a token already known
valid, answered without FastAPI's routing, dependency solving and exception middleware.

Over HTTP those cost as much CPU as the update itself (docs/benchmarks.md), nearly all of
it for generality this request does not need. The route's own work (`counts_set`), with the
same body model, does the update here. Only requests that can be answered exactly as the
route would answer them are taken: a bearer token the token cache knows valid
(`TokenVerifier.known`: no lookup, no invalid-token budget involved) with a role that may
write, and a JSON body that parses and validates. Anything else, invalid bodies included,
goes on to FastAPI untouched, so every refusal keeps its one wording. An error raised while
answering is answered by the app's own exception handlers.

tests/integration/test_write_shortcut.py sends the same requests with the shortcut on and
off and compares the answers.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inventory.actors import Actor
from web.api.units import counts_set, set_availability
from web.api.units import router as units_router
from web.auth import WRITER_ROLES
from web.limits import replayed
from web.schemas import AvailabilityIn

PATH = re.compile(r"/api/v1/units/([^/]+)/availability")
JSON = b"application/json"


def _route() -> APIRoute:
    """The route this stands in for: the request metrics label the request by its path."""
    return next(r for r in units_router.routes if isinstance(r, APIRoute)
                and r.endpoint is set_availability)


class WriteShortcut:
    """In front of the app (inside the edge's body limits): takes the requests it can
    answer as the route would, passes every other one on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route = _route()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (PATH.fullmatch(scope["path"])
                 if scope["type"] == "http" and scope["method"] == "PUT" else None)
        actor = _writer(scope) if found else None
        if found is None or actor is None:
            await self.app(scope, receive, send)
            return
        body, replay = await _body(receive)
        update = _update(body)
        if update is None:
            await self.app(scope, replay, send)
            return
        scope["route"] = self.route
        try:
            answer = await _apply(scope, found.group(1), update, actor)
        except Exception as error:  # noqa: BLE001 - answered as the app would
            await _handled(scope, replay, send, error)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(answer)).encode()),
                                (b"content-type", JSON)]})
        await send({"type": "http.response.body", "body": answer})


def _writer(scope: Scope) -> Actor | None:
    """The caller's actor if its bearer token is known valid and may write, else None."""
    authorization = content_type = None
    for name, value in scope["headers"]:  # the first of each, as Starlette's headers give
        if name == b"authorization" and authorization is None:
            authorization = value
        elif name == b"content-type" and content_type is None:
            content_type = value
    if authorization is None or content_type is None:
        return None
    if content_type.partition(b";")[0].strip().lower() != JSON:
        return None
    scheme, token = get_authorization_scheme_param(authorization.decode("latin-1"))
    if scheme.lower() != "bearer" or not token:
        return None
    actor = scope["app"].state.services.tokens.known(token)
    return actor if actor is not None and actor.role in WRITER_ROLES else None


async def _body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (the edge has already read and bounded it), and a `receive` that
    hands it to the app again if the request goes on there."""
    chunks: list[bytes] = []
    message: Message = {"more_body": True}
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
    body = b"".join(chunks)
    return body, replayed([{"type": "http.request", "body": body, "more_body": False}],
                          receive)


def _update(body: bytes) -> AvailabilityIn | None:
    """The body as the route's model, or None for the route to refuse it in its words."""
    try:  # an empty body does not parse either
        return AvailabilityIn.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


async def _apply(scope: Scope, unit_id: str, body: AvailabilityIn, actor: Actor) -> bytes:
    svc = scope["app"].state.services
    svc.metrics.shortcut_writes.inc()
    return await counts_set(svc, unit_id, body, actor, scope)


async def _handled(scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
    """Answer `error` with the app's handler for it, as its exception middleware would;
    re-raised (a 500 from the server-error middleware) if it has none."""
    handlers: dict[Any, Any] = scope["app"].exception_handlers
    handler = next((handlers[kind] for kind in type(error).__mro__ if kind in handlers), None)
    if handler is None:
        raise error
    response = await handler(Request(scope, receive), error)
    await response(scope, receive, send)
