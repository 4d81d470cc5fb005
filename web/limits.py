"""Request body limits, enforced before any handler or model sees the body.

`BodySizeLimit` (pure ASGI) guarantees, for every HTTP request:

- a declared or actual body larger than `max_bytes` is refused with 413 while it streams in;
- a JSON body (content type `application/json`, `*+json`, or none) is refused with 422 when
  it is nested deeper than `max_json_depth`; holds `NaN` or `Infinity` (which Python's JSON
  reader accepts but JSON does not define) or a number too large for a float (`1e400`,
  read as infinity); or holds a lone UTF-16 surrogate (`"\\ud800"`, which is no text and
  cannot be stored). The 422 names the field, like a validation error.

Checking costs one C-speed scan of the body; the body is parsed (and walked) only when the
scan says it could break a rule, off the event loop when it is large, and at most
`max_bytes` are ever held. A JSON body that does not parse is passed on unchanged: the
handler's own parsing reports it.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An escaped or raw (UTF-8 encoded) UTF-16 surrogate; pairs match too and pass the walk.
SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
NON_FINITE = (b"NaN", b"Infinity")
# A number too large for a float (1e400, or 310 digits) that Python would read as infinity.
HUGE_NUMBER = re.compile(rb"[eE]\+?\d{3}|\d{309}")
OFF_LOOP_BYTES = 16_384
DEFAULT_DEPTH = 64


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class JsonProblem:
    """Why a JSON document is refused, and where (a path of keys and indexes)."""

    kind: str
    path: tuple[str | int, ...]
    message: str

    def as_detail(self) -> list[dict[str, Any]]:
        return [{"type": self.kind, "loc": ["body", *self.path], "msg": self.message}]


class _NonFinite:
    """Stands for NaN or Infinity while the document is walked."""

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> float | _NonFinite:
    value = float(text)
    return _NonFinite(text) if math.isinf(value) else value


def field_name(path: tuple[str | int, ...]) -> str:
    if not path:
        return "the body"
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def json_problem(body: bytes, max_depth: int) -> JsonProblem | None:
    """The first rule `body` breaks, or None (also None when it is not JSON at all)."""
    suspicious = (body.count(b"[") + body.count(b"{") > max_depth
                  or any(word in body for word in NON_FINITE) or SURROGATE.search(body)
                  or HUGE_NUMBER.search(body))
    if not suspicious:
        return None
    try:
        document = json.loads(body, parse_constant=_NonFinite, parse_float=_float)
    except RecursionError:
        return JsonProblem("json_too_deep", (), f"the JSON is nested deeper than {max_depth} "
                                                f"levels")
    except ValueError:  # not JSON, or not UTF-8: the handler reports it
        return None
    return walk(document, max_depth)


def walk(document: Any, max_depth: int) -> JsonProblem | None:
    """Depth, non-finite numbers and lone surrogates, without recursion. Paths are only
    worked out (by `locate`) once something is wrong, so a valid document costs one pass."""
    if not isinstance(document, dict | list):
        return _scalar_problem(document, ())
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            path = locate(document, container)
            return JsonProblem("json_too_deep", path, f"the JSON under {field_name(path[:1])} "
                               f"is nested deeper than {max_depth} levels")
        if isinstance(container, dict):
            bad_key = next((k for k in container if not _is_text(k)), None)
            if bad_key is not None:
                path = (*locate(document, container), _printable(bad_key))
                return JsonProblem("unicode_surrogate", path, f"the key {field_name(path)} "
                                   f"holds a lone UTF-16 surrogate, which is not text")
            items: Any = container.values()
        else:
            items = container
        for item in items:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif isinstance(item, str | _NonFinite) and _scalar_problem(item, ()) is not None:
                return _scalar_problem(item, locate(document, item))
    return None


def _scalar_problem(value: Any, path: tuple[str | int, ...]) -> JsonProblem | None:
    if isinstance(value, _NonFinite):
        shown = value.text if len(value.text) <= 24 else value.text[:20] + "..."
        return JsonProblem("finite_number", path, f"{field_name(path)} is {shown}, "
                           f"not a finite number")
    if isinstance(value, str) and not _is_text(value):
        return _surrogate(path)
    return None


def locate(document: Any, target: Any) -> tuple[str | int, ...]:
    """The path of `target` (by identity) inside `document`."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if value is target:
            return path
        if isinstance(value, dict):
            stack.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return ()


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("ascii", "replace")


def _surrogate(path: tuple[str | int, ...]) -> JsonProblem:
    return JsonProblem("unicode_surrogate", tuple(_printable(p) if isinstance(p, str) else p
                                                  for p in path),
                       f"{field_name(path)} holds a lone UTF-16 surrogate (like \\ud800), "
                       f"which is not text")


def is_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
    return content_type in (b"", b"application/json") or content_type.endswith(b"+json")


class BodySizeLimit:
    """Pure ASGI middleware: refuses a declared or actual body larger than `max_bytes`, and
    a JSON body that breaks the rules above."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_depth: int | None = None
                 ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_depth = max_json_depth

    def json_depth(self, scope: Scope) -> int:
        """The depth limit given, else the app's `max_json_depth` setting (Starlette puts
        the app in the scope before any middleware runs)."""
        if self.max_json_depth is not None:
            return self.max_json_depth
        state = getattr(scope.get("app"), "state", None)
        return int(getattr(getattr(state, "settings", None), "max_json_depth", DEFAULT_DEPTH))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH") and is_json(scope):
            await self._checked_json(scope, receive, send)
            return
        await self._streamed(scope, receive, send)

    async def _checked_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole (bounded) body, check it, then hand it on as one message."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replayed([message], receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        depth = self.json_depth(scope)
        if len(body) > OFF_LOOP_BYTES:  # a big hostile body must not hold up other requests
            problem = await asyncio.to_thread(json_problem, body, depth)
        else:
            problem = json_problem(body, depth)
        if problem is not None:
            await _respond(send, 422, orjson.dumps({"detail": problem.as_detail()}))
            return
        replay = [{"type": "http.request", "body": body, "more_body": False}]
        await self.app(scope, replayed(replay, receive), send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (b'{"detail":"request body is larger than the limit of %d bytes"}'
                % self.max_bytes)
        await _respond(send, 413, body)


def replayed(messages: list[Any], receive: Receive) -> Receive:
    """`receive` that first hands back the messages already read."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
