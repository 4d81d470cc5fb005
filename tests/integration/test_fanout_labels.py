"""The fan-out labels a count change from the directory as of that change: each stream entry
carries the directory's version (`change.lua`), so a process whose cache is at that version
asks Redis nothing on the way to its subscribers, and a rename still shows in the next
change's message."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from tests.conftest import Server
from tests.integration.live_helpers import inventory_url, next_message
from web.api.events import encode


async def test_a_change_is_labelled_without_asking_redis_when_the_cache_is_current(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=4, label="Women's beds")
    token = await server.token("provider", org)
    async with server.client(token) as client:
        put = await client.put(f"/api/v1/units/{unit}/availability", json={"available": 2})
    assert put.status_code == 200, put.text
    svc = server.svc
    [event] = await svc.live.events_after(put.json()["seq"] - 1) or []
    assert event.directory_version == str(
        int(await svc.redis.get(svc.directory.version_key) or 0))
    await svc.directory.programs()  # the cache is current
    asked: list[Any] = []
    real_get = svc.redis.get

    async def get(key: Any) -> Any:
        asked.append(key)
        return await real_get(key)

    monkeypatch.setattr(svc.redis, "get", get)
    [message] = await encode(svc.system, [event])
    assert asked == []
    assert (message["unit"]["label"], message["unit"]["available"]) == ("Women's beds", 2)


async def test_a_renamed_unit_shows_its_new_label_on_the_next_change(server: Server) -> None:
    org = await server.org()
    unit = await server.unit(await server.program(org), capacity=4, label="Beds")
    provider, admin = await server.token("provider", org), await server.token("admin")
    navigator = await server.token("navigator")
    async with connect(inventory_url(server, navigator)) as ws:
        await next_message(ws, "snapshot")
        async with server.client(provider) as client:
            await client.put(f"/api/v1/units/{unit}/availability", json={"available": 1})
        first = await next_message(ws, "unit")
        async with server.client(admin) as client:
            renamed = await client.patch(f"/api/v1/units/{unit}", json={"label": "Women's beds"})
            assert renamed.status_code == 200, renamed.text
        async with server.client(provider) as client:
            await client.put(f"/api/v1/units/{unit}/availability", json={"available": 3})
        while (message := await next_message(ws, "unit"))["unit"]["available"] != 3:
            pass
    assert first["unit"]["label"] == "Beds"
    assert message["unit"]["label"] == "Women's beds", orjson.dumps(message)
