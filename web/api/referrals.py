"""Referrals: a navigator refers a client to up to three programs; the first to accept wins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from inventory.access_log import Read
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from inventory.flows.accept_referral import accept_referral
from inventory.flows.send_referral import send_referral as send
from web.api.access import record_reads
from web.api.deps import services
from web.api.needs import ClientRef, NeedsIn
from web.auth import require
from web.schemas import Strict
from web.services import Services

# The "placement" tag is kept so the OpenAPI document is what it was before the split.
router = APIRouter(prefix="/api/v1", tags=["placement"])
Svc = Annotated[Services, Depends(services)]
Navigator = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR))]
Provider = Annotated[Actor, Depends(require(ADMIN, PROVIDER))]
Staff = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, PROVIDER))]


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
    return await send(svc.referrals, svc.transitions, actor, body.client_ref,
                      body.program_ids, body.needs.model_dump(exclude_none=True), body.note,
                      body.transition_id)


@router.get("/referrals", response_model=list[ReferralOut], tags=["referrals"])
async def list_referrals(request: Request, svc: Svc, actor: Staff, status: Annotated[str | None, Query(
        pattern="^(pending|accepted|declined|expired|withdrawn)$")] = None
                         ) -> list[dict[str, Any]]:
    """A navigator's sent referrals, or a provider's incoming ones."""
    found = await svc.referrals.list_for(actor, status)
    await record_reads(request, actor,
                       [Read("referral", r["id"], r.get("client_ref")) for r in found])
    return found


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
    return await accept_referral(svc.referrals, svc.holds, svc.transitions, referral_id,
                                 body.unit_id, actor)


@router.post("/referrals/{referral_id}/decline", response_model=ReferralOut,
             tags=["referrals"])
async def decline(referral_id: str, body: DeclineIn, svc: Svc, actor: Provider
                  ) -> dict[str, Any]:
    return await svc.referrals.decline(referral_id, body.reason, actor)


@router.post("/referrals/{referral_id}/withdraw", response_model=ReferralOut,
             tags=["referrals"])
async def withdraw(referral_id: str, svc: Svc, actor: Navigator) -> dict[str, Any]:
    return await svc.referrals.withdraw(referral_id, actor)
