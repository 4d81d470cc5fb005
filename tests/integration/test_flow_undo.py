"""Every cross-feature flow, failed at each of its steps on the real app (real Redis, real
SQL): afterwards the bed counts, holds, referrals and transitions are exactly as before, or,
where a step cannot be undone, the caller is told exactly what stayed changed.

Faults are injected by replacing one step on the running app's service objects (the app runs
in this process under uvicorn), so every other step is the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from inventory import holds as holds_module
from inventory.errors import LiveStateUnavailable, RecordsUnavailable
from inventory.records import AuditEntry, Hold, Transition
from tests.conftest import Server


def db_down(*_: Any, **__: Any) -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("disk I/O error"))


def failing(error: Callable[[], Exception]) -> Callable[..., Awaitable[Any]]:
    async def step(*_: Any, **__: Any) -> Any:
        raise error()
    return step


async def commit_fails(server: Server, monkeypatch: pytest.MonkeyPatch, times: int = 1
                       ) -> None:
    """The next `times` hold audit entries reuse a recorded seq, so the database refuses the
    transaction at its commit, after the Redis step: a real failure at the last moment."""
    async with server.svc.sessions() as session:
        taken = (await session.execute(select(func.min(AuditEntry.seq)))).scalar_one()
    entry = holds_module._audit
    left = times

    def clashing(*args: Any) -> AuditEntry:
        nonlocal left
        row = entry(*args)
        if left > 0:
            left -= 1
            row.seq = taken
        return row

    monkeypatch.setattr(holds_module, "_audit", clashing)


@dataclass
class World:
    server: Server
    units: list[str]
    programs: list[str]
    navigator: str
    providers: list[str]
    transition: str

    async def picture(self) -> dict[str, Any]:
        """Everything a flow may touch, read from the API, Redis and SQL."""
        svc = self.server.svc
        seen: dict[str, Any] = {}
        async with self.server.client(self.navigator) as client:
            for unit in self.units:
                state = (await client.get(f"/api/v1/units/{unit}")).json()
                seen[unit] = (state["available"], state["held"],
                              sorted(await svc.live.active_hold_ids(unit)))
            seen["transitions"] = [(t["id"], t["status"], t["hold_id"], t["at_risk"])
                                   for t in (await client.get("/api/v1/transitions")).json()]
            seen["referrals"] = sorted((r["id"], r["status"], r["hold_id"]) for r in (
                await client.get("/api/v1/referrals")).json())
        async with svc.sessions() as session:
            seen["active_holds"] = sorted((await session.execute(select(Hold.id).where(
                Hold.status == "active"))).scalars())
        seen["expiring"] = sorted(await svc.redis.zrange(svc.live.keys.hold_expiry, 0, -1))
        return seen

    async def hold(self, unit: int = 0, for_transition: bool = True) -> Any:
        async with self.server.client(self.navigator) as client:
            return await client.post("/api/v1/holds", json={
                "unit_id": self.units[unit], "client_ref": "c-1",
                **({"transition_id": self.transition} if for_transition else {})})

    async def refer(self) -> list[dict[str, Any]]:
        async with self.server.client(self.navigator) as client:
            sent = await client.post("/api/v1/referrals", json={
                "client_ref": "c-1", "program_ids": self.programs,
                "transition_id": self.transition})
        assert sent.status_code == 201, sent.text
        return sent.json()

    async def accept(self, referral: dict[str, Any], which: int) -> Any:
        async with self.server.client(self.providers[which]) as client:
            return await client.post(f"/api/v1/referrals/{referral['id']}/accept",
                                     json={"unit_id": self.units[which]})


@pytest.fixture
async def world(server: Server) -> World:
    orgs = [await server.org(f"Org {i}") for i in range(2)]
    programs = [await server.program(o) for o in orgs]
    units = [await server.unit(p, capacity=4, available=2) for p in programs]
    navigator = await server.token("navigator")
    providers = [await server.token("provider", o) for o in orgs]
    async with server.client(navigator) as client:
        made = await client.post("/api/v1/transitions", json={
            "client_ref": "c-1", "from_program_id": programs[0],
            "discharge_at": (server.svc.clock() + timedelta(hours=2)).isoformat()})
    assert made.status_code == 201, made.text
    return World(server, units, programs, navigator, providers, made.json()["id"])


# Hold for a transition --------------------------------------------------------------


async def test_hold_for_a_transition_is_granted_and_linked(world: World) -> None:
    placed = await world.hold()
    assert placed.status_code == 201, placed.text
    after = await world.picture()
    assert after[world.units[0]] == (1, 1, [placed.json()["id"]])
    assert after["transitions"] == [(world.transition, "open", placed.json()["id"], False)]


async def test_hold_refused_by_redis_changes_nothing(world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = await world.picture()
    monkeypatch.setattr(world.server.svc.live, "grant_hold", failing(
        lambda: LiveStateUnavailable("live store unreachable: injected")))
    reply = await world.hold()
    assert reply.status_code == 503 and "injected" in reply.text
    assert await world.picture() == before


async def test_hold_whose_record_fails_gives_the_bed_back(world: World,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    before = await world.picture()
    monkeypatch.setattr(world.server.svc.audit, "record", failing(
        lambda: RecordsUnavailable("the change could not be recorded: injected")))
    reply = await world.hold()
    assert reply.status_code == 503 and "could not be recorded" in reply.text
    assert await world.picture() == before


async def test_hold_whose_link_fails_is_released_and_the_transition_unchanged(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    before = await world.picture()
    monkeypatch.setattr(world.server.svc.transitions, "link_hold", failing(db_down))
    reply = await world.hold()
    assert reply.status_code == 503 and "nothing was changed" in reply.text
    assert await world.picture() == before
    async with world.server.svc.sessions() as session:
        statuses = (await session.execute(select(Hold.status))).scalars().all()
    assert statuses == ["released"], "the undone hold is on record as released"


async def test_hold_for_a_transition_cancelled_meanwhile_is_released(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The navigator cancels between the check and the link: the link's compare-and-set
    refuses, and the bed goes back."""
    transitions = world.server.svc.transitions
    link = transitions.link_hold

    async def cancelled_first(transition_id: str, hold: Any, actor: Any) -> None:
        await transitions.cancel(transition_id, actor)
        await link(transition_id, hold, actor)

    monkeypatch.setattr(transitions, "link_hold", cancelled_first)
    before = await world.picture()
    reply = await world.hold()
    assert reply.status_code == 409 and "cancelled" in reply.text
    after = await world.picture()
    assert after["transitions"] == [(world.transition, "cancelled", None, False)]
    assert {k: v for k, v in after.items() if k != "transitions"} == {
        k: v for k, v in before.items() if k != "transitions"}


async def test_hold_whose_link_and_undo_both_fail_says_the_bed_stays_held(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = world.server.svc
    monkeypatch.setattr(svc.transitions, "link_hold", failing(db_down))
    monkeypatch.setattr(svc.live, "end_hold", failing(
        lambda: LiveStateUnavailable("live store unreachable: injected")))
    reply = await world.hold()
    assert reply.status_code == 503, reply.text
    detail = reply.json()["detail"]
    assert "could not be given back" in detail and "nothing was changed" not in detail
    after = await world.picture()
    held = after[world.units[0]]
    assert held[:2] == (1, 1) and after["active_holds"] == held[2], \
        "Redis and SQL agree: the one hold is still active in both"
    assert after["transitions"][0][2] is None


# Accept a referral -------------------------------------------------------------------


async def test_accept_holds_a_bed_withdraws_the_others_and_links_the_transition(
        world: World) -> None:
    sent = await world.refer()
    reply = await world.accept(sent[0], 0)
    assert reply.status_code == 200, reply.text
    hold_id = reply.json()["hold_id"]
    after = await world.picture()
    assert after[world.units[0]] == (1, 1, [hold_id])
    assert sorted(r[1] for r in after["referrals"]) == ["accepted", "withdrawn"]
    assert after["transitions"] == [(world.transition, "open", hold_id, False)]


@pytest.mark.parametrize("step", ["referral", "transition", "redis", "reply_lost",
                                  "commit"])
async def test_accept_failing_at_any_step_leaves_the_referral_for_exactly_one_program(
        world: World, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    svc = world.server.svc
    sent = await world.refer()
    before = await world.picture()
    if step == "referral":
        monkeypatch.setattr(svc.referrals, "accept_in", failing(db_down))
    elif step == "transition":
        monkeypatch.setattr(svc.transitions, "link_in", failing(db_down))
    elif step == "redis":
        monkeypatch.setattr(svc.live, "grant_hold", failing(
            lambda: LiveStateUnavailable("live store unreachable: injected")))
    elif step == "reply_lost":  # Redis took the bed but its answer never came
        grant_hold = svc.live.grant_hold

        async def reply_lost(*args: Any) -> Any:
            await grant_hold(*args)
            raise LiveStateUnavailable("live store unreachable: injected")

        monkeypatch.setattr(svc.live, "grant_hold", reply_lost)
    else:  # the bed is taken in Redis, then the database refuses the commit
        await commit_fails(world.server, monkeypatch)
    reply = await world.accept(sent[0], 0)
    assert reply.status_code == 503, reply.text
    assert await world.picture() == before
    monkeypatch.undo()
    assert await only_one_program_can_accept(world, sent)


async def only_one_program_can_accept(world: World, sent: list[dict[str, Any]]) -> bool:
    replies = await asyncio.gather(world.accept(sent[0], 0), world.accept(sent[1], 1))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200, 409], [r.text for r in replies]
    after = await world.picture()
    assert len(after["active_holds"]) == 1
    assert sorted(r[1] for r in after["referrals"]) == ["accepted", "withdrawn"]
    return True


async def test_a_lapsed_lock_still_lets_only_one_program_accept(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if each answer took longer than the lock's term: the compare-and-set decides."""
    sent = await world.refer()

    async def always(name: str, seconds: float) -> str:
        return "lapsed"

    monkeypatch.setattr(world.server.svc.locks, "acquire", always)
    assert await only_one_program_can_accept(world, sent)


async def test_accept_of_a_full_unit_is_refused_and_the_referral_stays_pending(
        world: World) -> None:
    sent = await world.refer()
    async with world.server.client(world.providers[0]) as client:
        full = await client.put(f"/api/v1/units/{world.units[0]}/availability",
                                json={"available": 0})
        assert full.status_code == 200
    before = await world.picture()
    reply = await world.accept(sent[0], 0)
    assert reply.status_code == 409 and "no bed is free" in reply.text
    assert await world.picture() == before
    assert (await world.accept(sent[1], 1)).status_code == 200


async def test_accept_withdrawn_meanwhile_is_refused_and_holds_nothing(world: World) -> None:
    """The navigator withdraws without the group's lock; the compare-and-set still sees it."""
    sent = await world.refer()
    async with world.server.client(world.navigator) as client:
        assert (await client.post(f"/api/v1/referrals/{sent[0]['id']}/withdraw")
                ).status_code == 200
    before = await world.picture()
    reply = await world.accept(sent[0], 0)
    assert reply.status_code == 409 and "withdrawn" in reply.text
    assert await world.picture() == before


async def test_accept_whose_commit_and_undo_fail_says_so_and_expiry_frees_the_bed(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = world.server.svc
    sent = await world.refer()
    before = await world.picture()
    await commit_fails(world.server, monkeypatch)
    monkeypatch.setattr(svc.live, "end_hold", failing(
        lambda: LiveStateUnavailable("live store unreachable: injected")))
    reply = await world.accept(sent[0], 0)
    assert reply.status_code == 503
    assert "may stay held until" in reply.json()["detail"]
    stuck = await world.picture()
    assert stuck[world.units[0]][:2] == (1, 1) and stuck["active_holds"] == []
    assert stuck["referrals"] == before["referrals"], "the referral is still pending"
    monkeypatch.undo()
    # The unrecorded hold's expiry comes: it is given back although SQL never knew it.
    (orphan,) = stuck[world.units[0]][2]
    await svc.redis.zadd(svc.live.keys.hold_expiry, {orphan: 0})
    await svc.holds.expire_due()  # or the app's own expiry job, whichever runs first
    assert await world.picture() == before
    async with svc.sessions() as session:
        ops = (await session.execute(select(AuditEntry.op).where(
            AuditEntry.hold_id == orphan))).scalars().all()
    assert ops == ["expire"], "the audit log follows the live counts"


async def test_accept_stands_when_the_notifications_cannot_be_sent(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = world.server.svc
    sent = await world.refer()
    monkeypatch.setattr(svc.notifier, "send", failing(
        lambda: RedisConnectionError("injected")))
    reply = await world.accept(sent[0], 0)
    assert reply.status_code == 200, reply.text
    after = await world.picture()
    assert after["active_holds"] == [reply.json()["hold_id"]]
    assert sorted(r[1] for r in after["referrals"]) == ["accepted", "withdrawn"]


# Ending a hold: admit, release, expire ----------------------------------------------


async def held_for_transition(world: World) -> str:
    placed = await world.hold()
    assert placed.status_code == 201, placed.text
    return placed.json()["id"]


async def end(world: World, hold_id: str, op: str) -> Any:
    async with world.server.client(world.navigator) as client:
        return await client.post(f"/api/v1/holds/{hold_id}/{op}")


@pytest.mark.parametrize("op", ["admit", "release"])
@pytest.mark.parametrize("step", ["follower", "redis"])
async def test_end_failing_before_redis_changes_nothing_and_says_so(
        world: World, monkeypatch: pytest.MonkeyPatch, op: str, step: str) -> None:
    svc = world.server.svc
    hold_id = await held_for_transition(world)
    before = await world.picture()
    if step == "follower":
        monkeypatch.setattr(svc.holds, "on_end", [failing(db_down)])
    else:
        monkeypatch.setattr(svc.live, "end_hold", failing(
            lambda: LiveStateUnavailable("live store unreachable: injected")))
    reply = await end(world, hold_id, op)
    assert reply.status_code == 503, reply.text
    assert await world.picture() == before
    monkeypatch.undo()
    assert (await end(world, hold_id, op)).status_code == 200


@pytest.mark.parametrize("op", ["admit", "release"])
async def test_end_whose_commit_fails_after_redis_is_recorded_on_retry(
        world: World, monkeypatch: pytest.MonkeyPatch, op: str) -> None:
    hold_id = await held_for_transition(world)
    await commit_fails(world.server, monkeypatch, times=1)
    reply = await end(world, hold_id, op)
    assert reply.status_code == 200, reply.text
    after = await world.picture()
    assert after[world.units[0]] == ((1, 0, []) if op == "admit" else (2, 0, []))
    assert after["active_holds"] == []
    status, linked = await transition_row(world)
    assert (status, linked) == (("placed", hold_id) if op == "admit" else ("open", None))
    assert await last_audit_matches_live(world)


@pytest.mark.parametrize("op", ["admit", "release"])
async def test_end_whose_record_fails_twice_says_what_changed(
        world: World, monkeypatch: pytest.MonkeyPatch, op: str) -> None:
    hold_id = await held_for_transition(world)
    await commit_fails(world.server, monkeypatch, times=2)
    reply = await end(world, hold_id, op)
    assert reply.status_code == 503
    detail = reply.json()["detail"]
    assert "in live availability, but the database did not record it" in detail
    assert "nothing was changed" not in detail
    free: tuple[int, int, list[str]] = (1, 0, []) if op == "admit" else (2, 0, [])
    assert (await world.picture())[world.units[0]] == free, "the caller was told the truth"


async def test_expiry_failing_in_redis_leaves_the_hold_and_a_later_run_expires_it(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = world.server.svc
    hold_id = await held_for_transition(world)
    monkeypatch.setattr(svc.live, "end_hold", failing(
        lambda: LiveStateUnavailable("live store unreachable: injected")))
    await svc.redis.zadd(svc.live.keys.hold_expiry, {hold_id: 0})
    before = await world.picture()
    with pytest.raises(LiveStateUnavailable):
        await svc.holds.expire_due()
    assert await world.picture() == before
    monkeypatch.undo()
    await svc.holds.expire_due()  # or the app's own expiry job, whichever runs first
    after = await world.picture()
    assert after[world.units[0]] == (2, 0, []) and after["active_holds"] == []
    assert await transition_row(world) == ("open", None)


async def test_expiry_whose_follower_fails_changes_nothing(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = world.server.svc
    hold_id = await held_for_transition(world)
    monkeypatch.setattr(svc.holds, "on_end", [failing(db_down)])
    await svc.redis.zadd(svc.live.keys.hold_expiry, {hold_id: 0})
    before = await world.picture()
    with pytest.raises(OperationalError):
        await svc.holds.expire_due()
    assert await world.picture() == before


async def transition_row(world: World) -> tuple[str, str | None]:
    async with world.server.svc.sessions() as session:
        row = await session.get(Transition, world.transition)
    assert row is not None
    return row.status, row.hold_id


async def last_audit_matches_live(world: World) -> bool:
    unit = world.units[0]
    state = (await world.server.svc.live.units([unit]))[unit]
    async with world.server.svc.sessions() as session:
        last = (await session.execute(select(AuditEntry).where(AuditEntry.unit_id == unit)
                                      .order_by(AuditEntry.seq.desc()).limit(1))).scalar_one()
    return (last.seq, last.available, last.held) == (state.seq, state.available, state.held)


async def test_expiry_ends_in_redis_a_due_hold_the_database_already_ended(
        world: World) -> None:
    """Should Redis ever keep a hold SQL records as ended, expiry brings them together."""
    svc = world.server.svc
    placed = await world.hold(for_transition=False)
    hold_id = placed.json()["id"]
    async with svc.sessions() as session, session.begin():
        row = await session.get(Hold, hold_id)
        assert row is not None
        row.status = "released"
    await svc.redis.zadd(svc.live.keys.hold_expiry, {hold_id: 0})
    await svc.holds.expire_due()  # or the app's own expiry job, whichever runs first
    after = await world.picture()
    assert after[world.units[0]] == (2, 0, []) and after["expiring"] == []
    assert await last_audit_matches_live(world)
