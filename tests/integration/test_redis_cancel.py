"""Tasks cancelled in the middle of Redis commands all end: an app's shutdown cancels every
task at once, and with redis-py 8's default socket timeout some of them, cancelled while
sending, waited forever on Python 3.11 (a test's teardown hung 300 s in CI)."""

from __future__ import annotations

import asyncio
import random
import secrets

from inventory.system import connect_redis

ROUNDS = 60
TASKS = 40


async def test_commands_cancelled_mid_flight_always_end(redis_url: str) -> None:
    key = f"bf-test-cancel-{secrets.token_hex(4)}"
    redis = connect_redis(redis_url)
    running = asyncio.Event()
    try:
        async def busy() -> None:
            while True:
                await redis.incr(key)
                running.set()

        for round_ in range(ROUNDS):
            running.clear()
            tasks = [asyncio.create_task(busy()) for _ in range(TASKS)]
            await running.wait()  # commands are in flight from here
            await asyncio.sleep(random.random() * 0.01)
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait(tasks, timeout=5)
            assert not stuck, f"round {round_}: {len(stuck)} of {TASKS} tasks never ended"
        assert int(await redis.get(key) or 0) >= ROUNDS
    finally:
        await redis.delete(key)
        await redis.aclose()
