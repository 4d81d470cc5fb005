"""The bare baseline: a plain `websockets` server that broadcasts each message it is sent.

    python -m bench.baseline --subscribers 1000 --rate 100 --seconds 20

A publisher sends `{"ref"}` on `/pub`; the server numbers it, broadcasts a message of the
app's shape and size (`{"type": "unit", "seq", ...}`) to every subscriber on `/sub` with
`websockets.broadcast`, and acknowledges with the seq. No Redis, no SQL, no framework: the
floor the app's fan-out is compared with (`bench.broadcast` runs both).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import orjson
import typer
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.common import free_port
from bench.drive import Result, Send, WsSender
from bench.harness import measure

DEFAULT_BYTES = 480


def message_template(size: int) -> bytes:
    """A unit message with a `%d` for the seq, padded (in its note) to about `size` bytes."""
    unit = {"id": "unit-0-0", "program_id": "prg-0", "organization_id": "org-0",
            "available": 3, "held": 0, "waitlist": 0, "capacity": 12, "status": "open",
            "updated_at": "2026-11-24T12:00:00+00:00", "updated_by": "provider",
            "source": "api", "stale": False, "seq": 1234567, "note": "",
            "expected_discharges": [], "label": "Pool 0", "kind": "bed"}
    base = {"type": "unit", "seq": 1234567, "op": "set", "unit": unit}
    pad = max(0, size - len(orjson.dumps(base)))
    unit["note"] = "x" * pad
    return orjson.dumps(base).replace(b"1234567", b"%d")


async def serve_forever(port: int, size: int) -> None:
    template = message_template(size)
    subscribers: set[ServerConnection] = set()
    seq = 1_000_000  # as many digits as the app's seqs, so sizes match

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        if ws.request is not None and ws.request.path.startswith("/pub"):
            async for raw in ws:
                seq += 1
                broadcast(subscribers, (template % (seq, seq)).decode())
                ref = orjson.loads(raw).get("ref")
                await ws.send(orjson.dumps({"type": "ack", "ref": ref, "seq": seq}).decode())
            return
        await ws.send('{"type":"hello"}')
        subscribers.add(ws)
        try:
            await ws.wait_closed()
        finally:
            subscribers.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await asyncio.Future()


@contextmanager
def baseline_server(size: int) -> Iterator[tuple[str, int]]:
    """The baseline server in its own process; yields (ws base URL, pid)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.baseline", "--serve", str(port),
                                "--message-bytes", str(size)])
    try:
        import socket

        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the baseline server did not start") from None
                time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(10)


def run(subscribers: int, rate: float, seconds: float, processes: int,
        size: int = DEFAULT_BYTES) -> Result:
    with baseline_server(size) as (url, pid):
        async def open_senders() -> tuple[list[Send], Callable[[], Awaitable[None]]]:
            sender = await WsSender.open(f"{url}/pub", lambda i: {})
            return [sender], sender.close

        return measure("baseline", f"{url}/sub", pid, subscribers, processes, rate,
                       seconds, open_senders)


def main(subscribers: int = 1000, rate: float = 100, seconds: float = 20,
         processes: int = 4, message_bytes: int = DEFAULT_BYTES,
         smoke: bool = typer.Option(False, help="Tiny and quick: checks it runs, loses nothing."),
         serve_port: int = typer.Option(0, "--serve", hidden=True)) -> None:
    if serve_port:
        asyncio.run(serve_forever(serve_port, message_bytes))
        return
    if smoke:
        subscribers, rate, seconds, processes = 20, 20, 1, 2
    result = run(subscribers, rate, seconds, processes, message_bytes)
    print(result.line())
    if not result.ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
