"""Freshness: stale units get a stale event and one signed reminder; an attest clears it;
a failing webhook is retried with backoff and disabled after repeated failures."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

from feeds import compliance, freshness
from feeds.webhook import ReminderWebhook, verify
from inventory.actors import SYSTEM
from tests.feeds.local_http import local_http_server

SECRET = "test-secret"


def later(server, minutes: float):
    moment = server.svc.clock() + timedelta(minutes=minutes)
    return dataclasses.replace(server.svc.system, clock=lambda: moment)


def webhook_for(server, url: str, **extra) -> ReminderWebhook:
    server.settings.reminder_webhook = {"url": url, "secret": SECRET, "max_failures": 2,
                                        "retries": 2, "backoff_seconds": 0.05, **extra}
    return ReminderWebhook(server.settings.reminder_webhook, server.svc.redis,
                           server.settings.redis_prefix)


async def test_stale_then_fresh_cycle_sends_one_signed_reminder(server):
    org = await server.org("Slow Updaters")
    program = await server.program(org, name="Quiet House", cadence_minutes=60)
    unit = await server.unit(program, capacity=6, available=2)
    with local_http_server() as hook:
        webhook = webhook_for(server, hook.url + "/remind")
        seq = await server.svc.live.current_seq()
        result = await freshness.check(later(server, 90), webhook)
        assert result["newly_stale"] == 1 and result["reminders_sent"] == 1
        events = await server.svc.live.events_after(seq)
        assert [(e.op, e.unit.id) for e in events] == [("stale", unit)]
        [call] = hook.received
        assert verify(SECRET, call.headers["X-Bedfinder-Timestamp"], call.body,
                      call.headers["X-Bedfinder-Signature"])
        assert not verify("wrong", call.headers["X-Bedfinder-Timestamp"], call.body,
                          call.headers["X-Bedfinder-Signature"])
        payload = json.loads(call.body)
        assert payload["organization_id"] == org and payload["units"][0]["unit_id"] == unit
        again = await freshness.check(later(server, 95), webhook)
        assert again["stale"] == 1 and again["newly_stale"] == 0 and len(hook.received) == 1
        async with server.client(await server.token("provider", org)) as http:
            assert (await http.post(f"/api/v1/units/{unit}/attest")).status_code == 200
        cleared = await freshness.check(later(server, 1), webhook)
        assert cleared == {"stale": 0, "newly_stale": 0, "cleared": 1, "reminders_sent": 0}
        async with server.client(await server.token("admin")) as http:
            status = (await http.get("/api/v1/feeds")).json()
    assert status["stale_units"] == 0 and status["reminder_webhook"]["sent"] == 1


async def test_failing_webhook_is_retried_then_disabled_with_a_reason(server):
    org = await server.org("Unreachable")
    program = await server.program(org, name="Far House", cadence_minutes=30)
    first = await server.unit(program, capacity=4, available=1)
    with local_http_server() as hook:
        hook.reply = lambda n: (500, "text/plain", b"down")
        webhook = webhook_for(server, hook.url)
        assert await freshness.check(later(server, 60), webhook)
        assert len(hook.received) == 2  # one try and one retry
        assert hook.received[1].at - hook.received[0].at >= 0.04  # backoff
        await server.unit(program, capacity=4, available=1)  # a second stale episode
        await server.svc.availability.attest(first, SYSTEM, "api")
        await freshness.check(later(server, 120), webhook)
        assert len(hook.received) == 4
        state = await webhook.state()
        assert state["disabled"] and "2 consecutive failed deliveries" in state["disabled_reason"]
        await freshness.check(later(server, 300), webhook)
        assert len(hook.received) == 4  # disabled: nothing sent
        async with server.client(await server.token("admin")) as http:
            shown = (await http.get("/api/v1/feeds")).json()["reminder_webhook"]
            assert shown["disabled"] and "HTTP 500" in shown["disabled_reason"]
            enabled = (await http.post("/api/v1/feeds/reminder-webhook/enable")).json()
        assert enabled["disabled"] is False and enabled["failures"] == 0


def test_colorado_noncompliance_rules():
    start, last = date(2026, 3, 1), date(2026, 3, 30)
    every_day = {start + timedelta(days=i) for i in range(30)}
    assert compliance.evaluate(every_day, start, last)["flagged"] is False
    two_gap = every_day - {date(2026, 3, 10), date(2026, 3, 11)}
    result = compliance.evaluate(two_gap, start, last)
    assert result["flagged"] and result["longest_gap_days"] == 2
    scattered = every_day - {date(2026, 3, d) for d in (2, 6, 12, 18, 24)}
    result = compliance.evaluate(scattered, start, last)
    assert result["flagged"] and result["longest_gap_days"] == 1 and result["missed_days"] == 5
    four = every_day - {date(2026, 3, d) for d in (2, 6, 12, 18)}
    assert compliance.evaluate(four, start, last)["flagged"] is False


async def test_program_without_updates_for_days_is_flagged(server):
    org = await server.org("Silent")
    program = await server.program(org, name="Silent House")
    await server.unit(program, capacity=3, available=1)
    programs = await server.svc.directory.programs()
    now = server.svc.clock()
    assert await compliance.noncompliance(server.svc.sessions, programs, now) == []
    flagged = await compliance.noncompliance(server.svc.sessions, programs,
                                             now + timedelta(days=4))
    assert [f["program_id"] for f in flagged] == [program]
    assert flagged[0]["longest_gap_days"] == 3
