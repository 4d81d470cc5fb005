"""`bedfinder demo --history` makes its records through the domain services: holds, their
audit rows and the transitions they place agree as only `Holds` and `Transitions` make them
agree, providers' changes carry real provider tokens of the unit's organization, the domain
refused nothing, and the live state is what the audit log says it is."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from inventory import audit
from inventory.config import Settings
from inventory.records import AuditEntry, Hold, Referral, Token, Transition
from inventory.system import build_system
from web.demo import seed
from web.demo_history import fill_history


async def test_two_days_of_demo_history_are_made_by_the_domain_services(
        settings: Settings) -> None:
    await seed(settings)
    counts = await fill_history(settings, 2)
    assert counts is not None and "refused" not in counts, counts
    assert counts["changes"] > 300 and counts["searches"] > 50
    assert counts["holds"] > 0 and counts["transitions"] > 0 and counts["referrals"] > 0
    assert await fill_history(settings, 2) is None  # history exists: nothing is added

    assert settings.redis_url
    svc = await build_system(settings, settings.redis_url)
    try:
        async with svc.sessions() as session:
            holds = (await session.execute(select(Hold))).scalars().all()
            rows = (await session.execute(select(AuditEntry))).scalars().all()
            transitions = (await session.execute(select(Transition))).scalars().all()
            referrals = (await session.execute(select(Referral))).scalars().all()
            tokens = {t.id: t for t in (await session.execute(select(Token))).scalars()}
        programs = await svc.directory.programs()
        live = await svc.live.units(u.id for p in programs.values() for u in p.units)
        recorded, _ = await audit.persisted_states(svc.sessions)
    finally:
        await svc.redis.aclose()
        await svc.engine.dispose()

    # Every hold was granted and ended by `Holds`: one `hold` row and one ending row each.
    assert {h.status for h in holds} <= {"admitted", "released", "expired"}
    assert Counter(h.status for h in holds)["admitted"] > 0
    ops = Counter((r.hold_id, r.op) for r in rows if r.hold_id)
    for hold in holds:
        ending = {"admitted": "admit", "released": "release", "expired": "expire"}[hold.status]
        assert (ops[(hold.id, "hold")], ops[(hold.id, ending)]) == (1, 1), hold.id
    # A transition is placed only when the hold linked to it was admitted.
    status = {h.id: h.status for h in holds}
    placed = [t for t in transitions if t.status == "placed"]
    assert placed and all(status[t.hold_id] == "admitted" for t in placed if t.hold_id)
    assert {r.status for r in referrals} <= {"pending", "accepted", "declined", "expired",
                                             "withdrawn"}
    assert all(r.acknowledged_at for r in referrals if r.status in ("accepted", "declined"))
    # Providers' changes come from provider tokens of the unit's own organization.
    organization = {u.id: p.organization_id for p in programs.values() for u in p.units}
    for row in rows:
        if row.op in ("set", "attest") and row.actor.startswith("provider:"):
            token = tokens[row.actor.removeprefix("provider:")]
            assert token.organization_id == organization[row.unit_id], row.seq
    # The live state and the audit log tell the same story.
    assert {s.id: (s.available, s.held, s.capacity) for s in recorded} == {
        s.id: (s.available, s.held, s.capacity) for s in live.values()}
