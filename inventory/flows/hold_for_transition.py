"""Either the hold is granted (and, when it is for a transition, linked to it), or no bed is
held and the transition is unchanged.

Steps, and what a failure at each leaves:
1. check the transition is the actor's and open, and that the unit fits the transition's
   needs (Conflict naming the unit by its label, and why not): nothing changed yet;
2. `Holds.place` (Redis grant, then SQL record; a failed record gives the bed back);
3. link the transition (compare-and-set on `open`): on failure the hold is released through
   the same path every release takes, and the original error is raised. If even that
   release fails, UndoFailed says the bed stays held and until when.
"""

from __future__ import annotations

import logging
from typing import Any

from inventory.actors import Actor
from inventory.directory import Directory
from inventory.eligibility import unit_fit
from inventory.errors import Conflict, UndoFailed, explain
from inventory.holds import Holds, HoldView
from inventory.transitions import Transitions, needs_of

log = logging.getLogger(__name__)
UNDO_ACTOR = "system:undo"


async def place_hold(holds: Holds, transitions: Transitions, actor: Actor, unit_id: str,
                     client_ref: str, minutes: int | None = None,
                     transition_id: str | None = None) -> HoldView:
    """Hold one bed in `unit_id`, for `transition_id` when given."""
    if transition_id is None:
        return await holds.place(unit_id, client_ref, actor, minutes)
    row = await transitions.check_open(transition_id, actor)
    await check_fits(transitions.directory, unit_id, row.needs)
    hold = await holds.place(unit_id, client_ref, actor, minutes)
    try:
        await transitions.link_hold(transition_id, hold, actor)
    except Exception as error:
        await release_after(holds, hold, error)
        raise
    return hold


async def check_fits(directory: Directory, unit_id: str, needs: dict[str, Any] | None) -> None:
    """Refuse (Conflict, before anything is held) a unit that does not fit the person these
    needs describe: the same rule search and the matcher count beds by."""
    program = await directory.program_of_unit(unit_id)
    unit = next(u for u in program.units if u.id == unit_id)
    fit = unit_fit(unit, program, needs_of(needs or {}))
    if not fit:
        raise Conflict(f"{fit.sentence()}; no bed was held")


async def release_after(holds: Holds, hold: HoldView, cause: Exception) -> None:
    """Undo a granted and recorded hold because a later step failed with `cause`."""
    try:
        await holds.finish(hold.id, hold.unit_id, "release", UNDO_ACTOR)
    except Exception as error:
        log.exception("hold %s could not be released after %r", hold.id, cause)
        raise UndoFailed(
            f"{explain(cause)}; and the bed held for it (hold {hold.id!r}) could not be given "
            f"back ({explain(error)}); release it, or it is freed by itself at "
            f"{hold.expires_at:%H:%M} UTC.") from cause
