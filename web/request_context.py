"""Per-request context: an id to tie log lines together (taken from X-Request-ID when it is
sane, else made), one access log line without the query string (which may hold a token), and
the security headers every response carries."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.logs import REQUEST_ID

access = logging.getLogger("web.access")
SANE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)")]
NO_STORE = (b"cache-control", b"no-store")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"")
        request_id = given.decode() if SANE_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        start = time.perf_counter()
        status = 0

        async def decorate(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in HEADERS if n not in present]
                if scope["path"].startswith("/api/") and b"cache-control" not in present:
                    headers.append(NO_STORE)
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, decorate if scope["type"] == "http" else send)
        finally:
            if scope["type"] == "http":
                access.info("%s %s %d %.1fms", scope["method"], scope["path"], status,
                            (time.perf_counter() - start) * 1000,
                            extra={"method": scope["method"], "path": scope["path"],
                                   "status": status})
            REQUEST_ID.reset(token)
