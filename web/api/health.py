"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from inventory.actors import Actor
from web.api.deps import services
from web.auth import reader
from web.services import Services

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/api/v1/me", tags=["auth"])
async def me(actor: Annotated[Actor, Depends(reader)]) -> dict[str, Any]:
    """Who this token is: pages use it to show the right controls."""
    return {"token_id": actor.token_id, "role": actor.role,
            "organization_id": actor.organization_id, "label": actor.label}


@router.get("/readyz")
async def readyz(svc: Annotated[Services, Depends(services)]) -> Any:
    """Ready when Redis answers with a built live state, SQL answers, every supervised
    task is running and the stream reader is current (it has had everything in the stream
    within `stream_stall_seconds`); 503 otherwise. `stream` gives the reader's lag in seqs
    and how long it has been behind, `supervised` each task's restarts and the type of its
    last crash, `listeners` each stream listener's errors (details are in the log)."""
    behind = svc.reader.behind_for()
    checks = {"redis": await svc.live.ping(), "live_state": False, "sql": False,
              "tasks": svc.supervisor.all_running(),
              "stream_reader": behind <= svc.settings.stream_stall_seconds}
    lag: int | None = None
    if checks["redis"]:
        try:
            checks["live_state"] = await svc.live.epoch() is not None
            lag = await svc.reader.lag()
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks["live_state"] = False
    try:
        async with svc.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["sql"] = True
    except Exception:  # noqa: BLE001 - any failure means not ready
        checks["sql"] = False
    ready = all(checks.values())
    body = {"ready": ready, **checks,
            "stream": {"lag": lag, "behind_seconds": round(behind, 3)},
            "supervised": {n: s.as_dict() for n, s in svc.supervisor.status().items()},
            "listeners": {n: s.as_dict() for n, s in svc.reader.listener_status.items()}}
    return JSONResponse(body, status_code=200 if ready else 503)
