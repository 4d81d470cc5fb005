"""Flows that span features, each in one place, each undoing its earlier steps when a later
one fails, and each saying at its top what it guarantees.

- `hold_for_transition`: place a hold and link it to a transition.
- `accept_referral`: hold a bed for a referral, withdraw its group, link its transition.
- `send_referral`: refer a client, for a transition the navigator owns.
- admit, release and expire: `Holds.end` and `Holds.expire_due` (both through
  `Holds.finish`) in `inventory/holds.py`, with `Transitions.hold_ended` as the follower
  that places the transition (admit) or puts it back at risk (release, expire). Either the
  hold's record, its transition and the live counts all change, or none does; when Redis
  has changed and the database refuses twice, the caller is told exactly that. Steps:
  1. SQL, in one transaction: mark the hold ended only if it is active (compare-and-set),
     then the followers' writes: a failure rolls back, nothing was changed;
  2. Redis: the end-hold script (counts, event): a refusal rolls back step 1;
  3. SQL: the audit entry, and the commit: a failure here is retried once in a fresh
     transaction, and otherwise reported as "was released in live availability, but the
     database did not record it".

A flow is a function of the typed services it needs, so the app, the CLI and tests call the
same code; route handlers only parse, call one flow, and shape the answer.
"""
