"""CPU time of a write through the whole app, in process, without uvicorn or a socket.

    python -m bench.write_cpu --requests 8000 [--batch 100] [--repeats 3]

Builds the app (`web.app:app_factory`) on the embedded defaults with `bench.ingest`'s
directory and 500 provider tokens, runs its lifespan, and calls the ASGI app directly from
16 concurrent tasks: `PUT /api/v1/units/{id}/availability` (or, with `--batch N`, `PUT
/api/v1/availability` with N units). Prints the process's CPU (`time.process_time`, threads
included: aiosqlite's too) per request and per unit update, for each repeat. With no HTTP
parsing and no load generator in the process, this moves less with the machine's other load
than `bench.ingest` does, and it is the figure to compare commits by; `--bare` measures the
bare FastAPI app of `bench/bare_api.py` the same way.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import typer

from bench.common import bench_settings
from bench.directory import provider_tokens, small_directory
from bench.ingest import BARE, batches, singles

CALLERS = 16
Call = Callable[[int], Awaitable[tuple[int, bytes]]]


async def asgi_put(app: Any, path: str, token: str, body: bytes) -> tuple[int, bytes]:
    """One request straight into the ASGI app; returns (status, body)."""
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "PUT", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5555),
             "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"authorization", f"Bearer {token}".encode())]}
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def requests(app: Any, units: list[str], tokens: list[str], batch: int) -> Call:
    """`bench.ingest`'s requests (the same paths, bodies and tokens), sent into the app."""
    make = batches(units, tokens, batch) if batch else singles(units, tokens)

    def call(i: int) -> Awaitable[tuple[int, bytes]]:
        path, body, token = make(i)
        return asgi_put(app, path, token, body)
    return call


async def measure(factory: str, units: list[str], tokens: list[str], count: int, batch: int,
                  repeats: int) -> list[float]:
    module, name = factory.split(":")
    app = getattr(__import__(module, fromlist=[name]), name)()
    async with app.router.lifespan_context(app):
        call = requests(app, units, tokens, batch)
        for i in range(min(500, count)):  # warm: token cache, pools, scripts loaded
            status, reply = await call(i)
            assert status == 200, (status, reply)

        async def caller(first: int) -> None:
            for i in range(first, count, CALLERS):
                status, reply = await call(i)
                assert status == 200, (status, reply)

        per_request = []
        for _ in range(repeats):
            start = time.process_time()
            await asyncio.gather(*(caller(k) for k in range(CALLERS)))
            per_request.append((time.process_time() - start) * 1000 / count)
    return per_request


def main(requests_: int = typer.Option(8000, "--requests"), batch: int = 0, repeats: int = 3,
         bare: bool = typer.Option(False, help="The bare FastAPI app instead."),
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs.")) -> None:
    if smoke:
        requests_, repeats = 200, 1
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    with bench_settings() as settings:
        units = small_directory(settings, programs=max(20, batch // 5 + 1))
        tokens = provider_tokens(settings, 500)
        os.environ.update(BEDFINDER_REDIS_URL=settings.redis_url or "",
                          BEDFINDER_DATABASE_URL=settings.sqlalchemy_url(),
                          BEDFINDER_REDIS_PREFIX=settings.redis_prefix,
                          BEDFINDER_DATA_DIR=str(settings.data_dir))
        factory = BARE if bare else "web.app:app_factory"
        runs = asyncio.run(measure(factory, units, tokens, requests_, batch, repeats))
    what = f"batches of {batch}" if batch else "one unit per PUT"
    shown = " ".join(f"{ms:.3f}" for ms in runs)
    line = (f"{'bare FastAPI' if bare else 'Bedfinder'}, {what}, {requests_} requests x "
            f"{len(runs)}: CPU per request {shown} ms (median {statistics.median(runs):.3f})")
    if batch:
        line += f"; per unit update {statistics.median(runs) / batch:.4f} ms"
    print(line)


if __name__ == "__main__":
    typer.run(main)
