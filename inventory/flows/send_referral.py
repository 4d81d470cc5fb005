"""Either the referral reaches every program named, for a transition the navigator owns (when
one is given), or nothing is sent.

The transition is only read (it changes when a referral is accepted, in `accept_referral`);
the referrals are written in one transaction, and the providers' notifications follow it.
"""

from __future__ import annotations

from typing import Any

from inventory.actors import Actor
from inventory.referrals import Referrals
from inventory.transitions import Transitions


async def send_referral(referrals: Referrals, transitions: Transitions, actor: Actor,
                        client_ref: str, program_ids: list[str], needs: dict[str, Any],
                        note: str = "", transition_id: str | None = None
                        ) -> list[dict[str, Any]]:
    """Refer one client to up to three programs at once; the first to accept wins."""
    if transition_id:
        await transitions.get(transition_id, actor)
    return await referrals.send(actor, client_ref, program_ids, needs, note, transition_id)
