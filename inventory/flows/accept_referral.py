"""Either the referral is accepted with a bed held for it, its group's other referrals
withdrawn and its transition linked, or no bed is held and the referral is still pending, for
exactly one program to accept later.

Steps, and what a failure at each leaves:
1. read the referral and check the provider and unit, and that the unit fits the referral's
   needs (Conflict naming the unit by its label, and why not): nothing changed yet;
2. take the group's lock (Redis): refused while another program answers;
3. one SQL transaction, open across the Redis step: accept the referral only if still pending
   (compare-and-set), withdraw the group's others, link the transition if still open, add the
   hold's record; then take the bed in Redis; then add its audit entry and commit. A failure
   before the Redis step rolls everything back. A failure from it on (the commit, or a reply
   lost) also gives the bed back in Redis (`Holds.ungrant`, a no-op if it was never taken)
   and raises the original error; if even that fails, UndoFailed says a bed may stay held
   and until when.
4. tell the withdrawn programs and the navigator: after the commit, so a failed message
   never undoes an answer that stands (see `Referrals._tell`).

The lock lapses after `referrals.LOCK_SECONDS`; step 3's compare-and-set, not the lock, is
what keeps a second program out if it does.
"""

from __future__ import annotations

from typing import Any

from inventory.actors import Actor
from inventory.flows.hold_for_transition import check_fits
from inventory.holds import Holds, HoldView
from inventory.referrals import Referrals
from inventory.transitions import Transitions


async def accept_referral(referrals: Referrals, holds: Holds, transitions: Transitions,
                          referral_id: str, unit_id: str, actor: Actor) -> dict[str, Any]:
    """Accept a referral into one of its program's units; returns the accepted referral."""
    row, program = await referrals.answerable(referral_id, unit_id, actor)
    await check_fits(referrals.directory, unit_id, row.needs)
    hold, _ = await holds.prepare(unit_id, row.client_ref or "purged", actor,
                                  on_behalf_of=row.navigator)
    async with referrals.answering(row):
        # Set before the Redis step: a grant whose reply was lost is given back as well.
        reached_redis = False
        try:
            async with referrals.sessions() as session, session.begin():
                withdrawn = await referrals.accept_in(session, row, hold.id, hold.created_at,
                                                      actor.name)
                if row.transition_id:
                    # A transition the navigator has closed meanwhile keeps its outcome; the
                    # provider's answer does not depend on it.
                    await transitions.link_in(session, row.transition_id,
                                              HoldView.of(hold, program.id), actor.name)
                reached_redis = True
                counts = await holds.grant_in(session, hold, actor.name)
        except Exception as error:
            if reached_redis:
                await holds.ungrant(hold, error)
            raise
        await holds.fence.settle([(unit_id, counts.seq)])
    return await referrals.tell_accepted(row.id, withdrawn)
