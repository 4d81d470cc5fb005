"""Freshness computed in SQL gives the same table as the old measure that loaded every
audit row into Python (kept in bench/freshness.py), on a jittered history with units of a
program confirming in the same minute, long silences, and range ends off the minute."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.freshness import START, freshness_in_python, seed
from inventory.measures import Question, answer


async def test_freshness_in_sql_equals_the_row_by_row_measure(
        sessions: async_sessionmaker) -> None:
    rows = await seed(sessions, days=6, programs=6, every=20, rng=random.Random(3))
    assert rows > 2000
    for start, end in ((START, START + timedelta(days=6)),
                       (START + timedelta(hours=7, seconds=31),
                        START + timedelta(days=4, minutes=13, seconds=5))):
        q = Question(start=start, end=end, now=START + timedelta(days=5), default_cadence=45)
        expected = (await freshness_in_python(sessions, q)).rows
        got = (await answer("freshness", sessions, q)).rows
        assert got == expected
        assert any(r["hours_stale"] for r in got) and all(r["updates"] for r in got)


async def test_a_program_silent_for_the_whole_range_is_stale_for_it(
        sessions: async_sessionmaker) -> None:
    await seed(sessions, days=1, programs=2, every=20, rng=random.Random(1))
    later = START + timedelta(days=3)
    q = Question(start=later, end=later + timedelta(hours=10), now=later + timedelta(days=1))
    got = (await answer("freshness", sessions, q)).rows
    # p0 has a 30-minute cadence, p1 60 minutes: stale for the range less one cadence.
    assert {(r["program_id"], r["updates"], r["hours_stale"]) for r in got} == {
        ("p0", 0, 9.5), ("p1", 0, 9.0)}
