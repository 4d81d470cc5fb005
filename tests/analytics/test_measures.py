"""Each measure on a small hand-built history; every expected number is worked out by hand
from the counts drawn in conftest.directory or in the test itself."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from inventory import history
from inventory.errors import Invalid
from inventory.measures import Question, answer
from inventory.records import Hold, Referral, Transition
from tests.analytics.conftest import RES, WM, at

PATHWAYS = {WM: [RES, "recovery_residence"], RES: ["recovery_residence"]}


def ask(hours: float = 8, **kw: object) -> Question:
    values = {"start": at(0), "end": at(hours), "now": at(0, days=1), "pathways": PATHWAYS}
    values.update(kw)
    return Question(**values)  # type: ignore[arg-type]


def rows_by(table, *keys: str) -> dict:  # type: ignore[no-untyped-def]
    return {tuple(r[k] for k in keys): r for r in table.rows}


async def test_zero_hours_per_level_city_wide(directory: async_sessionmaker) -> None:
    # WM is at zero when a1 and a2 both are: 02:00-03:30 and 05:00-06:00 = 2.5 h.
    # RES (b1 alone): 04:00-04:45 = 0.75 h.
    table = await answer("zero_hours", directory, ask())
    got = rows_by(table, "level")
    assert got[(WM,)]["hours_at_zero"] == 2.5
    assert got[(RES,)]["hours_at_zero"] == 0.75
    assert {r["period_start"] for r in table.rows} == {"2026-03-02"}


async def test_zero_hours_per_level_and_area(directory: async_sessionmaker) -> None:
    # a1 (Mission) is at zero 02:00-06:00 = 4 h; a2 (Bayview) 00:00-03:30 and 05:00-08:00
    # = 6.5 h; b1 (Mission) 0.75 h.
    table = await answer("zero_hours", directory, ask(by_area=True))
    got = {(r["level"], r["area"]): r["hours_at_zero"] for r in table.rows}
    assert got == {(WM, "Mission"): 4.0, (WM, "Bayview"): 6.5, (RES, "Mission"): 0.75}
    one = await answer("zero_hours", directory, ask(area="Bayview"))
    assert [(r["level"], r["hours_at_zero"]) for r in one.rows] == [(WM, 6.5)]


async def test_partial_hours_not_rolled_up_give_the_same_answer(
        directory: async_sessionmaker) -> None:
    # Asked at 08:00 the last hour is not rolled up yet (it settles for 2 minutes): it is
    # replayed in memory, and the answer is the same as from stored roll-ups.
    fresh = await answer("zero_hours", directory, ask(now=at(8)))
    async with directory() as session:
        assert await history.rolled_until(session) == at(7)
    stored = await answer("zero_hours", directory, ask())
    async with directory() as session:
        assert await history.rolled_until(session) == at(23)
    assert fresh.rows == stored.rows


async def test_zero_by_hour_of_day_in_the_asked_time_zone(
        directory: async_sessionmaker) -> None:
    # WM at zero: 1 h in hour 2, 0.5 h in hour 3 (until 03:30), 1 h in hour 5.
    table = await answer("zero_by_hour", directory, ask(levels=(WM,)))
    got = {r["hour_of_day"]: r["hours_at_zero"] for r in table.rows}
    assert got == {0: 0, 1: 0, 2: 1.0, 3: 0.5, 4: 0, 5: 1.0, 6: 0, 7: 0}
    assert rows_by(table, "hour_of_day")[(3,)]["share_of_time_at_zero"] == 0.5
    # In Los Angeles (UTC-8 in March before DST) hour 2 UTC is 18:00 of the day before.
    local = await answer("zero_by_hour", directory,
                         ask(levels=(WM,), tz=ZoneInfo("America/Los_Angeles")))
    assert {r["hour_of_day"]: r["hours_at_zero"] for r in local.rows}[18] == 1.0


async def test_occupancy_weighs_beds_by_time(directory: async_sessionmaker) -> None:
    # WM: 6 beds x 8 h = 48 bed-hours. Available: a1 1x2 + 2x2 = 6; a2 1 x 1.5 = 1.5.
    # Occupancy = 1 - 7.5/48 = 0.84375. RES: b1 5x4 + 3x3.25 = 29.75 of 80 -> 0.628125.
    table = await answer("occupancy", directory, ask())
    got = rows_by(table, "level")
    assert got[(WM,)]["occupancy"] == 0.8438
    assert got[(WM,)]["available_bed_hours"] == 7.5
    assert got[(RES,)]["occupancy"] == 0.6281
    # All levels: 1 - (7.5 + 29.75) / (48 + 80) = 0.708984...
    assert got[("all",)]["occupancy"] == 0.709


async def test_availability_of_one_program_lists_its_changes(
        directory: async_sessionmaker) -> None:
    table = await answer("availability", directory, ask(start=at(3), program="pa2"))
    assert [(r["op"], r["available"]) for r in table.rows] == [
        ("start", 0), ("set", 1), ("set", 0)]
    with pytest.raises(Invalid):
        await answer("availability", directory, ask(unit="nope"))


async def test_holds_outcomes_and_time_to_admission(directory: async_sessionmaker) -> None:
    def hold(hid: str, status: str, minutes: float | None) -> Hold:
        ended = at(1) + timedelta(minutes=minutes) if minutes is not None else None
        return Hold(id=hid, unit_id="a1", client_ref=None, status=status, created_by="n",
                    created_at=at(1), expires_at=at(3), ended_at=ended)

    async with directory() as session, session.begin():
        session.add_all([hold("h1", "admitted", 30), hold("h2", "admitted", 90),
                         hold("h3", "expired", 120), hold("h4", "released", 10),
                         hold("h5", "active", None)])
    # Ended: 4, admitted 2 -> share 0.5; median of 30 and 90 minutes = 60.
    got = rows_by(await answer("holds", directory, ask()), "level")[(WM,)]
    assert (got["holds"], got["admitted"], got["released"], got["expired_unused"],
            got["active"]) == (5, 2, 1, 1, 1)
    assert got["share_admitted"] == 0.5
    assert got["median_minutes_to_admission"] == 60


async def test_transitions_placement_time_and_lapses(directory: async_sessionmaker) -> None:
    def moved(tid: str, status: str, ended_h: float | None, discharge_h: float,
              to: str | None = None) -> Transition:
        return Transition(id=tid, client_ref=None, from_program_id="pa1", from_level=WM,
                          discharge_at=at(discharge_h), needs={}, navigator="n",
                          status=status, hold_id=None, to_level=to, created_at=at(0),
                          ended_at=at(ended_h) if ended_h is not None else None)

    async with directory() as session, session.begin():
        session.add_all([
            moved("t1", "placed", 10, 9, RES), moved("t2", "placed", 20, 18, RES),
            # Residential had no bed 04:00-04:45: 45 min of the 04:00 hour, so t3 lapsed
            # while it was full; at 06:30 it had beds.
            moved("t3", "lapsed", 6.2, 4.2), moved("t4", "lapsed", 8.5, 6.5),
            moved("t5", "cancelled", 1, 7)])
    table = await answer("transitions", directory, ask())
    assert len(table.rows) == 1
    got = table.rows[0]
    assert (got["from_level"], got["to_level"]) == (WM, RES)
    assert (got["registered"], got["placed"], got["lapsed"], got["cancelled"]) == (5, 2, 2, 1)
    assert got["median_hours_to_placement"] == 15
    assert got["lapsed_while_to_level_full"] == 1


async def test_referrals_acknowledgement_and_declines(directory: async_sessionmaker) -> None:
    def referral(rid: str, status: str, ack: float | None, responded: float | None,
                 reason: str | None = None) -> Referral:
        sent = at(1)
        return Referral(
            id=rid, group_id="g", client_ref=None, program_id="pb1", navigator="n", needs={},
            note="", status=status, decline_reason=reason, hold_id=None, transition_id=None,
            created_at=sent, expires_at=at(5),
            acknowledged_at=sent + timedelta(minutes=ack) if ack is not None else None,
            responded_at=sent + timedelta(minutes=responded) if responded is not None else None)

    async with directory() as session, session.begin():
        session.add_all([referral("r1", "accepted", 10, 60),
                         referral("r2", "declined", 45, 50, "no_bed"),
                         referral("r3", "declined", 29, 40, "eligibility"),
                         referral("r4", "expired", None, None)])
    got = rows_by(await answer("referrals", directory, ask()), "level")[(RES,)]
    # Acknowledged within 30 minutes: r1 (10) and r3 (29) of 4 sent.
    assert got["acknowledged_within_30_min"] == 2
    assert got["share_acknowledged_within_30_min"] == 0.5
    assert (got["accepted"], got["declined"], got["expired"]) == (1, 2, 1)
    assert got["median_minutes_to_acceptance"] == 60
    declined = await answer("declines", directory, ask())
    assert {r["reason"]: (r["declines"], r["share"]) for r in declined.rows} == {
        "no_bed": (1, 0.5), "eligibility": (1, 0.5)}


async def test_freshness_median_gap_and_hours_stale(directory: async_sessionmaker) -> None:
    # pa1 (cadence 60 min) spoke at 00:00, 02:00, 06:00; the range ends 08:00. Gaps 2 h, 4 h,
    # 2 h; stale beyond the hour: 1 + 3 + 1 = 5 h. Median between updates: 120, 240 -> 180.
    # pa2 spoke at 00:00, 03:30, 05:00: gaps 3.5, 1.5, 3 h -> 2.5 + 0.5 + 2 = 5 h; median 150.
    got = rows_by(await answer("freshness", directory, ask(levels=(WM,))), "program_id")
    assert (got[("pa1",)]["updates"], got[("pa1",)]["median_minutes_between_updates"],
            got[("pa1",)]["hours_stale"]) == (3, 180, 5.0)
    assert (got[("pa2",)]["median_minutes_between_updates"],
            got[("pa2",)]["hours_stale"]) == (150, 5.0)
    assert ("pb1",) not in got


async def test_caseloads_peak_per_day_against_the_balanced_load(
        directory: async_sessionmaker) -> None:
    def case(tid: str, nav: str, start: tuple[float, int], end: tuple[float, int] | None
             ) -> Transition:
        return Transition(id=tid, client_ref=None, from_program_id="pa1", from_level=WM,
                          discharge_at=at(30), needs={}, navigator=nav,
                          status="open" if end is None else "placed", hold_id=None,
                          to_level=None, created_at=at(*start),
                          ended_at=at(*end) if end else None)

    async with directory() as session, session.begin():
        session.add_all([case("c1", "n1", (0, 0), (10, 0)), case("c2", "n1", (1, 0), (12, 1)),
                         case("c3", "n1", (2, 0), None), case("c4", "n2", (5, 1), (6, 1))])
    # Day 1: n1 has 3 open from 02:00 to 10:00 (over a load of 2). Day 2: n1 starts with 2
    # (c2, c3), n2 peaks at 1: mean 1.5, largest 2, nobody over.
    table = await answer("caseloads", directory, ask(
        end=at(0, days=2), now=at(0, days=3), caseload_limit=2))
    assert [(r["period_start"], r["navigators"], r["mean_open"], r["max_open"],
             r["navigators_over_limit"]) for r in table.rows] == [
        ("2026-03-02", 1, 3.0, 3, 1), ("2026-03-03", 2, 1.5, 2, 0)]


def test_a_question_refuses_an_empty_range() -> None:
    with pytest.raises(Invalid, match="must be after"):
        ask(hours=0)
    with pytest.raises(Invalid, match="bucket"):
        ask(bucket="month")
