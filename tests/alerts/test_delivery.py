"""Alerts reach a person: live on their websocket, as a Web Push their browser decrypts, and
by e-mail through a real SMTP server; each once per recipient and channel; texts generated,
never copied from the timeline."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from websockets.asyncio.client import connect

from bench.alert_receivers import Mail, PushService, SmtpServer
from inventory.alert_records import AlertDelivery, PushSubscription
from inventory.privacy import check_note, identifiers_in
from tests.alerts.helpers import event, member, person, transition
from tests.conftest import Server
from tests.integration.live_helpers import next_message, token_id

WAIT = 15.0
# Passes inventory/privacy.check_note, yet reads like it could point at someone.
SLIPPED = "call back re bed 4B, room of Mr. Okafor's cousin, ward 7"




async def subscribe(server: Server, token: str, push_service: PushService, name: str) -> None:
    async with server.client(token) as client:
        made = await client.post("/api/v1/push/subscriptions",
                                 json=push_service.browser(name).subscription())
        assert made.status_code == 201, made.text


async def test_a_referral_answer_reaches_the_lead_by_email_and_push_and_a_member_live(
        alert_server: Server, smtp: SmtpServer, push_service: PushService) -> None:
    server = alert_server
    lead = await person(server, "navigator", "lead@example.org")
    await server.svc.alerts.subscribe(lead, push_service.browser("lead").endpoint,
                                      *_keys(push_service, "lead"), server.svc.clock())
    member_token = await server.token("navigator")
    await subscribe(server, member_token, push_service, "member")
    trn = await transition(server, lead.token_id, "C-1042")
    await member(server, trn, await token_id(server, member_token))
    assert check_note(SLIPPED)

    async with connect(f"{server.ws_url}/ws/inventory?token={member_token}") as ws:
        await next_message(ws, "snapshot")
        await event(server, trn, "referral_accepted", program_id="prg-x", note=SLIPPED)
        live = (await next_message(ws, "alert"))["alert"]
    mail: Mail = await asyncio.wait_for(smtp.inbox.get(), WAIT)
    pushes = [await asyncio.wait_for(push_service.inbox.get(), WAIT) for _ in range(2)]

    assert mail.to == ["lead@example.org"]
    assert "C-1042" in mail.message["Subject"] and f"/?transition={trn}" in mail.text
    assert {p.browser for p in pushes} == {"lead", "member"}
    public_key = await server.svc.pusher.public_key()
    for push in pushes:
        assert push.vapid_key == public_key  # signed with the deployment's key
        assert push.payload["url"].endswith(f"/?transition={trn}")
        assert "C-1042" in push.payload["body"]
    assert live["kind"] == "referral_accepted" and live["client_ref"] == "C-1042"
    # Nothing but generated words, the reference and the link; structured fields are fixed.
    assert set(live) == {"id", "kind", "transition_id", "client_ref", "escalation",
                         "escalation_reason", "title", "body", "url", "created_at",
                         "acknowledged_at"}
    assert all(set(p.payload) == {"title", "body", "url", "alert_id", "tag"} for p in pushes)
    texts = [mail.message.as_string(), live["title"] + " " + live["body"],
             *(p.payload["title"] + " " + p.payload["body"] for p in pushes)]
    for text in texts:
        assert "Okafor" not in text and "4B" not in text and "prg-x" not in text
    for text in texts[1:]:
        assert not identifiers_in(text), text
    assert not identifiers_in(mail.text.replace(f"/?transition={trn}", "/"))


def _keys(push_service: PushService, name: str) -> tuple[str, str]:
    keys = push_service.browsers[name].subscription()["keys"]
    return keys["p256dh"], keys["auth"]


async def test_every_alerting_kind_is_sent_and_other_kinds_are_not(
        alert_server: Server, smtp: SmtpServer) -> None:
    server = alert_server
    lead = await person(server, "navigator", "lead@example.org")
    trn = await transition(server, lead.token_id)
    for kind in ("note", "referral_sent", "at_risk", "bed_match", "referral_declined",
                 "lapsed", "hold_placed"):
        await event(server, trn, kind)
    mails = [await asyncio.wait_for(smtp.inbox.get(), WAIT) for _ in range(4)]
    await until(server, lambda counts: counts.get("sent") == 8)  # 4 live + 4 e-mail
    said = sorted(m.text.splitlines()[0] for m in mails)
    assert said == sorted(f"Transition C-1042: {s}." for s in (
        "at risk: no accepted referral or hold yet, and the ready-by time is near",
        "a bed matching the needs has opened", "a referral was declined",
        "lapsed: the ready-by time passed without a landing"))
    async with server.svc.sessions() as session:
        sent = await session.scalar(select(func.count()).select_from(AlertDelivery).where(
            AlertDelivery.channel == "email"))
    assert sent == 4 and smtp.inbox.empty()


async def until(server: Server, done: Any, timeout: float = WAIT) -> dict[str, int]:
    """Wait for the outbox's counts to satisfy `done` (checked on each change of state)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(counts := await server.svc.alerts.counts()):
        assert loop.time() < deadline, counts
        await asyncio.sleep(0.05)
    return counts


async def test_an_alert_is_acknowledged_by_its_recipient_only(alert_server: Server) -> None:
    server = alert_server
    token = await server.token("navigator")
    other = await server.token("navigator")
    trn = await transition(server, await token_id(server, token))
    async with connect(f"{server.ws_url}/ws/inventory?token={token}") as ws:
        await next_message(ws, "snapshot")
        await event(server, trn, "at_risk")
        alert = (await next_message(ws, "alert"))["alert"]
    async with server.client(other) as client:
        assert (await client.post(f"/api/v1/alerts/{alert['id']}/ack")).status_code == 404
        assert (await client.get("/api/v1/alerts")).json() == []
    async with server.client(token) as client:
        listed = (await client.get("/api/v1/alerts")).json()
        done = await client.post(f"/api/v1/alerts/{alert['id']}/ack")
        again = await client.post(f"/api/v1/alerts/{alert['id']}/ack")
    assert [a["id"] for a in listed] == [alert["id"]]
    assert done.status_code == 200 and done.json()["acknowledged_at"]
    assert again.json()["acknowledged_at"] == done.json()["acknowledged_at"]


async def test_a_gone_subscription_is_forgotten(alert_server: Server,
                                                push_service: PushService) -> None:
    server = alert_server
    token = await server.token("navigator")
    browser = push_service.browser("x").subscription()
    browser["endpoint"] = f"http://127.0.0.1:{push_service.port}/gone/x"
    async with server.client(token) as client:
        assert (await client.post("/api/v1/push/subscriptions", json=browser)).status_code == 201
    trn = await transition(server, await token_id(server, token))
    await event(server, trn, "lapsed")
    counts = await until(server, lambda c: c.get("failed", 0) == 1 and not c.get("pending"))
    assert counts.get("sent") == 1  # the live one
    async with server.svc.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PushSubscription)) == 0
