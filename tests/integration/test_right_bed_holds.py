"""Holds respect the one "fits this person" rule, on the real app (real Redis, real SQL): a
hold for a transition, or a referral's acceptance, into a unit that does not fit the person's
needs is refused with 409 naming the unit by its label and why, and nothing is held, linked or
answered; the same request into a unit that fits goes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from inventory.actors import SYSTEM
from inventory.eligibility import Narrowing
from inventory.records import Hold
from tests.conftest import Server


@dataclass
class Detox:
    server: Server
    program: str
    women: str
    men: str
    navigator: str
    provider: str
    transition: str

    async def picture(self) -> dict[str, Any]:
        """Every count, hold, transition and referral a refused request could have touched."""
        seen: dict[str, Any] = {}
        async with self.server.client(self.navigator) as client:
            for unit in (self.women, self.men):
                state = (await client.get(f"/api/v1/units/{unit}")).json()
                seen[unit] = (state["available"], state["held"])
            seen["transitions"] = [(t["id"], t["status"], t["hold_id"]) for t in (
                await client.get("/api/v1/transitions")).json()]
            seen["referrals"] = sorted((r["id"], r["status"], r["hold_id"]) for r in (
                await client.get("/api/v1/referrals")).json())
        async with self.server.svc.sessions() as session:
            seen["holds"] = list((await session.execute(select(Hold.id))).scalars())
        return seen

    async def hold(self, unit: str) -> Any:
        async with self.server.client(self.navigator) as client:
            return await client.post("/api/v1/holds", json={
                "unit_id": unit, "client_ref": "c-7", "transition_id": self.transition})

    async def refer(self) -> dict[str, Any]:
        async with self.server.client(self.navigator) as client:
            sent = await client.post("/api/v1/referrals", json={
                "client_ref": "c-7", "program_ids": [self.program],
                "needs": {"gender": "female", "age": 34}, "transition_id": self.transition})
        assert sent.status_code == 201, sent.text
        [referral] = sent.json()
        return referral

    async def accept(self, referral: dict[str, Any], unit: str) -> Any:
        async with self.server.client(self.provider) as client:
            return await client.post(f"/api/v1/referrals/{referral['id']}/accept",
                                     json={"unit_id": unit})


@pytest.fixture
async def detox(server: Server) -> Detox:
    """A detox program whose men's unit has the only free bed; a woman's open transition."""
    org = await server.org("Bayshore Community Wellness")
    program = await server.program(org, level_of_care="withdrawal_management")
    women = (await server.svc.directory.create_unit(
        program, SYSTEM, label="Women's beds", kind="bed", capacity=8, available=1,
        population=Narrowing(genders=("female",)))).id
    men = (await server.svc.directory.create_unit(
        program, SYSTEM, label="Men's beds", kind="bed", capacity=10, available=1,
        population=Narrowing(genders=("male",)))).id
    navigator = await server.token("navigator")
    provider = await server.token("provider", org)
    async with server.client(navigator) as client:
        made = await client.post("/api/v1/transitions", json={
            "client_ref": "c-7", "from_program_id": program,
            "discharge_at": (server.svc.clock() + timedelta(hours=3)).isoformat(),
            "needs": {"gender": "female", "age": 34}})
    assert made.status_code == 201, made.text
    return Detox(server, program, women, men, navigator, provider, made.json()["id"])


async def test_a_hold_for_a_womans_transition_in_the_mens_unit_is_refused_unchanged(
        detox: Detox) -> None:
    before = await detox.picture()
    refused = await detox.hold(detox.men)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        "Men's beds does not fit this client: men only; no bed was held")
    assert await detox.picture() == before


async def test_a_hold_for_a_womans_transition_in_the_womens_unit_is_granted(
        detox: Detox) -> None:
    placed = await detox.hold(detox.women)
    assert placed.status_code == 201, placed.text
    after = await detox.picture()
    assert after[detox.women] == (0, 1) and after[detox.men] == (1, 0)
    assert after["transitions"] == [(detox.transition, "open", placed.json()["id"])]


async def test_accepting_a_womans_referral_into_the_mens_unit_is_refused_unchanged(
        detox: Detox) -> None:
    referral = await detox.refer()
    before = await detox.picture()
    refused = await detox.accept(referral, detox.men)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"].startswith("Men's beds does not fit this client: men only")
    assert await detox.picture() == before
    assert before["referrals"] == [(referral["id"], "pending", None)]
    accepted = await detox.accept(referral, detox.women)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    after = await detox.picture()
    assert after[detox.women] == (0, 1) and after[detox.men] == (1, 0)
