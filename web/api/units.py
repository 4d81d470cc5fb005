"""Providers' writes: set a unit's availability, set many units' at once, or attest that
nothing changed.

Answers are written once with orjson (the response models stay in OpenAPI): validating an
answer the code has just built would cost as much again as building it."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Request, Response
from starlette.types import Scope

from inventory.actors import Actor
from inventory.availability import CountsUpdate
from inventory.errors import InventoryError
from inventory.model import UnitState
from web.api.deps import services
from web.api.programs import unit_response
from web.auth import writers
from web.errors import status_for
from web.rate_limits import budget_for
from web.schemas import (
    AttestIn,
    AvailabilityBatchIn,
    AvailabilityBatchOut,
    AvailabilityIn,
    ExpectedDischarge,
    UnitLive,
)
from web.services import Services

router = APIRouter(prefix="/api/v1", tags=["units"])
Svc = Annotated[Services, Depends(services)]
Writer = Annotated[Actor, Depends(writers)]


def json_response(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def discharges(given: list[ExpectedDischarge] | None) -> list[dict[str, Any]] | None:
    if given is None:
        return None
    return [{"at": d.at.isoformat(), "count": d.count} for d in given]


@router.put("/units/{unit_id}/availability", response_model=UnitLive)
async def set_availability(unit_id: str, body: AvailabilityIn, svc: Svc, actor: Writer,
                           request: Request) -> Response:
    """Set the unit's counts. `available` excludes beds held for clients on the way: it may be
    at most `capacity - held`, and a larger value is refused (409), never taken out of holds.
    Counts against the token's write budget (429 with Retry-After when it is spent)."""
    return Response(await counts_set(svc, unit_id, body, actor, request.scope),
                    media_type="application/json")


async def counts_set(svc: Services, unit_id: str, body: AvailabilityIn, actor: Actor,
                     scope: Scope) -> bytes:
    """The route's work, shared with its shortcut (web/write_shortcut.py): apply the counts,
    charging the caller's write budget, and return the acknowledgement as JSON."""
    state = await svc.availability.set_availability(
        unit_id, actor, "api", available=body.available, capacity=body.capacity,
        waitlist=body.waitlist, expected_discharges=discharges(body.expected_discharges),
        note=body.note, budget=budget_for(scope))
    return orjson.dumps(await unit_response(svc, state, actor, acknowledgement=True))


@router.put("/availability", response_model=AvailabilityBatchOut)
async def set_many(body: AvailabilityBatchIn, svc: Svc, actor: Writer) -> Response:
    """Many units' counts in one request (a census, a feed): each unit is applied atomically
    and on its own, all accepted changes are recorded in one audit transaction, and the one
    answer lists each unit's result in the order sent: `status` 200 with its new `seq` and
    counts, or the status and `error` its own `PUT /api/v1/units/{id}/availability` would
    have had (a refused unit changes nothing; the others stand). An invalid body, or a note
    that looks like it identifies someone, is refused whole (422) and changes nothing. The
    request counts once against the token's write budget."""
    results = await svc.availability.set_many([CountsUpdate(
        unit_id=u.unit_id, available=u.available, capacity=u.capacity, waitlist=u.waitlist,
        expected_discharges=discharges(u.expected_discharges), note=u.note)
        for u in body.updates], actor, "api")
    shown = [_result(u.unit_id, r) for u, r in zip(body.updates, results)]
    applied = sum(1 for r in results if isinstance(r, UnitState))
    return json_response({"applied": applied, "refused": len(results) - applied,
                          "results": shown})


def _result(unit_id: str, result: UnitState | InventoryError) -> dict[str, Any]:
    if isinstance(result, InventoryError):
        return {"unit_id": unit_id, "status": status_for(result), "error": str(result)}
    return {"unit_id": unit_id, "status": 200, "seq": result.seq,
            "available": result.available, "held": result.held, "waitlist": result.waitlist,
            "capacity": result.capacity}


@router.post("/units/{unit_id}/attest", response_model=UnitLive)
async def attest(unit_id: str, svc: Svc, actor: Writer, request: Request,
                 body: Annotated[AttestIn | None, Body()] = None) -> Response:
    """"No change": confirms the current counts and restarts the freshness clock."""
    state = await svc.availability.attest(unit_id, actor, "api", note=body.note if body else "",
                                          budget=budget_for(request.scope))
    return json_response(await unit_response(svc, state, actor, acknowledgement=True))
