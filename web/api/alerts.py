"""Alerts: a person's live list of what needs them (at risk, bed match, referral answered,
lapsed, escalations), and acknowledging one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
from web.api.deps import services
from web.auth import require
from web.services import Services

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Svc = Annotated[Services, Depends(services)]
# Anyone who can be on a care team, and the supervisors escalations go to.
Alerted = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR))]


class AlertOut(BaseModel):
    id: int
    kind: str
    transition_id: str
    client_ref: str | None
    escalation: bool
    escalation_reason: str | None = Field(description=(
        "To supervisors: `unanswered` (nobody acknowledged it in time) or `unled` (no "
        "connector has claimed the transition)."))
    title: str
    body: str
    url: str
    created_at: str
    acknowledged_at: str | None


@router.get("", response_model=list[AlertOut])
async def list_alerts(svc: Svc, actor: Alerted,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
    """Your alerts, newest first; supervisors also see escalations."""
    return await svc.alerts.list_for(actor, limit)


@router.post("/{alert_id}/ack", response_model=AlertOut)
async def acknowledge(svc: Svc, actor: Alerted,
                      alert_id: Annotated[int, Path(ge=1, le=2**62)]) -> dict[str, Any]:
    """Acknowledge one of your alerts: an acknowledged at-risk or lapse alert does not
    escalate. Acknowledging again changes nothing."""
    return await svc.alerts.acknowledge(alert_id, actor, svc.clock())
