"""The simulated clock, for `bedfinder simulate` only: mounted by web/app.py when
`simulation_mode` is true, so a production deployment has no such route (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from inventory.actors import Actor
from inventory.clock import SimulatedClock
from web.api.deps import services
from web.auth import admin_only
from web.schemas import Strict, Timestamp
from web.services import Services

router = APIRouter(prefix="/api/v1/simulation", tags=["simulation"])
Svc = Annotated[Services, Depends(services)]
Admin = Annotated[Actor, Depends(admin_only)]


class ClockIn(Strict):
    now: Timestamp


class ClockOut(Strict):
    now: datetime


def simulated(svc: Services) -> SimulatedClock:
    clock = svc.clock
    if not isinstance(clock, SimulatedClock):  # simulation_mode set after the System was built
        raise HTTPException(409, "this server's clock is the wall clock; start it with "
                                 "simulation_mode: true to move it")
    return clock


@router.get("/clock", response_model=ClockOut)
async def read_clock(svc: Svc, _: Admin) -> dict[str, datetime]:
    """What time the server believes it is."""
    return {"now": svc.clock()}


@router.put("/clock", response_model=ClockOut)
async def set_clock(body: ClockIn, svc: Svc, _: Admin) -> dict[str, datetime]:
    """Move the server's clock forward to `now`; every service (holds, transitions,
    referrals, counts) reads it from then on. 409 if `now` is before the clock."""
    try:
        return {"now": simulated(svc).set(body.now)}
    except ValueError as refused:
        raise HTTPException(409, str(refused)) from None
