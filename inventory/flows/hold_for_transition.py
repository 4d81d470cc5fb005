"""Either the hold is granted (and, when it is for a transition, linked to it), or no bed is
held and the transition is unchanged.

Steps, and what a failure at each leaves:
1. check the transition is the actor's and open: nothing changed yet;
2. `Holds.place` (Redis grant, then SQL record; a failed record gives the bed back);
3. link the transition (compare-and-set on `open`): on failure the hold is released through
   the same path every release takes, and the original error is raised. If even that
   release fails, UndoFailed says the bed stays held and until when.
"""

from __future__ import annotations

import logging

from inventory.actors import Actor
from inventory.errors import UndoFailed, explain
from inventory.holds import Holds, HoldView
from inventory.transitions import Transitions

log = logging.getLogger(__name__)
UNDO_ACTOR = "system:undo"


async def place_hold(holds: Holds, transitions: Transitions, actor: Actor, unit_id: str,
                     client_ref: str, minutes: int | None = None,
                     transition_id: str | None = None) -> HoldView:
    """Hold one bed in `unit_id`, for `transition_id` when given."""
    if transition_id is None:
        return await holds.place(unit_id, client_ref, actor, minutes)
    await transitions.check_open(transition_id, actor)
    hold = await holds.place(unit_id, client_ref, actor, minutes)
    try:
        await transitions.link_hold(transition_id, hold, actor)
    except Exception as error:
        await release_after(holds, hold, error)
        raise
    return hold


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
