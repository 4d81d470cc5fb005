"""Who sees which field: every JSON shape of programs, units, holds and stream messages, and
the one table that decides, per field, the least audience allowed to see it.

Audiences, from least to most trusted:

- `public`: anonymous readers (with `public_read`), display tokens (the wall page shows only
  counts) and analysts (they read reports, not people): counts, status, freshness and program
  facts; never notes, token ids, hold ids, client references or expected discharges.
- `staff`: navigators, providers and admins: the public view plus notes, expected
  discharges, where and by which token a count was changed, and hold ids on stream events.
- `owner`: whoever a record belongs to. Only holds have owner fields (client reference and
  placing token); a hold is rendered only after `Holds.get` has decided the reader may see
  it, so every field of a hold is `owner`.

A field missing from `FIELDS` is treated as `staff`: a new field is never public until
someone classifies it, and `tests/integration/test_audiences.py` fails until they do.

Websocket fan-out encodes each batch at most once per audience (`public`, `staff`), never
per subscriber, so these functions work on plain dicts and cost one pass over the keys.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
from inventory.directory import ProgramInfo, UnitInfo
from inventory.live import Event
from inventory.model import UnitState
from inventory.search import Result

PUBLIC, STAFF, OWNER = "public", "staff", "owner"
RANK = {PUBLIC: 0, STAFF: 1, OWNER: 2}
UNCLASSIFIED = STAFF  # what a field missing from the table is shown as
STAFF_ROLES = frozenset({ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR})

# kind -> field -> the least audience that may see it. Nested shapes (a program's `units`,
# a message's `unit`) name the kind they hold in NESTED.
FIELDS: dict[str, dict[str, str]] = {
    "unit": {
        "id": PUBLIC, "program_id": PUBLIC, "label": PUBLIC, "kind": PUBLIC,
        "available": PUBLIC, "held": PUBLIC, "waitlist": PUBLIC, "capacity": PUBLIC,
        "status": PUBLIC, "updated_at": PUBLIC, "stale": PUBLIC, "seq": PUBLIC,
        "updated_by": STAFF, "source": STAFF, "note": STAFF, "expected_discharges": STAFF,
        # Who the unit is for (its program's eligibility narrowed by the unit), and in
        # search results whether it fits the person described and why not.
        "genders": PUBLIC, "age_min": PUBLIC, "age_max": PUBLIC, "wheelchair": PUBLIC,
        "involuntary": PUBLIC, "secure": PUBLIC, "narrowed": PUBLIC, "fits": PUBLIC,
        "not_fitting": PUBLIC,
    },
    "program": {
        "id": PUBLIC, "organization_id": PUBLIC, "organization_name": PUBLIC, "name": PUBLIC,
        "description": PUBLIC, "level_of_care": PUBLIC, "asam_level": PUBLIC, "area": PUBLIC,
        "address": PUBLIC, "latitude": PUBLIC, "longitude": PUBLIC, "phone": PUBLIC,
        "genders": PUBLIC, "age_min": PUBLIC, "age_max": PUBLIC, "payers": PUBLIC,
        "languages": PUBLIC, "mat": PUBLIC, "wheelchair": PUBLIC, "pets": PUBLIC,
        "co_occurring": PUBLIC, "involuntary": PUBLIC, "secure": PUBLIC,
        "harm_reduction": PUBLIC, "telehealth": PUBLIC, "reentry": PUBLIC,
        "homeless_priority": PUBLIC, "hours": PUBLIC, "open_now": PUBLIC,
        "cadence_minutes": PUBLIC, "available": PUBLIC, "waitlist": PUBLIC, "stale": PUBLIC,
        "updated_at": PUBLIC, "distance_km": PUBLIC, "units": PUBLIC,
    },
    "message": {  # websocket and /api/v1/events messages
        "type": PUBLIC, "seq": PUBLIC, "op": PUBLIC, "unit": PUBLIC, "units": PUBLIC,
        "at": PUBLIC, "latest": PUBLIC, "hold_id": STAFF,
        # targeted `transition_event` messages, only ever sent to a transition's care team
        "transition_id": STAFF, "event": STAFF,
    },
    "hold": {
        "id": OWNER, "unit_id": OWNER, "program_id": OWNER, "client_ref": OWNER,
        "status": OWNER, "created_by": OWNER, "held_by": OWNER, "created_at": OWNER,
        "expires_at": OWNER,
        "ended_at": OWNER, "seq": OWNER,
    },
}
# Transitions are read only by staff who may see them (inventory/care_team.py decides which;
# everyone else gets 404), so every field is staff; no public route carries one.
FIELDS["transition"] = {field: STAFF for field in (
    "id", "client_ref", "from_program_id", "from_level", "discharge_at", "needs", "navigator",
    "status", "hold_id", "to_level", "created_at", "ended_at", "at_risk", "previous_id",
    "claimed", "team", "caseload", "next_id", "next_levels", "member", "referrals")}
FIELDS["care_team_member"] = {field: STAFF for field in (
    "member_id", "organization_id", "label", "release_on_file", "release_confirmed_by",
    "release_confirmed_at", "invited_by", "invited_at")}
FIELDS["transition_event"] = {field: STAFF for field in (
    "id", "transition_id", "at", "kind", "actor", "details")}
NESTED: dict[tuple[str, str], str] = {
    ("program", "units"): "unit", ("message", "unit"): "unit", ("message", "units"): "unit",
}


def audience_of(actor: Actor | None) -> str:
    """The audience a reader belongs to for shared views (`None`: an anonymous reader)."""
    return STAFF if actor is not None and actor.role in STAFF_ROLES else PUBLIC


def allowed(kind: str, field: str, audience: str) -> bool:
    return RANK[FIELDS[kind].get(field, UNCLASSIFIED)] <= RANK[audience]


def shown(kind: str, data: dict[str, Any], audience: str) -> dict[str, Any]:
    """`data` (a `kind` shape) with only the fields `audience` may see, nested ones too.
    The owner and staff see shared views whole except for unclassified fields' rules.
    Hot path of every search page (a hundred programs of a dozen units): one set lookup per
    field, with the table read once per kind and audience (`_visibility`)."""
    unlisted_visible, exceptions = _visibility(kind, audience)
    if unlisted_visible:  # keep all but the listed fields this audience may not see
        out = {f: v for f, v in data.items() if f not in exceptions} if exceptions else dict(data)
    else:  # keep only the listed fields this audience may see
        out = {f: v for f, v in data.items() if f in exceptions}
    for field, inner in _nested_of(kind):
        value = out.get(field)
        if isinstance(value, dict):
            out[field] = shown(inner, value, audience)
        elif isinstance(value, list):
            out[field] = [shown(inner, v, audience) for v in value]
    return out


@cache
def _visibility(kind: str, audience: str) -> tuple[bool, frozenset[str]]:
    """`allowed` for every field of `kind` at once: whether an unlisted field is visible to
    `audience`, and the listed fields that are the exception to that (FIELDS is fixed at
    import; the cache is per kind and audience)."""
    unlisted_visible = RANK[UNCLASSIFIED] <= RANK[audience]
    return unlisted_visible, frozenset(
        f for f in FIELDS[kind] if allowed(kind, f, audience) != unlisted_visible)


@cache
def _nested_of(kind: str) -> tuple[tuple[str, str], ...]:
    return tuple((field, inner) for (outer, field), inner in NESTED.items() if outer == kind)


# The full shapes, before an audience is applied ------------------------------------------


def unit_view(info: UnitInfo | None, state: UnitState, cadence: int, now: datetime
              ) -> dict[str, Any]:
    """A unit's live state with its label, kind and effective population (`genders`,
    `age_min`, `age_max`, ...: its program's eligibility narrowed by the unit)."""
    data = state.view(cadence, now)
    if info is not None:
        data.update(info.static_view())
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


# Shorthands for the shapes each route and the fan-out send --------------------------------


def unit_for(unit: dict[str, Any], audience: str) -> dict[str, Any]:
    return shown("unit", unit, audience)


def program_for(view: dict[str, Any], audience: str) -> dict[str, Any]:
    return shown("program", view, audience)


def message_for(message: dict[str, Any], audience: str) -> dict[str, Any]:
    """A websocket or events message (unit change, snapshot, heartbeat) for `audience`."""
    return shown("message", message, audience)


def hold_for(hold: dict[str, Any]) -> dict[str, Any]:
    """A hold for a reader `Holds.get`/`list_for` already found to be its owner."""
    return shown("hold", hold, OWNER)
