"""Web Push subscriptions: the public VAPID key a browser subscribes with, and keeping or
dropping a browser's subscription for the signed-in person or token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse
from pydantic import Field

from inventory.actors import ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR, Actor
from web.api.deps import services
from web.auth import require
from web.pages import STATIC
from web.schemas import Strict
from web.services import Services

router = APIRouter(prefix="/api/v1/push", tags=["alerts"])
# The service worker is served from the site's root: a worker's scope cannot be wider than
# the folder it is served from, and it must cover every page.
worker = APIRouter(include_in_schema=False)
SERVICE_WORKER = STATIC / "sw.js"
Svc = Annotated[Services, Depends(services)]
Alerted = Annotated[Actor, Depends(require(ADMIN, NAVIGATOR, PROVIDER, SUPERVISOR))]
B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


class Keys(Strict):
    p256dh: str = Field(min_length=80, max_length=100, pattern=B64URL, description=(
        "The browser's P-256 public key, base64url (PushSubscription.getKey('p256dh'))."))
    auth: str = Field(min_length=16, max_length=32, pattern=B64URL, description=(
        "The browser's 16-byte auth secret, base64url."))


class SubscriptionIn(Strict):
    endpoint: str = Field(min_length=12, max_length=1000, pattern=r"^https?://\S+$",
                          description="The push service's URL for this browser.")
    keys: Keys
    expirationTime: float | None = None


class EndpointIn(Strict):
    endpoint: str = Field(min_length=12, max_length=1000)


@router.get("/public-key")
async def public_key(svc: Svc, actor: Alerted) -> dict[str, str]:
    """The VAPID public key (base64url) to pass as `applicationServerKey`."""
    return {"public_key": await svc.pusher.public_key()}


@router.post("/subscriptions", status_code=201)
async def subscribe(body: SubscriptionIn, svc: Svc, actor: Alerted) -> dict[str, Any]:
    """Send this browser your alerts as notifications (subscribing again is harmless)."""
    subscription_id = await svc.alerts.subscribe(actor, body.endpoint, body.keys.p256dh,
                                                 body.keys.auth, svc.clock())
    return {"id": subscription_id}


@router.delete("/subscriptions", status_code=204)
async def unsubscribe(body: EndpointIn, svc: Svc, actor: Alerted) -> Response:
    """Stop notifications to this browser."""
    await svc.alerts.unsubscribe(actor, body.endpoint)
    return Response(status_code=204)


@worker.get("/sw.js")
async def service_worker() -> FileResponse:
    return FileResponse(SERVICE_WORKER, media_type="text/javascript; charset=utf-8",
                        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})
