"""Alert tests run the real app with a real SMTP server and a real push endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.alert_receivers import PushService, SmtpServer
from inventory.config import Settings
from tests.conftest import Server, free_port, serve


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
def alert_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={
        "smtp": settings.smtp.model_copy(update={
            "host": "127.0.0.1", "port": smtp.port, "starttls": False}),
        "alerts": settings.alerts.model_copy(update={"poll_seconds": 0.5,
                                                     "push_hosts": ["127.0.0.1"]}),
    })


@pytest.fixture
async def alert_server(alert_settings: Settings) -> AsyncIterator[Server]:
    async for running in serve(alert_settings):
        yield running
