"""Next-phase placement: the matcher, transitions (safe landing) and referrals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from inventory import demand
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from inventory.matcher import rank, target_levels
from inventory.transitions import needs_of
from web.api.deps import services
from web.auth import require
from web.schemas import Gender, Strict, Timestamp
from web.services import Services

router = APIRouter(prefix="/api/v1", tags=["placement"])
Svc = Annotated[Services, Depends(services)]
Navigator = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR))]
Provider = Annotated[Actor, Depends(require(ADMIN, PROVIDER))]
Staff = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, PROVIDER))]
ClientRef = Field(min_length=1, max_length=64, description=(
    "Your opaque reference for the client: never a name, birth date or record number."))


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class NeedsIn(Strict):
    gender: Gender | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    payer: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=16)
    mat: Literal["none", "buprenorphine", "methadone", "naltrexone"] | None = None
    wheelchair: bool | None = None
    pets: bool | None = None
    co_occurring: bool | None = None
    involuntary: bool | None = None
    secure: bool | None = None
    location: Location | None = None


class MatchIn(Strict):
    from_level: str | None = Field(default=None, max_length=64)
    needs: NeedsIn = NeedsIn()
    ready_at: Timestamp | None = None
    limit: int = Field(default=10, ge=1, le=100)


class OptionOut(BaseModel):
    program_id: str
    program_name: str
    level_of_care: str
    organization_name: str
    area: str | None
    phone: str | None
    score: float
    available_now: int
    expected_by_ready_at: int
    waitlist: int
    distance_km: float | None
    stale: bool
    best_unit_id: str | None
    reasons: list[str]
    would_disqualify: list[str]


class MatchOut(BaseModel):
    as_of: datetime
    ready_at: datetime
    levels: list[str]
    options: list[OptionOut]


@router.post("/match", response_model=MatchOut)
async def match(body: MatchIn, svc: Svc, _: Staff) -> dict[str, Any]:
    """Rank next-phase placements: the care pathway from `from_level` decides which levels;
    eligibility excludes; beds now and expected by `ready_at`, distance, freshness,
    waitlist and language decide the order, and `reasons` say how."""
    now = svc.clock()
    ready_at = body.ready_at or now
    if ready_at.tzinfo is None:
        raise HTTPException(422, "ready_at needs a time zone, e.g. 2026-11-25T10:00:00Z")
    levels = target_levels(body.from_level, svc.settings.pathways,
                           list(svc.settings.levels_of_care))
    programs = await svc.directory.programs()
    states = await svc.live_states(programs)
    options = rank(list(programs.values()), states, needs_of(body.needs.model_dump()), levels,
                   ready_at, now, svc.settings.default_cadence_minutes, body.limit)
    demand.note_match(svc.demand, levels, options,
                      body.needs.model_dump(), now)
    return {"as_of": now, "ready_at": ready_at, "levels": levels,
            "options": [o.as_dict() for o in options]}


# Transitions ------------------------------------------------------------------------


class TransitionIn(Strict):
    client_ref: str = ClientRef
    from_program_id: str = Field(min_length=1, max_length=64)
    discharge_at: Timestamp
    needs: NeedsIn = NeedsIn()
    navigator: str | None = Field(default=None, max_length=64, description=(
        "The assigned navigator's token id (admins assign; navigators get themselves)."))
    force: bool = Field(default=False, description="Admins only: exceed the caseload limit.")


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
    return await svc.transitions.register(
        actor, body.client_ref, body.from_program_id, body.discharge_at,
        body.needs.model_dump(exclude_none=True), body.navigator, body.force)


@router.get("/transitions", response_model=list[TransitionOut], tags=["transitions"])
async def list_transitions(svc: Svc, actor: Navigator, at_risk: bool = False,
                           status: Annotated[str | None, Query(
                               pattern="^(open|placed|cancelled|lapsed)$")] = None
                           ) -> list[dict[str, Any]]:
    """Your transitions, at-risk ones (discharging soon with no hold) first."""
    return await svc.transitions.list_for(actor, at_risk, status)


@router.get("/caseload", tags=["transitions"])
async def caseload(svc: Svc, actor: Navigator) -> dict[str, Any]:
    """Your open transitions against the balanced caseload."""
    return {"navigator": actor.token_id, **await svc.transitions.caseload(actor.token_id)}


@router.post("/transitions/{transition_id}/cancel", response_model=TransitionOut,
             tags=["transitions"])
async def cancel_transition(transition_id: str, svc: Svc, actor: Navigator) -> dict[str, Any]:
    return await svc.transitions.cancel(transition_id, actor)


# Referrals --------------------------------------------------------------------------


class ReferralIn(Strict):
    client_ref: str = ClientRef
    program_ids: list[str] = Field(min_length=1, max_length=3)
    needs: NeedsIn = NeedsIn()
    note: str = Field(default="", max_length=500, description="Must not identify the client.")
    transition_id: str | None = Field(default=None, max_length=64)


class AcceptIn(Strict):
    unit_id: str = Field(min_length=1, max_length=64)


class DeclineIn(Strict):
    reason: str = Field(min_length=1, max_length=64)


class ReferralOut(BaseModel):
    id: str
    group_id: str
    client_ref: str | None
    program_id: str
    navigator: str
    needs: dict[str, Any]
    note: str
    status: str
    decline_reason: str | None
    hold_id: str | None
    transition_id: str | None
    created_at: datetime
    expires_at: datetime
    acknowledged_at: datetime | None
    responded_at: datetime | None


@router.post("/referrals", status_code=201, response_model=list[ReferralOut],
             tags=["referrals"])
async def send_referral(body: ReferralIn, svc: Svc, actor: Navigator) -> list[dict[str, Any]]:
    """Refer one client to up to three programs at once; the first to accept wins."""
    if body.transition_id:
        await svc.transitions.get(body.transition_id, actor)
    return await svc.referrals.send(actor, body.client_ref, body.program_ids,
                                    body.needs.model_dump(exclude_none=True), body.note,
                                    body.transition_id)


@router.get("/referrals", response_model=list[ReferralOut], tags=["referrals"])
async def list_referrals(svc: Svc, actor: Staff, status: Annotated[str | None, Query(
        pattern="^(pending|accepted|declined|expired|withdrawn)$")] = None
                         ) -> list[dict[str, Any]]:
    """A navigator's sent referrals, or a provider's incoming ones."""
    return await svc.referrals.list_for(actor, status)


@router.get("/referrals/decline-reasons", tags=["referrals"])
async def decline_reasons(svc: Svc, _: Staff) -> list[str]:
    return svc.settings.decline_reasons


@router.post("/referrals/{referral_id}/acknowledge", response_model=ReferralOut,
             tags=["referrals"])
async def acknowledge(referral_id: str, svc: Svc, actor: Provider) -> dict[str, Any]:
    """The provider has seen it (the clock networks measure stops here)."""
    return await svc.referrals.acknowledge(referral_id, actor)


@router.post("/referrals/{referral_id}/accept", response_model=ReferralOut, tags=["referrals"])
async def accept(referral_id: str, body: AcceptIn, svc: Svc, actor: Provider
                 ) -> dict[str, Any]:
    """Accept into one of the program's units: places a hold, withdraws the others."""
    accepted = await svc.referrals.accept(referral_id, body.unit_id, actor)
    if accepted["transition_id"] and accepted["hold_id"]:
        hold = await svc.holds.get(accepted["hold_id"])
        await svc.transitions.link_hold(accepted["transition_id"], hold,
                                        Actor(token_id="system", role=ADMIN))
    return accepted


@router.post("/referrals/{referral_id}/decline", response_model=ReferralOut,
             tags=["referrals"])
async def decline(referral_id: str, body: DeclineIn, svc: Svc, actor: Provider
                  ) -> dict[str, Any]:
    return await svc.referrals.decline(referral_id, body.reason, actor)


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralOut,
             tags=["referrals"])
async def withdraw(referral_id: str, svc: Svc, actor: Navigator) -> dict[str, Any]:
    return await svc.referrals.withdraw(referral_id, actor)
