"""Flows that span features, each in one place, each undoing its earlier steps when a later
one fails, and each saying at its top what it guarantees.

- `hold_for_transition`: place a hold and link it to a transition.
- `accept_referral`: hold a bed for a referral, withdraw its group, link its transition.
- `send_referral`: refer a client, for a transition the navigator owns.
- admit, release and expire end a hold together with its transition: `Holds.end` and
  `Holds.expire_due` in `inventory/holds.py`, with `Transitions.hold_ended` as follower.

A flow is a function of the typed services it needs, so the app, the CLI and tests call the
same code; route handlers only parse, call one flow, and shape the answer.
"""
