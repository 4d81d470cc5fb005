"""No token reaches the log: the app runs under uvicorn with the production log config
(`bedfinder serve`'s JSON lines, here with uvicorn's access log on as well), is used with
tokens in headers, plain and percent-encoded query strings, paths and request ids, and the
whole log is then searched for every token minted."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from inventory.clock import utcnow
from inventory.config import Settings
from inventory.tokens import create_token
from tests.conftest import free_port
from web.app import create_app
from web.logs import json_config

SHUTDOWN_SECONDS = 20


def encode_all(text: str) -> str:
    """Every character percent-encoded: `%62%66%5F...`."""
    return "".join(f"%{ord(c):02X}" for c in text)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """dictConfig replaces handlers process-wide: put the test session's back afterwards."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers, logger.level, logger.propagate = handlers, level, propagate


@pytest.fixture
async def logged_app(settings: Settings, tmp_path: Path, restore_logging: None
                     ) -> AsyncIterator[tuple[str, Settings, Path]]:
    """The app with `bedfinder serve`'s log config, its one handler writing to a file."""
    log_file = tmp_path / "app.log"
    config = json_config("DEBUG")
    config["handlers"]["stdout"] = {**config["handlers"]["stdout"],
                                    "class": "logging.FileHandler",
                                    "filename": str(log_file)}
    del config["handlers"]["stdout"]["stream"]
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_config=config, access_log=True,
                                           lifespan="on", ws_max_size=65_536))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}", app.state.services, log_file
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=SHUTDOWN_SECONDS)


async def test_no_minted_token_appears_anywhere_in_the_log(logged_app) -> None:  # type: ignore[no-untyped-def]
    address, svc, log_file = logged_app
    org = (await svc.directory.create_organization("Harbor House", None)).id
    minted: list[str] = []

    async def mint(role: str, organization: str | None = None) -> str:
        token, _ = await create_token(svc.sessions, role, utcnow(), organization)
        minted.append(token)
        return token

    admin, provider = await mint("admin"), await mint("provider", org)
    navigator, display = await mint("navigator"), await mint("display")
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http:
        issued = await http.post("/api/v1/tokens", json={"role": "display"},
                                 headers={"Authorization": f"Bearer {admin}"})
        assert issued.status_code == 201
        minted.append(issued.json()["token"])
        for token in minted:
            bearer = {"Authorization": f"Bearer {token}"}
            assert (await http.get("/api/v1/programs", headers=bearer)).status_code == 200
            queries = [f"token={token}", f"x=1&tok%65n={token}", f"%74oken={token}",
                       f"x=1&token={encode_all(token)}", f"tok%2565n={quote(quote(token))}",
                       f"x=1&t={token[:3]}{encode_all(token[3:6])}{token[6:]}"]
            for query in queries:
                await http.get(f"/api/v1/programs?{query}", headers=bearer)
                await http.get(f"/?{query}")
            await http.get(f"/api/v1/units/{token}", headers=bearer)  # 404 with it in the path
            await http.get("/api/v1/programs", headers={**bearer, "X-Request-ID": token})
            await http.get("/api/v1/programs", headers={"Authorization": f"Bearer {token}x"})
    ws = f"ws://{address}/ws"
    for url in (f"{ws}/inventory?x=1&tok%65n={display}", f"{ws}/inventory?token={navigator}",
                f"{ws}/provider?%74oken={encode_all(provider)}"):
        async with connect(url) as socket:
            if "/provider" in url:
                await socket.send(orjson.dumps({"op": "attest", "unit_id": "nope"}).decode())
            await asyncio.wait_for(socket.recv(), 5)
    with pytest.raises(InvalidStatus):  # refused at the handshake: a revoked-looking token
        async with connect(f"{ws}/inventory?x=1&tok%65n={display}{secrets.token_hex(2)}"):
            pass
    await asyncio.sleep(0.2)  # the last lines reach the file
    log = log_file.read_text()
    lines = [orjson.loads(line) for line in log.splitlines()]
    # The search below saw the lines that would have carried the tokens:
    assert sum('"WebSocket /ws/inventory?x=1&token=[redacted]" [accepted]' in line["message"]
               for line in lines) == 1
    assert any("GET /api/v1/programs?x=1&token=[redacted] HTTP/1.1" in line["message"]
               for line in lines)
    assert any(line.get("request_id") == "bf_[redacted]" for line in lines)
    for token in minted:
        body = token.removeprefix("bf_")
        for leak in (token, body[:12], body[-12:], encode_all(token)[:30]):
            assert leak not in log, f"a token ({token[:6]}...) is in the log"
