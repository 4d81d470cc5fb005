"""Freshness: units older than their program's cadence turn stale (a `stale` event on the
stream, so every websocket hears it and the matcher ranks them lower), and each organization
with newly stale units gets one reminder through the webhook. A provider's update or attest
moves `updated_at`, which clears the mark.

Which units were already marked is kept in Redis (`feed:stale`, unit id -> the `updated_at`
it was marked for), so a unit is marked and reminded once per stale episode.
"""

from __future__ import annotations

from typing import Any

from feeds.webhook import ReminderWebhook
from inventory.actors import SYSTEM
from inventory.errors import InventoryError
from inventory.keys import Keys
from inventory.live import Change
from inventory.model import is_stale
from inventory.system import System


async def check(system: System, webhook: ReminderWebhook) -> dict[str, Any]:
    now = system.clock()
    key = Keys(system.settings.redis_prefix).feed_stale
    programs = await system.directory.programs()
    states = await system.live.units(u.id for p in programs.values() for u in p.units)
    marked = await system.redis.hgetall(key)
    newly: dict[str, list[dict[str, Any]]] = {}
    cleared = stale = 0
    for program in programs.values():
        cadence = system.cadence(program.cadence_minutes)
        for unit in program.units:
            state = states.get(unit.id)
            if state is None:
                continue
            stamp = state.updated_at.isoformat() if state.updated_at else ""
            if not is_stale(state.updated_at, cadence, now):
                if unit.id in marked:
                    await system.redis.hdel(key, unit.id)
                    cleared += 1
                continue
            stale += 1
            if marked.get(unit.id) == stamp:
                continue
            try:
                await system.availability.apply(Change(op="stale", unit_id=unit.id, at=now,
                                                 by=SYSTEM.name, source="freshness"))
            except InventoryError:
                continue
            await system.redis.hset(key, unit.id, stamp)
            newly.setdefault(program.organization_id, []).append({
                "unit_id": unit.id, "unit_label": unit.label, "program_id": program.id,
                "program_name": program.name, "updated_at": stamp or None,
                "cadence_minutes": cadence})
    reminded = 0
    for organization_id, units in newly.items():
        payload = {"type": "stale_reminder", "organization_id": organization_id,
                   "units": units, "sent_at": now.isoformat(),
                   "message": "These counts are older than promised: update them, or "
                              "confirm no change (attest)."}
        reminded += await webhook.send(payload, now)
    return {"stale": stale, "newly_stale": sum(len(v) for v in newly.values()),
            "cleared": cleared, "reminders_sent": reminded}
