"""Two app processes on one Redis and one database: every alert goes out once per recipient
and channel, also when both run a pass at the same time with no lock between them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from bench.alert_receivers import PushService, SmtpServer
from inventory.alert_records import AlertDelivery
from inventory.alert_store import STUCK_SECONDS
from inventory.config import Settings
from tests.alerts.helpers import event, person, transition
from tests.alerts.test_delivery import WAIT, until
from tests.conftest import Server, serve

EVENTS = 12


@pytest.fixture
async def two(alert_settings: Settings) -> AsyncIterator[tuple[Server, Server]]:
    async for first in serve(alert_settings):
        async for second in serve(alert_settings):
            yield first, second


async def test_two_processes_send_each_alert_once_per_channel(
        two: tuple[Server, Server], smtp: SmtpServer, push_service: PushService) -> None:
    first, second = two
    lead = await person(first, "navigator", "lead@example.org")
    keys = push_service.browser("lead").subscription()["keys"]
    await first.svc.alerts.subscribe(lead, push_service.browsers["lead"].endpoint,
                                     keys["p256dh"], keys["auth"], first.svc.clock())
    trn = await transition(first, lead.token_id)
    for i in range(EVENTS):
        await event(first if i % 2 else second, trn, "bed_match")
        if i % 3 == 0:  # both also run passes at once, as if the lock had been lost
            await asyncio.gather(first.svc.alert_delivery.work(),
                                 second.svc.alert_delivery.work())
    await until(first, lambda c: c.get("sent") == EVENTS * 3 and not c.get("pending")
                and not c.get("sending"))
    mails = [await asyncio.wait_for(smtp.inbox.get(), WAIT) for _ in range(EVENTS)]
    pushes = [await asyncio.wait_for(push_service.inbox.get(), WAIT) for _ in range(EVENTS)]
    assert smtp.inbox.empty() and push_service.inbox.empty()
    assert Counter(m.to[0] for m in mails) == {"lead@example.org": EVENTS}
    assert len({p.payload["alert_id"] for p in pushes}) == EVENTS
    assert first.svc.alert_delivery.passes + second.svc.alert_delivery.passes > 0


async def test_a_delivery_whose_process_stopped_mid_send_is_failed_not_resent(
        alert_server: Server, smtp: SmtpServer) -> None:
    server = alert_server
    lead = await person(server, "navigator", "lead@example.org")
    trn = await transition(server, lead.token_id)
    store = server.svc.alerts
    await store.record_new(server.svc.clock())  # nothing yet: the cursor is set
    await event(server, trn, "lapsed")
    await asyncio.wait_for(smtp.inbox.get(), WAIT)  # the first is sent as usual
    await until(server, lambda c: c == {"sent": 2})
    # A claim made by a process that then died: claimed long ago, never finished.
    async with server.svc.sessions() as session, session.begin():
        await session.execute(update(AlertDelivery).where(AlertDelivery.channel == "email")
                              .values(status="sending", claimed_at=server.svc.clock()
                                      - timedelta(seconds=STUCK_SECONDS + 1)))
    # The next pass gives up on it, and never sends it again.
    counts = await until(server, lambda c: c.get("failed") == 1 and not c.get("sending"))
    assert counts == {"failed": 1, "sent": 1}  # the live one was sent
    assert smtp.inbox.empty()
