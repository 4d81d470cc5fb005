"""Per-request context (applied by web/edge.py): an id to tie log lines together (taken from X-Request-ID when it is
sane, else made), one access log line without the query string (which may hold a token), and
the security headers every response carries.

Caching: every response is `Cache-Control: no-store` unless it is a static asset (the
pages' files, the bundled API docs' assets), which says its own policy. A response to a
request that carries a token (an `Authorization` header, or a `token` query parameter
however it is encoded) is always `no-store`, whatever the route said, so no shared cache
or browser history keeps what one person's token could read."""

from __future__ import annotations

import random
import re
from urllib.parse import parse_qsl

from starlette.types import Scope

SANE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)")]
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE = ("/static/", "/docs/assets/")


def carries_token(scope: Scope) -> bool:
    """Whether the request presents a token (header, or `token=` decoded as the app reads
    query parameters)."""
    if any(name.lower() == b"authorization" for name, _ in scope["headers"]):
        return True
    query = scope.get("query_string", b"").decode("latin-1")
    return any(key == "token" for key, _ in parse_qsl(query, keep_blank_values=True))


def cache_headers(scope: Scope, headers: list[tuple[bytes, bytes]]
                  ) -> list[tuple[bytes, bytes]]:
    """`headers` with the caching policy above applied."""
    has_policy = any(name.lower() == b"cache-control" for name, _ in headers)
    if carries_token(scope):
        return [h for h in headers if h[0].lower() != b"cache-control"] + [NO_STORE]
    if has_policy and scope["path"].startswith(CACHEABLE):
        return headers
    return [h for h in headers if h[0].lower() != b"cache-control"] + [NO_STORE]


def request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a new one. A request id names a line
    in the logs and is no secret: it comes from the process's PRNG, not from `os.urandom`,
    whose system call cost more than the rest of this function on every request."""
    given = b""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value  # the last one, as before
    return given.decode() if SANE_ID.match(given) else f"{random.getrandbits(128):032x}"


def decorated(scope: Scope, headers: list[tuple[bytes, bytes]], rid: str
              ) -> list[tuple[bytes, bytes]]:
    """A response's headers with the security headers, the caching policy and the id."""
    present = {name.lower() for name, _ in headers}
    headers = headers + [(n, v) for n, v in HEADERS if n not in present]
    headers = cache_headers(scope, headers)
    headers.append((b"x-request-id", rid.encode()))
    return headers
