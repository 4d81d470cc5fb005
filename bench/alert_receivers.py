"""Real receivers of alerts, for tests and bench/alerts.py: an SMTP server (aiosmtpd) and a
Web Push endpoint that checks the VAPID signature and decrypts each payload with the
subscription's own keys, as a browser would. Each hands what it received to an asyncio
queue the caller awaits."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import http_ece
from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Mail:
    to: list[str]
    message: Message
    at: float

    @property
    def text(self) -> str:
        body = self.message.get_payload(decode=True)
        assert isinstance(body, bytes)
        return body.decode()


class SmtpServer:
    """aiosmtpd on a free port in its own thread; received mails go to `self.inbox`."""

    def __init__(self, port: int) -> None:
        self.inbox: asyncio.Queue[Mail] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.port = port
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = Mail(list(envelope.rcpt_tos), message_from_bytes(envelope.content),
                    self.loop.time())
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, mail)
        return "250 OK"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Browser:
    """A browser's push subscription: its own ECDH key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key,
                                           auth_secret=self.auth, version="aes128gcm"))


@dataclass
class Push:
    browser: str
    payload: dict[str, Any]
    vapid_key: str
    claims: dict[str, Any]
    at: float


def verify_vapid(header: str) -> tuple[str, dict[str, Any]]:
    """Check `Authorization: vapid t=<JWT>, k=<key>`: the JWT is ES256-signed by key k.
    Returns (k, claims); raises on a bad signature."""
    scheme, _, params = header.partition(" ")
    assert scheme.lower() == "vapid", header
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = fields["t"], fields["k"]
    head, claims, signature = token.split(".")
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    return key, json.loads(unb64url(claims))


class PushService:
    """A push service at http://127.0.0.1:<port>/push/<name>: decrypts what it receives with
    the named browser's keys and queues it; `/gone/<name>` answers 410 like a forgotten
    subscription."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Push] = asyncio.Queue()
        self.browsers: dict[str, Browser] = {}
        self.refused: list[str] = []
        self.port = 0
        self.runner: web.AppRunner | None = None

    def browser(self, name: str) -> Browser:
        made = self.browsers[name] = Browser(f"http://127.0.0.1:{self.port}/push/{name}")
        return made

    async def receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            key, claims = verify_vapid(request.headers["Authorization"])
        except (KeyError, InvalidSignature, AssertionError) as error:
            self.refused.append(f"{name}: {error!r}")
            return web.Response(status=401)
        body = await request.read()
        payload = self.browsers[name].decrypt(body)
        self.inbox.put_nowait(Push(name, payload, key, claims, asyncio.get_running_loop().time()))
        return web.Response(status=201)

    async def gone(self, request: web.Request) -> web.Response:
        return web.Response(status=410)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{name}", self.receive)
        app.router.add_post("/gone/{name}", self.gone)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
