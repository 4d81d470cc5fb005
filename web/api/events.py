"""The event log over HTTP, for clients that poll instead of holding a websocket."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from inventory.actors import Actor
from inventory.live import MAX_SEQ, Event
from inventory.system import System
from web.api.deps import services
from web.audiences import audience_of, event_messages, message_for
from web.auth import reader
from web.schemas import EventsOut
from web.services import Services

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events", response_model=EventsOut)
async def events(svc: Annotated[Services, Depends(services)],
                 actor: Annotated[Actor, Depends(reader)],
                 after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> dict[str, Any]:
    """Changes with seq greater than `after`, oldest first."""
    found = await svc.live.events_after(after, limit)
    seq = await svc.live.current_seq()
    if found is None:
        return {"seq": seq, "snapshot_required": True, "events": []}
    audience = audience_of(actor)
    messages = [message_for(m, audience) for m in await encode(svc.system, found)]
    return {"seq": seq, "snapshot_required": False, "events": messages}


async def encode(system: System, events: list[Event]) -> list[dict[str, Any]]:
    """Stream events as the messages clients get (REST, websockets, the fan-out), labelled
    from the directory as of the newest event when every event says which version that was
    (a hold's event does not: then the directory is checked as for any read)."""
    newest = events[-1].directory_version if events else None
    as_of = newest if all(e.directory_version is not None for e in events) else None
    programs = await system.directory.programs(as_of)
    return event_messages(events, programs, system.settings.default_cadence_minutes,
                          system.clock())
