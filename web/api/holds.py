"""Holds: a navigator keeps a bed while the client is on the way."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from inventory.access_log import Read
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from inventory.flows.hold_for_transition import place_hold as place
from inventory.holds import HoldView
from web.api.access import record_reads
from web.api.deps import services
from web.audiences import hold_for
from web.auth import require
from web.schemas import Strict
from web.services import Services

router = APIRouter(prefix="/api/v1/holds", tags=["holds"])
Svc = Annotated[Services, Depends(services)]
Staff = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, PROVIDER))]


class HoldIn(Strict):
    unit_id: str = Field(min_length=1, max_length=64)
    client_ref: str = Field(min_length=1, max_length=64, description=(
        "Your opaque reference for the client: never a name, birth date or record number."))
    minutes: int | None = Field(default=None, ge=1, le=1440)
    transition_id: str | None = Field(default=None, max_length=64, description=(
        "The transition this bed is for: it stops being at risk, and is placed on admit."))


class HoldOut(BaseModel):
    id: str
    unit_id: str
    program_id: str
    client_ref: str | None
    status: str
    created_by: str
    held_by: str | None = None  # the person's display name, when a person placed it
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    seq: int | None


def out(view: HoldView, names: dict[str, str] | None = None) -> dict[str, Any]:
    """A hold for its owner: callers have had `Holds.get` or `list_for` check who asks."""
    return hold_for({**asdict(view), "held_by": (names or {}).get(view.created_by)})


async def held_by(request: Request, views: list[HoldView]) -> dict[str, str]:
    return await request.app.state.people.users.names({v.created_by for v in views})


@router.post("", status_code=201, response_model=HoldOut,
             responses={409: {"description": "No bed is free in this unit"}})
async def place_hold(body: HoldIn, svc: Svc, actor: Staff) -> dict[str, Any]:
    """Reserve one bed while the client is on the way; it returns by itself at `expires_at`."""
    view = await place(svc.holds, svc.transitions, actor, body.unit_id, body.client_ref,
                       body.minutes, body.transition_id)
    return out(view, {view.created_by: actor.person} if actor.person else None)


@router.get("", response_model=list[HoldOut])
async def list_holds(request: Request, svc: Svc, actor: Staff,
                     status: Annotated[str | None, Query(
                         pattern="^(active|admitted|released|expired)$")] = None
                     ) -> list[dict[str, Any]]:
    """Your holds (navigators), your organization's (providers), or all (admins)."""
    views = await svc.holds.list_for(actor, status)
    await record_reads(request, actor, [Read("hold", v.id, v.client_ref) for v in views])
    names = await held_by(request, views)
    return [out(v, names) for v in views]


@router.get("/{hold_id}", response_model=HoldOut)
async def get_hold(request: Request, hold_id: str, svc: Svc, actor: Staff) -> dict[str, Any]:
    """The hold, if you placed it (or a navigator of your organization did), it is on your
    organization's unit, or you are an admin; 404 otherwise, as if it did not exist."""
    view = await svc.holds.get(hold_id, actor)
    await record_reads(request, actor, [Read("hold", view.id, view.client_ref)])
    return out(view, await held_by(request, [view]))


@router.post("/{hold_id}/admit", response_model=HoldOut)
async def admit(hold_id: str, svc: Svc, actor: Staff) -> dict[str, Any]:
    """The client arrived: the held bed becomes an admission."""
    return out(await svc.holds.end(hold_id, "admit", actor))


@router.post("/{hold_id}/release", response_model=HoldOut)
async def release(hold_id: str, svc: Svc, actor: Staff) -> dict[str, Any]:
    """The bed is not needed after all: it is free again."""
    return out(await svc.holds.end(hold_id, "release", actor))
