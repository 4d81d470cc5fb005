"""Transitions: a client leaving one program, watched until they land safely in the next.

Discharge pending from the sending program, the connectors' queue and claims, a supervisor's
reassignment, the care team and its notes, the timeline, and the journey's next step. Who may
see which transition is decided in inventory/care_team.py (others get 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from inventory.access_log import Read
from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
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
Navigator = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, SUPERVISOR))]
Connector = Annotated[Actor, Depends(require(NAVIGATOR))]
Lead = Annotated[Actor, Depends(require(ADMIN, SUPERVISOR))]
Staff = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, SUPERVISOR, PROVIDER))]
RaceEthnicity = Literal[RACE_ETHNICITY_CODES]  # type: ignore[valid-type]


class TransitionIn(Strict):
    client_ref: str = ClientRef
    from_program_id: str = Field(min_length=1, max_length=64)
    discharge_at: Timestamp
    needs: NeedsIn = NeedsIn()
    navigator: str | None = Field(default=None, max_length=64, description=(
        "The assigned navigator's token id (admins assign; navigators get themselves)."))
    force: bool = Field(default=False, description=(
        "Admins and supervisors only: exceed the caseload limit."))
    race_ethnicity: list[RaceEthnicity] | None = Field(
        default=None, min_length=1, max_length=len(RACE_ETHNICITY_CODES), description=(
            "Only where the county opts in (analytics.record_race_ethnicity): the client's "
            "own answer in the OMB SPD 15 minimum categories, one or more; leave it out when "
            "they did not answer. Used only for equity counts, never shown per person."))


class DischargeIn(Strict):
    client_ref: str = ClientRef
    from_program_id: str = Field(min_length=1, max_length=64, description=(
        "The sending program (its level of care is the level now)."))
    ready_by: Timestamp
    needs: NeedsIn = NeedsIn()


class AssignIn(Strict):
    navigator: str = Field(min_length=1, max_length=64, description=(
        "The navigator's token id or user id (`usr-...`)."))
    force: bool = Field(default=False, description="Exceed the navigator's caseload limit.")


class MemberIn(Strict):
    member: str = Field(min_length=1, max_length=64, description=(
        "A person's user id (`usr-...`) or a token id; their organization comes from it."))
    release_on_file: bool = Field(default=False, description=(
        "Required true when the member's organization differs from the lead connector's: "
        "a release of information is on file (recorded as yes, who and when)."))


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=500, description=(
        "A short note, no identifiers (names, birth dates, record numbers are refused)."))


class NextIn(Strict):
    ready_by: Timestamp
    needs: NeedsIn | None = None


class TransitionOut(BaseModel):
    id: str
    client_ref: str | None
    from_program_id: str
    from_level: str
    discharge_at: datetime
    needs: dict[str, Any]
    navigator: str | None
    status: str
    hold_id: str | None
    to_level: str | None
    created_at: datetime
    ended_at: datetime | None
    at_risk: bool
    previous_id: str | None = None
    claimed: bool = True


class MemberOut(BaseModel):
    member_id: str | None
    organization_id: str | None
    label: str
    release_on_file: bool
    release_confirmed_by: str | None
    release_confirmed_at: datetime | None
    invited_by: str
    invited_at: datetime


class TeamOut(BaseModel):
    lead: str | None
    members: list[MemberOut]


class ReferralStatus(BaseModel):
    id: str
    program_id: str
    program: str
    status: str
    decline_reason: str | None
    responded_at: datetime | None


class TransitionDetail(TransitionOut):
    team: TeamOut
    caseload: dict[str, int] | None
    next_id: str | None
    next_levels: list[str]
    member: bool = Field(description="Whether the reader is on the care team (may add notes).")
    referrals: list[ReferralStatus]


class EventOut(BaseModel):
    id: int
    transition_id: str
    at: datetime
    kind: str
    actor: str
    details: dict[str, Any]


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise HTTPException(422, f"{name} needs a time zone, e.g. 2026-11-25T10:00:00Z")
    return value


def _read(t: dict[str, Any]) -> Read:
    return Read("transition", t["id"], t.get("client_ref"))


@router.post("/transitions", status_code=201, response_model=TransitionOut,
             tags=["transitions"])
async def register_transition(body: TransitionIn, svc: Svc, actor: Navigator
                              ) -> dict[str, Any]:
    """Watch a pending move until the client lands somewhere safe."""
    if body.race_ethnicity is not None and not svc.settings.analytics.record_race_ethnicity:
        raise HTTPException(422, "race_ethnicity is not recorded here: this county has not "
                                 "opted in (analytics.record_race_ethnicity is false)")
    codes = sorted(set(body.race_ethnicity)) if body.race_ethnicity else None
    return await svc.transitions.register(
        actor, body.client_ref, body.from_program_id, _aware(body.discharge_at, "discharge_at"),
        body.needs.model_dump(exclude_none=True), body.navigator, body.force,
        race_ethnicity=codes)


@router.post("/discharges", status_code=201, response_model=TransitionOut,
             tags=["transitions"])
async def discharge_pending(body: DischargeIn, svc: Svc, actor: Staff) -> dict[str, Any]:
    """The sending program marks a client ready to move on: an unclaimed transition in the
    connectors' queue (providers only for their own organization's programs)."""
    return await svc.transitions.discharge_pending(
        actor, body.client_ref, body.from_program_id, _aware(body.ready_by, "ready_by"),
        body.needs.model_dump(exclude_none=True))


@router.get("/transitions", response_model=list[TransitionOut], tags=["transitions"])
async def list_transitions(request: Request, svc: Svc, actor: Staff, at_risk: bool = False,
                           status: Annotated[str | None, Query(
                               pattern="^(open|placed|cancelled|lapsed)$")] = None
                           ) -> list[dict[str, Any]]:
    """The transitions you may see (yours, your care teams', your programs' referrals; all
    for supervisors and admins), at-risk ones (discharging soon with no hold) first."""
    found = await svc.transitions.list_for(actor, at_risk, status)
    await record_reads(request, actor, [_read(t) for t in found])
    return found


@router.get("/transitions/queue", response_model=list[TransitionOut], tags=["transitions"])
async def queue(request: Request, svc: Svc, actor: Navigator) -> list[dict[str, Any]]:
    """Discharge-pending transitions no connector has claimed yet, soonest first."""
    found = await svc.transitions.queue(actor)
    await record_reads(request, actor, [_read(t) for t in found])
    return found


@router.get("/transitions/{transition_id}", response_model=TransitionDetail,
            tags=["transitions"])
async def transition(transition_id: str, request: Request, svc: Svc, actor: Staff
                     ) -> dict[str, Any]:
    """One transition with its care team, the lead's caseload and the journey's links."""
    found = await svc.transitions.detail(transition_id, actor)
    await record_reads(request, actor, [_read(found)])
    return found


@router.get("/transitions/{transition_id}/timeline", response_model=list[EventOut],
            tags=["transitions"])
async def transition_timeline(transition_id: str, svc: Svc, actor: Staff
                              ) -> list[dict[str, Any]]:
    """Every status change, referral answer, hold, alert and note, oldest first."""
    return await svc.transitions.timeline(transition_id, actor)


@router.get("/caseload", tags=["transitions"])
async def caseload(svc: Svc, actor: Navigator) -> dict[str, Any]:
    """Your open transitions against the balanced caseload."""
    return {"navigator": actor.token_id, **await svc.transitions.caseload(actor.token_id)}


@router.post("/transitions/{transition_id}/claim", response_model=TransitionOut,
             tags=["transitions"])
async def claim(transition_id: str, svc: Svc, actor: Connector) -> dict[str, Any]:
    """Take an unclaimed transition as its lead connector (409 beyond your caseload)."""
    return await svc.transitions.claim(transition_id, actor)


@router.post("/transitions/{transition_id}/assign", response_model=TransitionOut,
             tags=["transitions"])
async def assign(transition_id: str, body: AssignIn, svc: Svc, actor: Lead) -> dict[str, Any]:
    """Supervisors: give a transition to a navigator (`force` exceeds their caseload)."""
    return await svc.transitions.assign(transition_id, body.navigator, actor, body.force)


@router.post("/transitions/{transition_id}/team", status_code=201, response_model=TeamOut,
             tags=["transitions"])
async def invite(transition_id: str, body: MemberIn, svc: Svc, actor: Navigator
                 ) -> dict[str, Any]:
    """The lead invites a member; across organizations only with a release on file."""
    return await svc.transitions.invite(transition_id, body.member, body.release_on_file,
                                        actor)


@router.delete("/transitions/{transition_id}/team/{member_id}", response_model=TeamOut,
               tags=["transitions"])
async def remove_member(transition_id: str, member_id: str, svc: Svc, actor: Navigator
                        ) -> dict[str, Any]:
    return await svc.transitions.remove_member(transition_id, member_id, actor)


@router.post("/transitions/{transition_id}/notes", status_code=201, response_model=EventOut,
             tags=["transitions"])
async def add_note(transition_id: str, body: NoteIn, svc: Svc, actor: Staff
                   ) -> dict[str, Any]:
    """A short note on the timeline, by anyone on the care team; identifiers are refused."""
    return await svc.transitions.add_note(transition_id, body.text, actor)


@router.post("/transitions/{transition_id}/next", status_code=201,
             response_model=TransitionOut, tags=["transitions"])
async def next_step(transition_id: str, body: NextIn, svc: Svc, actor: Navigator
                    ) -> dict[str, Any]:
    """After admission: watch the pathway's next step for the same reference and team."""
    needs = body.needs.model_dump(exclude_none=True) if body.needs is not None else None
    return await svc.transitions.next_step(transition_id, _aware(body.ready_by, "ready_by"),
                                           needs, actor)


@router.post("/transitions/{transition_id}/cancel", response_model=TransitionOut,
             tags=["transitions"])
async def cancel_transition(transition_id: str, svc: Svc, actor: Navigator) -> dict[str, Any]:
    return await svc.transitions.cancel(transition_id, actor)
