"""The JSON shapes of programs, units and events, shared by REST and websockets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inventory.directory import ProgramInfo, UnitInfo
from inventory.live import Event
from inventory.model import UnitState
from inventory.search import Result


def unit_view(info: UnitInfo | None, state: UnitState, cadence: int, now: datetime
              ) -> dict[str, Any]:
    """A unit's live state with its label, kind and effective population (`genders`,
    `age_min`, `age_max`, ...: its program's eligibility narrowed by the unit)."""
    data = state.view(cadence, now)
    if info is not None:
        data["label"], data["kind"] = info.label, info.kind
        data.update(info.population())
    return data


def program_view(result: Result, now: datetime, default_cadence: int) -> dict[str, Any]:
    """A program found by a search: its `available` and `waitlist` count only the units
    that fit the person; every unit says whether it fits (`fits`) and, if not, why
    (`not_fitting`, in words)."""
    p = result.program
    cadence = p.cadence_minutes or default_cadence
    units = []
    for u, s in result.units:
        if s is None:
            continue
        view = unit_view(u, s, cadence, now)
        reason = result.misfits.get(u.id)
        view["fits"], view["not_fitting"] = reason is None, reason
        units.append(view)
    return {
        **p.record(),
        "available": result.available,
        "waitlist": result.waitlist,
        "stale": result.stale,
        "updated_at": result.updated_at.isoformat() if result.updated_at else None,
        "distance_km": result.distance_km,
        "open_now": result.open_now,
        "units": units,
    }


PUBLIC_UNIT = ("id", "program_id", "label", "kind", "available", "held", "waitlist",
               "capacity", "status", "updated_at", "stale", "seq", "genders", "age_min",
               "age_max", "fits", "not_fitting")


def public_unit_view(unit: dict[str, Any]) -> dict[str, Any]:
    """A unit as anyone may see it: counts, never who changed them or their notes."""
    return {k: unit.get(k) for k in PUBLIC_UNIT}


def public_program_view(view: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous wall display may see: counts and program names only."""
    keep = ("id", "organization_id", "name", "level_of_care", "area", "available",
            "waitlist", "stale", "updated_at", "distance_km", "open_now")
    out = {k: view.get(k) for k in keep}
    out["units"] = [public_unit_view(u) for u in view["units"]]
    return out


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """A websocket or events message for an anonymous reader (no hold ids, no notes)."""
    if message.get("type") == "unit":
        return {"type": "unit", "seq": message["seq"], "op": message["op"],
                "unit": public_unit_view(message["unit"])}
    if message.get("type") == "snapshot":
        return {**message, "units": [public_unit_view(u) for u in message["units"]]}
    return message


def event_message(event: Event, program: ProgramInfo | None, cadence: int, now: datetime
                  ) -> dict[str, Any]:
    info = None
    if program is not None:
        info = next((u for u in program.units if u.id == event.unit.id), None)
    message: dict[str, Any] = {
        "type": "unit", "seq": event.seq, "op": event.op,
        "unit": unit_view(info, event.unit, cadence, now),
    }
    if event.hold_id:
        message["hold_id"] = event.hold_id
    return message


def event_messages(events: list[Event], programs: dict[str, ProgramInfo], default_cadence: int,
                   now: datetime) -> list[dict[str, Any]]:
    """Messages for a batch of events, looking each unit's program up once."""
    out = []
    for event in events:
        program = programs.get(event.unit.program_id)
        cadence = (program.cadence_minutes if program else None) or default_cadence
        out.append(event_message(event, program, cadence, now))
    return out
