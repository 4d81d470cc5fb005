"""Watching open transitions: when a bed opens that fits a client about to be discharged,
their navigator is told at once (a `transition_match` message with the options) and the
timeline records a `bed_match`; a transition that turns at risk (no hold, ready-by within the
configured hours) gets one `at_risk` line, once."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from inventory import timeline
from inventory.directory import ProgramInfo
from inventory.keys import Keys
from inventory.matcher import rank, target_levels
from inventory.model import UnitState
from inventory.notify import Audience, Notifier
from inventory.records import Transition
from inventory.transitions import Transitions, needs_of, view

REMEMBER_SECONDS = 7 * 24 * 3600
WATCHER = "system:watch"


async def watch_transitions(transitions: Transitions, programs: dict[str, ProgramInfo],
                            states: dict[str, UnitState], pathways: dict[str, list[str]],
                            notifier: Notifier, redis: Redis, prefix: str, now: datetime,
                            default_cadence: int) -> int:
    """Notify navigators of programs that newly have a bed for their open transitions;
    returns how many messages went out. Remembers what each was told, so a program is
    announced again only after it ran out and opened anew."""
    sent = 0
    catalogue = list(programs.values())
    for t in await transitions.open_ones():
        if t.hold_id is not None:
            continue
        await _note_at_risk(transitions, t, now)
        levels = target_levels(t.from_level, pathways, list(pathways))
        options = [o for o in rank(catalogue, states, needs_of(t.needs), levels,
                                   max(t.discharge_at, now), now, default_cadence, limit=5)
                   if o.available_now > 0]
        key = Keys(prefix).watch(t.id)
        told = set(await redis.smembers(key))
        fresh = [o for o in options if o.program.id not in told]
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if options:
                pipe.sadd(key, *[o.program.id for o in options])
                pipe.expire(key, REMEMBER_SECONDS)
            await pipe.execute()
        if fresh:
            await transitions.record(t.id, timeline.BED_MATCH, WATCHER, programs=[
                {"program_id": o.program.id, "program": o.program.name,
                 "available_now": o.available_now} for o in fresh])
            if t.navigator:
                await notifier.send(Audience(token_id=t.navigator), {
                    "type": "transition_match", "transition_id": t.id,
                    "discharge_at": t.discharge_at.isoformat(),
                    "options": [o.as_dict() for o in fresh]})
            sent += 1
    return sent


async def _note_at_risk(transitions: Transitions, t: Transition, now: datetime) -> None:
    """Once per transition: the first time the watch finds it at risk."""
    if view(t, now, transitions.policy)["at_risk"] and not await transitions.recorded(
            t.id, timeline.AT_RISK):
        await transitions.record(t.id, timeline.AT_RISK, WATCHER,
                                 ready_by=t.discharge_at.isoformat(),
                                 claimed=t.navigator is not None)
