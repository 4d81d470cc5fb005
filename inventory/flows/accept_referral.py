"""Either the referral is accepted with a bed held for it, its group's other referrals
withdrawn and its transition linked, or no bed is held and the referral is still pending, for
exactly one program to accept later.

Steps, and what a failure at each leaves:
1. read the referral and check the provider and unit: nothing changed yet;
2. take the group's lock (Redis): refused while another program answers;
3. one SQL transaction, open across the Redis step: accept the referral only if still pending
   (compare-and-set), withdraw the group's others, link the transition if still open, add the
   hold's record; then take the bed in Redis; then add its audit entry and commit. A failure
   before the bed is taken rolls everything back. If the commit fails after it, the bed is
   given back in Redis (`Holds.ungrant`) and the original error is raised; if even that
   fails, UndoFailed says the bed stays held and until when.
4. tell the withdrawn programs and the navigator: after the commit, so a failed message
   never undoes an answer that stands (see `Referrals._tell`).

The lock lapses after `referrals.LOCK_SECONDS`; step 3's compare-and-set, not the lock, is
what keeps a second program out if it does.
"""

from __future__ import annotations

from typing import Any

from inventory.actors import Actor
from inventory.holds import Holds, HoldView
from inventory.referrals import Referrals
from inventory.transitions import Transitions


async def accept_referral(referrals: Referrals, holds: Holds, transitions: Transitions,
                          referral_id: str, unit_id: str, actor: Actor) -> dict[str, Any]:
    """Accept a referral into one of its program's units; returns the accepted referral."""
    row, program = await referrals.answerable(referral_id, unit_id, actor)
    hold, _ = await holds.prepare(unit_id, row.client_ref or "purged", actor,
                                  on_behalf_of=row.navigator)
    async with referrals.answering(row):
        granted = False
        try:
            async with referrals.sessions() as session, session.begin():
                withdrawn = await referrals.accept_in(session, row, hold.id, hold.created_at)
                if row.transition_id:
                    # A transition the navigator has closed meanwhile keeps its outcome; the
                    # provider's answer does not depend on it.
                    await transitions.link_in(session, row.transition_id,
                                              HoldView.of(hold, program.id))
                await holds.grant_in(session, hold, actor.name)
                granted = True
        except Exception as error:
            if granted:
                await holds.ungrant(hold, error)
            raise
    return await referrals.tell_accepted(row.id, withdrawn)
