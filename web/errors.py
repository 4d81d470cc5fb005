"""Domain exceptions to HTTP statuses, in one place; every error body says what was wrong."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from inventory import errors

STATUS = {
    errors.NotFound: 404,
    errors.Invalid: 422,
    errors.NoCapacity: 409,
    errors.Conflict: 409,
    errors.NotYourUnit: 403,
    errors.LiveStateUnavailable: 503,
    errors.RecordsUnavailable: 503,
}


def status_for(error: errors.InventoryError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def install(app: FastAPI) -> None:
    async def domain_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, errors.InventoryError)
        status = status_for(error)
        headers = {"Retry-After": "1"} if status == 503 else None
        return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)

    app.add_exception_handler(errors.InventoryError, domain_error)
