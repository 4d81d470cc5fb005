"""Transitions: a client leaving one program, watched until they land safely in the next."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from inventory.access_log import Read
from inventory.actors import ADMIN, NAVIGATOR, Actor
from inventory.outcomes import RACE_ETHNICITY_CODES
from web.api.access import record_reads
from web.api.deps import services
from web.api.needs import ClientRef, NeedsIn
from web.auth import require
from web.schemas import Strict, Timestamp
from web.services import Services

# The "placement" tag is kept so the OpenAPI document is what it was before the split.
router = APIRouter(prefix="/api/v1", tags=["placement"])
Svc = Annotated[Services, Depends(services)]
Navigator = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR))]
RaceEthnicity = Literal[RACE_ETHNICITY_CODES]  # type: ignore[valid-type]


class TransitionIn(Strict):
    client_ref: str = ClientRef
    from_program_id: str = Field(min_length=1, max_length=64)
    discharge_at: Timestamp
    needs: NeedsIn = NeedsIn()
    navigator: str | None = Field(default=None, max_length=64, description=(
        "The assigned navigator's token id (admins assign; navigators get themselves)."))
    force: bool = Field(default=False, description="Admins only: exceed the caseload limit.")
    race_ethnicity: list[RaceEthnicity] | None = Field(
        default=None, min_length=1, max_length=len(RACE_ETHNICITY_CODES), description=(
            "Only where the county opts in (analytics.record_race_ethnicity): the client's "
            "own answer in the OMB SPD 15 minimum categories, one or more; leave it out when "
            "they did not answer. Used only for equity counts, never shown per person."))


class TransitionOut(BaseModel):
    id: str
    client_ref: str | None
    from_program_id: str
    from_level: str
    discharge_at: datetime
    needs: dict[str, Any]
    navigator: str
    status: str
    hold_id: str | None
    to_level: str | None
    created_at: datetime
    ended_at: datetime | None
    at_risk: bool


@router.post("/transitions", status_code=201, response_model=TransitionOut,
             tags=["transitions"])
async def register_transition(body: TransitionIn, svc: Svc, actor: Navigator
                              ) -> dict[str, Any]:
    """Watch a pending move until the client lands somewhere safe."""
    if body.discharge_at.tzinfo is None:
        raise HTTPException(422, "discharge_at needs a time zone, e.g. 2026-11-25T10:00:00Z")
    if body.race_ethnicity is not None and not svc.settings.analytics.record_race_ethnicity:
        raise HTTPException(422, "race_ethnicity is not recorded here: this county has not "
                                 "opted in (analytics.record_race_ethnicity is false)")
    codes = sorted(set(body.race_ethnicity)) if body.race_ethnicity else None
    return await svc.transitions.register(
        actor, body.client_ref, body.from_program_id, body.discharge_at,
        body.needs.model_dump(exclude_none=True), body.navigator, body.force,
        race_ethnicity=codes)


@router.get("/transitions", response_model=list[TransitionOut], tags=["transitions"])
async def list_transitions(request: Request, svc: Svc, actor: Navigator, at_risk: bool = False,
                           status: Annotated[str | None, Query(
                               pattern="^(open|placed|cancelled|lapsed)$")] = None
                           ) -> list[dict[str, Any]]:
    """Your transitions, at-risk ones (discharging soon with no hold) first."""
    found = await svc.transitions.list_for(actor, at_risk, status)
    await record_reads(request, actor,
                       [Read("transition", t["id"], t.get("client_ref")) for t in found])
    return found


@router.get("/caseload", tags=["transitions"])
async def caseload(svc: Svc, actor: Navigator) -> dict[str, Any]:
    """Your open transitions against the balanced caseload."""
    return {"navigator": actor.token_id, **await svc.transitions.caseload(actor.token_id)}


@router.post("/transitions/{transition_id}/cancel", response_model=TransitionOut,
             tags=["transitions"])
async def cancel_transition(transition_id: str, svc: Svc, actor: Navigator) -> dict[str, Any]:
    return await svc.transitions.cancel(transition_id, actor)
