"""At-risk and lapsed alerts nobody acknowledged within `alerts.escalate_after_minutes` go to
every supervisor, once, live, by push and by e-mail; acknowledged ones and other kinds do
not; an at-risk transition nobody leads goes to the supervisors at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.alert_receivers import PushService, SmtpServer
from inventory.config import Settings
from tests.alerts.helpers import event, person, transition
from tests.alerts.test_delivery import WAIT, subscribe, token_id, until
from tests.conftest import Server, serve

ESCALATE_MINUTES = 0.1  # 6 seconds


@pytest.fixture
async def escalating(alert_settings: Settings) -> AsyncIterator[Server]:
    quick = alert_settings.model_copy(update={"alerts": alert_settings.alerts.model_copy(
        update={"escalate_after_minutes": ESCALATE_MINUTES})})
    async for running in serve(quick):
        yield running


async def test_unanswered_at_risk_escalates_to_supervisors_once(
        escalating: Server, smtp: SmtpServer, push_service: PushService) -> None:
    server = escalating
    lead = await server.token("navigator")
    supervisor = await server.token("supervisor")
    await subscribe(server, supervisor, push_service, "supervisor")
    await person(server, "supervisor", "supervisor@example.org")
    await person(server, "navigator", "not-a-supervisor@example.org")
    unanswered = await transition(server, await token_id(server, lead), "C-1")
    answered = await transition(server, await token_id(server, lead), "C-2")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await event(server, unanswered, "at_risk")
    await event(server, unanswered, "bed_match")
    await event(server, answered, "lapsed")
    async with server.client(lead) as client:
        await until(server, lambda c: c.get("sent", 0) >= 3)
        mine = (await client.get("/api/v1/alerts")).json()
        assert sorted(a["kind"] for a in mine) == ["at_risk", "bed_match", "lapsed"]
        lapse = next(a for a in mine if a["kind"] == "lapsed")
        assert (await client.post(f"/api/v1/alerts/{lapse['id']}/ack")).status_code == 200

    mail = await asyncio.wait_for(smtp.inbox.get(), WAIT)
    push = await asyncio.wait_for(push_service.inbox.get(), WAIT)
    assert mail.to == ["supervisor@example.org"]
    assert mail.message["Subject"] == "Escalation: C-1"
    assert mail.at - started >= ESCALATE_MINUTES * 60
    assert push.browser == "supervisor" and push.payload["title"] == "Escalation: C-1"
    async with server.client(supervisor) as client:
        escalations = (await client.get("/api/v1/alerts")).json()
        assert [(a["kind"], a["client_ref"], a["escalation"]) for a in escalations] == [
            ("at_risk", "C-1", True)]
        assert (await client.post(f"/api/v1/alerts/{escalations[0]['id']}/ack")
                ).status_code == 200
    # More passes come and go (poll every 0.5 s): nothing is sent again.
    passes = server.svc.alert_delivery.passes
    while server.svc.alert_delivery.passes < passes + 3:
        await asyncio.sleep(0.1)
    assert smtp.inbox.empty() and push_service.inbox.empty()


async def test_an_at_risk_transition_nobody_leads_goes_to_supervisors_at_once(
        escalating: Server, smtp: SmtpServer) -> None:
    server = escalating
    await person(server, "supervisor", "supervisor@example.org")
    queued = await transition(server, None, "Q-7")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await event(server, queued, "at_risk")
    mail = await asyncio.wait_for(smtp.inbox.get(), WAIT)
    assert mail.message["Subject"] == "Escalation: Q-7"
    assert mail.at - started < ESCALATE_MINUTES * 60
    assert "No connector has claimed it" in mail.text
