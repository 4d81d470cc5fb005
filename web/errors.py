"""Domain exceptions to HTTP statuses, in one place; every error body says what was wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.websockets import WebSocketState

from inventory import errors
from web.rate_limits import too_many

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFound: 404,
    errors.Invalid: 422,
    errors.NoCapacity: 409,
    errors.Conflict: 409,
    errors.NotYourUnit: 403,
    errors.RateLimited: 429,
    errors.LiveStateUnavailable: 503,
    errors.RecordsUnavailable: 503,
}


def status_for(error: errors.InventoryError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def unavailable(what: str) -> JSONResponse:
    return JSONResponse({"detail": f"{what} is unavailable; nothing was changed. Try again in "
                                   f"a moment."}, status_code=503, headers={"Retry-After": "2"})


# PostgreSQL's deadlock and serialization failures: the database chose this transaction as
# the loser of a race with another and rolled it back whole. That is a conflict, not an outage.
RACE_SQLSTATES = frozenset({"40P01", "40001"})


def lost_a_race(error: Exception) -> bool:
    orig = getattr(error, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in RACE_SQLSTATES


async def unavailable_to(conn: Request | WebSocket, what: str) -> JSONResponse | None:
    """A websocket cannot carry an HTTP answer: one that fails before or after its handshake
    is closed with 1013 (try again later), which the pages treat as a reason to reconnect."""
    if isinstance(conn, WebSocket):
        if conn.client_state != WebSocketState.DISCONNECTED:
            await conn.close(code=1013, reason=f"{what} is unavailable")
        return None
    return unavailable(what)


def install(app: FastAPI) -> None:
    async def domain_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, errors.InventoryError)
        status = status_for(error)
        if isinstance(error, errors.RateLimited):  # as the edge's own 429 says it
            return JSONResponse({"detail": too_many(error.retry_after)}, status_code=status,
                                headers={"Retry-After": str(error.retry_after)})
        headers = {"Retry-After": "1"} if status == 503 else None
        return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)

    # `Any`: Starlette calls these for HTTP requests (a response) and websockets (None).
    async def database_down(conn: Request | WebSocket, error: Exception) -> Any:
        if lost_a_race(error) and isinstance(conn, Request):
            log.info("database conflict: %s", error)
            return JSONResponse({"detail": "another change to the same records was recorded "
                                           "at the same moment; nothing was changed. Look "
                                           "again, then retry if it still applies."},
                                status_code=409)
        log.warning("database error: %s", error)
        return await unavailable_to(conn, "the database")

    async def redis_down(conn: Request | WebSocket, error: Exception) -> Any:
        log.warning("redis error: %s", error)
        return await unavailable_to(conn, "live availability (Redis)")

    app.add_exception_handler(errors.InventoryError, domain_error)
    app.add_exception_handler(DBAPIError, database_down)
    app.add_exception_handler(SQLAlchemyTimeout, database_down)
    app.add_exception_handler(RedisError, redis_down)
    app.add_exception_handler(ConnectionError, database_down)


def document(app: FastAPI) -> None:
    """Every 4xx body is `{"detail": ...}`: a sentence from the domain, or FastAPI's list of
    field errors. Say so in the schema, so clients (and schemathesis) may rely on it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if error is not None:
            listed = error["properties"]["detail"]
            error["properties"]["detail"] = {
                "title": "Detail", "anyOf": [{"type": "string"}, listed]}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
