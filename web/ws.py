"""Websockets: `/ws/inventory` streams every change; `/ws/provider` takes providers' writes.

A subscriber first gets what it missed since `?after=SEQ` (or a snapshot when that is no
longer kept), then one message per change. It is registered with the fan-out before the backlog
is read, and messages at or below the last seq sent are skipped, so nothing falls between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import Field, ValidationError

from inventory.actors import ADMIN, PROVIDER, Actor
from inventory.errors import InventoryError, RateLimited
from inventory.live import MAX_SEQ, Event
from inventory.scripts import Budget
from web.api.events import encode
from web.audiences import PUBLIC, audience_of, message_for
from web.auth import actor_for
from web.direct_write import SLOT_BYTES, DirectWriter
from web.fanout import Subscriber
from web.rate_limits import client_address, token_key
from web.schemas import Strict
from web.services import Services
from web.web_sessions import SESSION_COOKIE, digest_of, socket_key

log = logging.getLogger(__name__)
router = APIRouter()
TOO_SLOW, REBUILT, POLICY = 1013, 1012, 1008
MAX_MESSAGE = 16_384
EPOCH_WAIT_SECONDS = 3.0
CLOSE_SECONDS = 2.0


def token_of(ws: WebSocket) -> str | None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return ws.query_params.get("token")


async def snapshot_message(svc: Services, audience: str = PUBLIC) -> tuple[int, str]:
    seq, states = await svc.live.snapshot()
    messages = await encode(svc.system, [Event(s.seq, "snapshot", s, "") for s in states])
    message = {"type": "snapshot", "seq": seq, "units": [m["unit"] for m in messages],
               "at": svc.clock().isoformat()}
    return seq, orjson.dumps(message_for(message, audience)).decode()


async def send_backlog(ws: WebSocket, svc: Services, after: int | None,
                       audience: str = PUBLIC) -> int:
    """Send what the client missed, shaped for its audience; return the last seq it now
    has."""
    if after is not None:
        last = after
        while True:
            events = await svc.live.events_after(last, 1000)
            if events is None:
                break
            for event, message in zip(events, await encode(svc.system, events)):
                await ws.send_text(orjson.dumps(message_for(message, audience)).decode())
                last = event.seq
            if len(events) < 1000:
                return last
    seq, data = await snapshot_message(svc, audience)
    await ws.send_text(data)
    return seq


async def pump(ws: WebSocket, subscriber: Subscriber, last: int) -> None:
    """Send what queued up during the backlog, in order; then, where the server allows it,
    let the fan-out write each later frame straight to this connection (see DirectWriter)."""
    writer = DirectWriter.for_websocket(ws, subscriber.queue.maxsize * SLOT_BYTES)
    while True:
        if writer is not None and subscriber.queue.empty():
            subscriber.go_direct(writer, last)  # no await since the check: nothing between
            await asyncio.Event().wait()  # until cancelled when the connection ends
        seq, data = await subscriber.queue.get()
        if seq is not None:
            if seq <= last:
                continue
            last = seq
        await ws.send_text(data)


async def drain_incoming(ws: WebSocket) -> None:
    """Read (and ignore) what a subscriber sends, so a close is noticed at once."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return


def origin_allowed(ws: WebSocket) -> bool:
    """Browsers send Origin: only this host's own pages and the configured origins may open
    a websocket with the browser's credentials. Other clients send none and are judged by
    their token alone."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    allowed = ws.app.state.services.settings.allowed_origins
    host = ws.headers.get("host", "")
    return origin in allowed or urlsplit(origin).netloc == host


async def refuse(ws: WebSocket, reason: str) -> None:
    await ws.close(POLICY, reason)


async def who(ws: WebSocket, token: str | None) -> tuple[Actor | None, str | None]:
    """The token's actor, or the refusal to send when its address sent too many invalid
    tokens (checked before the lookup, as for HTTP)."""
    try:
        return await actor_for(ws, token), None
    except HTTPException as error:
        return None, str(error.detail)


def address_of(ws: WebSocket) -> str:
    limits = ws.app.state.services.rate_limits
    return client_address(ws.scope, limits.trusted if limits else ())


@contextlib.asynccontextmanager
async def capped(ws: WebSocket, token: str | None) -> AsyncIterator[str | None]:
    """Count this websocket against its token's and address's caps while it is open; yields
    the refusal instead when either is full (then nothing is counted)."""
    svc: Services = ws.app.state.services
    key, address = (token_key(token) if token else None), address_of(ws)
    refusal = svc.sockets.open(key, address, svc.settings.max_websockets_per_token,
                               svc.settings.max_websockets_per_address)
    try:
        yield refusal
    finally:
        if refusal is None:
            svc.sockets.close(key, address)


def revocable_names(ws: WebSocket, token: str | None, actor: Actor | None) -> tuple[str, ...]:
    """What closes this websocket when revoked: the token's id; for a person signed in with
    the session cookie, their user id and their session's name (web/sessions.py)."""
    if actor is None:
        return ()
    session_id = None if token else ws.cookies.get(SESSION_COOKIE)
    if actor.person and session_id:
        return actor.token_id, socket_key(digest_of(session_id))
    return (actor.token_id,)


async def until_revoked(svc: Services, actor: Actor | None,
                        names: tuple[str, ...] = ()) -> asyncio.Task[Any]:
    """A task that finishes when `actor`'s token (or any of `names`, by default the token's
    id) is revoked, or the token expires (never for anonymous readers)."""
    if actor is None:
        return asyncio.create_task(asyncio.Event().wait())
    names = names or (actor.token_id,)
    revoked = svc.token_sessions.session(*names)
    left = (None if actor.expires_at is None else
            (actor.expires_at - svc.clock()).total_seconds())

    async def wait() -> None:
        try:
            await asyncio.wait_for(revoked.wait(), left)
        except TimeoutError:
            pass
        finally:
            svc.token_sessions.end_session(revoked, *names)

    return asyncio.create_task(wait())


@router.websocket("/ws/inventory")
async def inventory_feed(ws: WebSocket) -> None:
    svc: Services = ws.app.state.services
    if not origin_allowed(ws):
        await refuse(ws, "origin not allowed")
        return
    token = token_of(ws)
    actor, refusal = await who(ws, token)
    if refusal is None and actor is None and (token or not svc.settings.public_read):
        refusal = "a valid token is required (Authorization header or ?token=)"
    if refusal is not None:
        await refuse(ws, refusal)
        return
    async with capped(ws, token) as full:
        if full is not None:
            await refuse(ws, full)
            return
        await stream_inventory(ws, svc, actor, revocable_names(ws, token, actor))


async def stream_inventory(ws: WebSocket, svc: Services, actor: Actor | None,
                           names: tuple[str, ...] = ()) -> None:
    """Send the backlog, then every change, until the client leaves, its token is revoked,
    or it falls behind."""
    after_raw = ws.query_params.get("after")
    try:
        after = int(after_raw) if after_raw not in (None, "") else None
        if after is not None and not 0 <= after <= MAX_SEQ:
            raise ValueError
    except ValueError:
        await refuse(ws, "after must be a whole number 0 or more")
        return
    await ws.accept()
    await svc.mirror.in_epoch(await svc.live.epoch(), EPOCH_WAIT_SECONDS)
    subscriber = svc.fanout.subscribe(actor)
    tasks: list[asyncio.Task[Any]] = [await until_revoked(svc, actor, names)]
    try:
        last = await send_backlog(ws, svc, after, audience_of(actor))
        tasks += [asyncio.create_task(pump(ws, subscriber, last)),
                  asyncio.create_task(drain_incoming(ws)),
                  asyncio.create_task(subscriber.dropped.wait())]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[0] in done or tasks[3] in done:
            # Let go at once; a client that reads nothing cannot block its own close.
            svc.fanout.unsubscribe(subscriber)
            tasks[1].cancel()
            code, reason = ((POLICY, "token revoked or expired") if tasks[0] in done else
                            (TOO_SLOW, "fell behind or state rebuilt: reconnect with ?after="))
            if code == TOO_SLOW:
                svc.metrics.dropped.inc()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code, reason), CLOSE_SECONDS)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        svc.fanout.unsubscribe(subscriber)
        for task in tasks:
            task.cancel()


class ProviderOp(Strict):
    op: str = Field(pattern="^(set|attest)$")
    unit_id: str = Field(min_length=1, max_length=64)
    ref: str | int | None = None
    available: int | None = Field(default=None, ge=0, le=100_000)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    waitlist: int | None = Field(default=None, ge=0, le=100_000)
    note: str = Field(default="", max_length=500)


def error_reply(ref: Any, error: str) -> str:
    return orjson.dumps({"type": "error", "ref": ref, "error": error}).decode()


async def provider_op(svc: Services, actor: Actor, raw: str, budget: Budget | None = None
                      ) -> tuple[str, bool]:
    """Apply one provider message; the reply is an ack with the seq, or an error, and whether
    `budget` was handed to the change script (which charges it; False when the message was
    refused before it, and its caller counts it instead)."""
    if len(raw) > MAX_MESSAGE:
        return error_reply(None, f"message larger than {MAX_MESSAGE} bytes"), False
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error_reply(None, "message is not JSON"), False
    ref = data.get("ref") if isinstance(data, dict) else None
    try:
        op = ProviderOp.model_validate(data)
    except ValidationError as error:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
                           for e in error.errors())
        return error_reply(ref if isinstance(ref, str | int) else None, detail), False
    if op.op == "set" and op.available is None:
        return error_reply(op.ref, "available: required for op set"), False
    try:
        if op.op == "set":
            state = await svc.availability.set_availability(
                op.unit_id, actor, "ws", available=op.available or 0, capacity=op.capacity,
                waitlist=op.waitlist, note=op.note, budget=budget)
        else:
            state = await svc.availability.attest(op.unit_id, actor, "ws", note=op.note,
                                                  budget=budget)
    except InventoryError as error:
        return error_reply(op.ref, str(error)), True
    return orjson.dumps({"type": "ack", "ref": op.ref, "seq": state.seq}).decode(), True


@router.websocket("/ws/provider")
async def provider_feed(ws: WebSocket) -> None:
    svc: Services = ws.app.state.services
    if not origin_allowed(ws):
        await refuse(ws, "origin not allowed")
        return
    token = token_of(ws)
    actor, refusal = await who(ws, token)
    if actor is None or actor.role not in (PROVIDER, ADMIN):
        await refuse(ws, refusal or "a provider or admin token is required")
        return
    # The budget HTTP writes of the same caller use: the token's, or (signed in with a
    # session cookie, no token) the client address's.
    budget = token_key(token) if token else "addr:" + address_of(ws)
    async with capped(ws, token) as full:
        if full is not None:
            await refuse(ws, full)
            return
        await answer_provider(ws, svc, actor, budget, revocable_names(ws, token, actor))


async def answer_provider(ws: WebSocket, svc: Services, actor: Actor, budget: str,
                          names: tuple[str, ...] = ()) -> None:
    """Apply each message in turn, counting it against the token's one write budget (the
    same as its HTTP writes: charged by the change script with the change, or here for a
    message refused before it), until the client leaves or its token is revoked."""
    await ws.accept()
    limits = svc.rate_limits

    async def answer() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
            reply, charged = await provider_op(
                svc, actor, raw, limits.write_budget(budget) if limits else None)
            if not charged and limits and (wait := await limits.retry_after(budget, True)):
                reply = error_reply(None, str(RateLimited(wait)))
            await ws.send_text(reply)

    tasks = [await until_revoked(svc, actor, names), asyncio.create_task(answer())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[0] in done:
            tasks[1].cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(POLICY, "token revoked or expired"),
                                       CLOSE_SECONDS)
        else:
            tasks[1].result()
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        for task in tasks:
            task.cancel()
