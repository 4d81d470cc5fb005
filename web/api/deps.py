"""Small dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from web.services import Services


async def services(request: Request) -> Services:
    """Async on purpose: FastAPI runs a plain function dependency in a thread pool."""
    return request.app.state.services


Svc = Annotated[Services, Depends(services)]
