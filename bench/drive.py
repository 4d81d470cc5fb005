"""Sending updates at a fixed rate and timing them, for the broadcast benchmarks.

Sends are scheduled open-loop (update i leaves at start + i / rate, whether or not earlier
ones were answered), so a slow server shows up as latency, not as a lower offered rate.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psutil
from websockets.asyncio.client import ClientConnection, connect

Send = Callable[[int], Awaitable[int]]  # update number -> acknowledged seq


@dataclass
class Driven:
    sent: dict[int, float] = field(default_factory=dict)  # acknowledged seq -> send time
    ack_ms: list[float] = field(default_factory=list)  # send to acknowledgement
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # first words of each failure
    elapsed: float = 0.0

    @property
    def acked_per_second(self) -> float:
        return len(self.sent) / self.elapsed if self.elapsed else 0.0


async def paced(rate: float, seconds: float, senders: list[Send]) -> Driven:
    """Send `rate * seconds` updates, taking turns between `senders`."""
    driven = Driven()
    total = int(rate * seconds)
    start = time.monotonic()

    async def one(i: int) -> None:
        at = time.monotonic()
        try:
            seq = await senders[i % len(senders)](i)
        except Exception as error:  # noqa: BLE001 (counted: every update should be acked)
            driven.failed += 1
            key = f"{type(error).__name__}: {str(error)[:60]}"
            driven.errors[key] = driven.errors.get(key, 0) + 1
            return
        driven.sent[seq] = at
        driven.ack_ms.append((time.monotonic() - at) * 1000)

    tasks = []
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    driven.elapsed = time.monotonic() - start
    return driven


class WsSender:
    """One provider websocket; replies are matched to requests by `ref`."""

    def __init__(self, ws: ClientConnection, message: Callable[[int], dict[str, Any]]) -> None:
        self.ws = ws
        self.message = message
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.refs = itertools.count(1)
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, message: Callable[[int], dict[str, Any]]) -> WsSender:
        return cls(await connect(url, compression=None, max_queue=None), message)

    async def _read(self) -> None:
        async for raw in self.ws:
            reply = orjson.loads(raw)
            future = self.pending.pop(reply.get("ref"), None)
            if future is not None and not future.done():
                future.set_result(reply)

    async def __call__(self, i: int) -> int:
        ref = next(self.refs)
        future = asyncio.get_running_loop().create_future()
        self.pending[ref] = future
        await self.ws.send(orjson.dumps({**self.message(i), "ref": ref}).decode())
        reply = await asyncio.wait_for(future, 30)
        if reply.get("type") != "ack":
            raise RuntimeError(f"not acknowledged: {reply}")
        return int(reply["seq"])

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


class CpuMeter:
    """CPU used by a process (and its children) over a window, as a share of one core."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = (self._cpu(), time.monotonic())

    def _cpu(self) -> float:
        total = sum(self.process.cpu_times()[:2])
        for child in self.process.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
        return total

    def percent(self) -> float:
        cpu, at = self.start
        return 100 * (self._cpu() - cpu) / max(time.monotonic() - at, 1e-9)


def rss(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn's workers)."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


@dataclass
class Result:
    """One broadcast run, as printed and compared."""

    name: str
    subscribers: int
    rate: float
    seconds: float
    p50: float
    p99: float
    max: float
    lost: int
    failed: int
    acked_per_second: float
    cpu_percent: float
    rss_per_connection_kb: float
    message_bytes: int
    out_of_order: int
    closed: dict[int, int]
    ack_p50: float = 0.0
    ack_p99: float = 0.0

    def line(self) -> str:
        return (f"{self.name:>8}: {self.subscribers} subscribers, {self.rate:g} updates/s for "
                f"{self.seconds:g} s ({self.message_bytes} B messages): to the last subscriber "
                f"p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms, max {self.max:.1f} ms "
                f"(acknowledged: p50 {self.ack_p50:.1f} ms, p99 {self.ack_p99:.1f} ms); "
                f"lost {self.lost}, unacknowledged {self.failed}, out of order "
                f"{self.out_of_order}, cut {sum(self.closed.values())}; "
                f"{self.acked_per_second:.0f} acked/s; server CPU {self.cpu_percent:.0f}% of a "
                f"core, {self.rss_per_connection_kb:.1f} KB RSS per connection")

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.failed == 0 and self.out_of_order == 0
