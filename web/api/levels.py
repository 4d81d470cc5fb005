"""The levels of care and care pathways: the vocabulary of searches, matches and pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from inventory.actors import Actor
from inventory.levels import LANGUAGES, Levels
from web.api.deps import services
from web.auth import reader
from web.services import Services

router = APIRouter(prefix="/api/v1", tags=["levels"])
Svc = Annotated[Services, Depends(services)]


@router.get("/levels", summary="Levels of care and care pathways")
async def list_levels(svc: Svc, _: Annotated[Actor, Depends(reader)]) -> dict[str, Any]:
    """Every level of care with its kind (`bed` or `slot`), its display name in each
    supported language, and the pathways it is on (`next`: where people usually go from it,
    best first; `after`: the levels it follows)."""
    levels = Levels(svc.settings.levels_of_care, svc.settings.pathways)
    return {"languages": list(LANGUAGES), "levels": levels.catalogue(),
            "pathways": dict(svc.settings.pathways)}
