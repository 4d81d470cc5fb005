"""Next-phase placement: the matcher ranks where a client could go next, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from inventory import demand
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, Actor
from inventory.levels import Levels
from inventory.matcher import Words, rank, target_levels
from inventory.transitions import needs_of
from web.api.deps import services
from web.api.needs import NeedsIn
from web.auth import require
from web.schemas import Strict, Timestamp
from web.services import Services

router = APIRouter(prefix="/api/v1", tags=["placement"])
Svc = Annotated[Services, Depends(services)]
Staff = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, PROVIDER))]


class MatchIn(Strict):
    from_level: str | None = Field(default=None, max_length=64)
    needs: NeedsIn = NeedsIn()
    ready_at: Timestamp | None = None
    limit: int = Field(default=10, ge=1, le=100)
    lang: Literal["en", "es", "zh-Hant", "vi"] = "en"


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
    programs = await svc.directory.at_levels(tuple(levels))
    states = await svc.mirror.current(svc.live, (u.id for p in programs for u in p.units))
    words = Words(Levels(svc.settings.levels_of_care, svc.settings.pathways).names(body.lang),
                  pathway=body.from_level is not None)
    options = rank(programs, states, needs_of(body.needs.model_dump()), levels,
                   ready_at, now, svc.settings.default_cadence_minutes, body.limit, words)
    demand.note_match(svc.demand, levels, options,
                      body.needs.model_dump(), now)
    return {"as_of": now, "ready_at": ready_at, "levels": levels,
            "options": [o.as_dict() for o in options]}
