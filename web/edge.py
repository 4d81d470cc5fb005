"""The app's one middleware, a plain ASGI callable: the request context (id, security and
caching headers, access log; web/request_context.py), request metrics (web/metrics.py),
the rate limit (web/rate_limits.py) and the body limits (web/limits.py), in that order,
then the single count update's shortcut past FastAPI's routing (web/write_shortcut.py).
One layer instead of four: each layer cost a coroutine frame and a `send` wrapper on every
request, a measurable share of a single update's CPU (docs/benchmarks.md)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.limits import BodySizeLimit
from web.logs import REQUEST_ID
from web.metrics import record_request
from web.rate_limits import CHARGED, LIMITED, counted_in_script, refuse, retry_after
from web.request_context import decorated, request_id
from web.write_shortcut import WriteShortcut

access = logging.getLogger("web.access")


class Edge:
    def __init__(self, app: ASGIApp, max_bytes: int, write_shortcut: bool = True) -> None:
        self.app = app
        self.bounded = BodySizeLimit(WriteShortcut(app) if write_shortcut else app,
                                     max_bytes=max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            token = REQUEST_ID.set(request_id(scope))
            try:
                await self.app(scope, receive, send)
            finally:
                REQUEST_ID.reset(token)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)
        start = time.perf_counter()
        status = 0

        async def decorate(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message,
                           "headers": decorated(scope, list(message.get("headers", [])), rid)}
            await send(message)

        try:
            limited = scope["path"].startswith(LIMITED)
            later = limited and counted_in_script(scope)  # the change script counts it
            wait = await retry_after(scope) if limited and not later else None
            if wait is None:
                await self.bounded(scope, receive, decorate)
            else:
                await refuse(decorate, wait)
            if later and not scope.get(CHARGED):  # refused before the script: count it now
                await retry_after(scope)
        finally:
            seconds = time.perf_counter() - start
            record_request(scope, status or 500, seconds)
            access.info("%s %s %d %.1fms", scope["method"], scope["path"], status,
                        seconds * 1000,
                        extra={"method": scope["method"], "path": scope["path"],
                               "status": status})
            REQUEST_ID.reset(token)
