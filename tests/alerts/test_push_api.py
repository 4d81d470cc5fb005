"""Push subscriptions, the VAPID key and the service worker, through the real app."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.alert_receivers import PushService, unb64url
from inventory.alert_records import PushSubscription, VapidKey
from tests.conftest import Server


async def test_the_vapid_key_is_made_once_and_kept(alert_server: Server) -> None:
    server = alert_server
    token = await server.token("navigator")
    async with server.client(token) as client:
        first = (await client.get("/api/v1/push/public-key")).json()["public_key"]
        again = (await client.get("/api/v1/push/public-key")).json()["public_key"]
    assert first == again
    assert len(unb64url(first)) == 65 and unb64url(first)[0] == 4  # uncompressed P-256 point
    async with server.svc.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(VapidKey)) == 1


async def test_a_browser_subscribes_and_unsubscribes(alert_server: Server,
                                                     push_service: PushService) -> None:
    server = alert_server
    token = await server.token("navigator")
    browser = push_service.browser("nav")
    async with server.client(token) as client:
        made = await client.post("/api/v1/push/subscriptions", json=browser.subscription())
        assert made.status_code == 201, made.text
        again = await client.post("/api/v1/push/subscriptions", json=browser.subscription())
        assert again.json()["id"] == made.json()["id"]
        gone = await client.request("DELETE", "/api/v1/push/subscriptions",
                                    json={"endpoint": browser.endpoint})
        assert gone.status_code == 204
        missing = await client.request("DELETE", "/api/v1/push/subscriptions",
                                       json={"endpoint": browser.endpoint})
        assert missing.status_code == 404


async def test_a_bad_subscription_is_refused_saying_why_and_nothing_is_kept(
        alert_server: Server, push_service: PushService) -> None:
    server = alert_server
    token = await server.token("navigator")
    body = push_service.browser("nav").subscription()
    body["keys"]["p256dh"] = "not a key"
    async with server.client(token) as client:
        refused = await client.post("/api/v1/push/subscriptions", json=body)
        display = await server.token("display")
        async with server.client(display) as reader:
            forbidden = await reader.post("/api/v1/push/subscriptions",
                                          json=push_service.browser("d").subscription())
    assert refused.status_code == 422 and "p256dh" in refused.text
    assert forbidden.status_code == 403
    async with server.svc.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PushSubscription)) == 0


async def test_the_service_worker_is_served_from_the_root(alert_server: Server) -> None:
    server = alert_server
    async with server.client() as client:
        worker = await client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/"
    assert "showNotification" in worker.text


async def test_a_subscription_must_point_at_a_configured_push_service(
        alert_server: Server, push_service: PushService) -> None:
    token = await alert_server.token("navigator")
    body = push_service.browser("nav").subscription()
    async with alert_server.client(token) as client:
        for endpoint in ("http://10.0.0.5/admin", "https://intranet.example.org/push/x",
                         "http://127.0.0.1.evil.example/push"):
            refused = await client.post("/api/v1/push/subscriptions",
                                        json={**body, "endpoint": endpoint})
            assert refused.status_code == 422, endpoint
            assert "not one of the push services" in refused.json()["detail"], refused.text
