"""Providers' writes: set a unit's availability, or attest that nothing changed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from inventory.actors import Actor
from web.api.deps import services
from web.api.programs import unit_response
from web.auth import writers
from web.schemas import AttestIn, AvailabilityIn, UnitLive
from web.services import Services

router = APIRouter(prefix="/api/v1/units", tags=["units"])
Svc = Annotated[Services, Depends(services)]
Writer = Annotated[Actor, Depends(writers)]


@router.put("/{unit_id}/availability", response_model=UnitLive)
async def set_availability(unit_id: str, body: AvailabilityIn, svc: Svc, actor: Writer
                           ) -> dict[str, Any]:
    """Set the unit's counts. `available` excludes beds held for clients on the way: it may be
    at most `capacity - held`, and a larger value is refused (409), never taken out of holds."""
    discharges = None
    if body.expected_discharges is not None:
        discharges = [{"at": d.at.isoformat(), "count": d.count}
                      for d in body.expected_discharges]
    state = await svc.availability.set_availability(
        unit_id, actor, "api", available=body.available, capacity=body.capacity,
        waitlist=body.waitlist, expected_discharges=discharges, note=body.note)
    return await unit_response(svc, state, actor)


@router.post("/{unit_id}/attest", response_model=UnitLive)
async def attest(unit_id: str, svc: Svc, actor: Writer,
                 body: Annotated[AttestIn | None, Body()] = None) -> dict[str, Any]:
    """"No change": confirms the current counts and restarts the freshness clock."""
    state = await svc.availability.attest(unit_id, actor, "api", note=body.note if body else "")
    return await unit_response(svc, state, actor)
