"""One broadcast measurement: connect the crowd, drive updates, collect what arrived.

Used alike for the app and the bare baseline server, so the two differ only in the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.common import percentiles
from bench.drive import CpuMeter, Result, Send, paced, rss
from bench.subscribers import Crowd, delivery

DELIVERY_WAIT = 20.0


def measure(name: str, url: str, server_pid: int, subscribers: int, processes: int,
            rate: float, seconds: float,
            open_senders: Callable[[], Awaitable[tuple[list[Send], Callable[[], Awaitable[None]]]]],
            on_ready: Callable[[], object] | None = None) -> Result:
    """Connect `subscribers` to `url`, then send at `rate` through the senders that
    `open_senders` makes (it also returns how to close them)."""
    before = rss(server_pid)
    crowd = Crowd(url, subscribers, processes)
    try:
        crowd.wait_ready()
        time.sleep(0.5)
        per_connection = (rss(server_pid) - before) / subscribers / 1024
        if on_ready is not None:
            on_ready()
        cpu = CpuMeter(server_pid)

        async def drive():  # type: ignore[no-untyped-def]
            senders, close = await open_senders()
            try:
                return await paced(rate, seconds, senders)
            finally:
                await close()

        driven = asyncio.run(drive())
        for error, n in driven.errors.items():
            print(f"  {n} not acknowledged: {error}")
        cpu_percent = cpu.percent()
        if driven.sent:
            crowd.wait_delivered(max(driven.sent), DELIVERY_WAIT)
    finally:
        tally = crowd.finish()
    got = delivery(driven.sent, tally, subscribers)
    stats = percentiles(got.latencies_ms or [float("nan")])
    acks = percentiles(driven.ack_ms or [float("nan")])
    return Result(name=name, subscribers=subscribers, rate=rate, seconds=seconds,
                  p50=stats["p50"], p99=stats["p99"], max=stats["max"], lost=got.lost,
                  failed=driven.failed, acked_per_second=driven.acked_per_second,
                  cpu_percent=cpu_percent, rss_per_connection_kb=per_connection,
                  message_bytes=got.message_bytes, out_of_order=tally.out_of_order,
                  closed=tally.closed, ack_p50=acks["p50"], ack_p99=acks["p99"])
